/**
 * One svgvec per data folder. Two svgvec processes would each start a Milvus
 * Lite on the same database file, and the two would silently disagree about
 * what is stored; so the folder holds a lock file with the owner's pid. A lock
 * whose process is gone (svgvec was killed) is taken over.
 */
import { open, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { StoreUnavailableError } from "../errors.js";

export interface DataLock {
  readonly path: string;
  release(): Promise<void>;
}

export const LOCK_FILE = "svgvec.lock";

export async function lockDataDir(dir: string): Promise<DataLock> {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, "wx", 0o600);
      await file.writeFile(`${process.pid}\n`);
      await file.close();
      return { path, release: () => releaseLock(path) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const owner = Number((await readFile(path, "utf8").catch(() => "")).trim());
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
      throw new StoreUnavailableError(
        `another svgvec (pid ${owner}) is using the data folder ${dir}: stop it, or set SVGVEC_DATA_DIR to another folder ` +
          `(or SVGVEC_MILVUS_ADDRESS to share one Milvus server between several svgvec processes)`,
      );
    }
    // Its owner is gone: the lock is stale.
    await unlink(path).catch(() => undefined);
  }
  throw new StoreUnavailableError(`could not lock the data folder ${dir}: another process keeps taking ${LOCK_FILE}`);
}

async function releaseLock(path: string): Promise<void> {
  const owner = (await readFile(path, "utf8").catch(() => "")).trim();
  if (owner === String(process.pid)) await unlink(path).catch(() => undefined);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, but belongs to another user.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
