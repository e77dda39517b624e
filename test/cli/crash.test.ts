/**
 * `svgvec serve` after a failure nothing handled: it logs one JSON line with
 * the stack, closes what it can within a bound, and exits non-zero, rather
 * than limping on in an unknown state. The failure comes from a module
 * preloaded with `node --import`, so svgvec ships no way to crash itself.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { uniqueCollection } from "../helpers/milvus.js";
import { startServerProcess } from "../helpers/server-process.js";

const PRELOAD = fileURLToPath(new URL("../fixtures/preload/crash-on-sigusr2.mjs", import.meta.url));

/** The exit code, or a failure when the process is still running after ms (the bug let it limp on). */
async function exitWithin(exited: Promise<number | null>, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms)));
  try {
    return await Promise.race([exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe("svgvec serve after an unhandled failure", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "svgvec-crash-"));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it.each([
    ["unhandled-rejection", "unhandled rejection", "test crash: an unhandled rejection"],
    ["uncaught-exception", "uncaught exception", "test crash: an uncaught exception"],
  ])("logs a %s as one JSON error line with its stack, closes, and exits 1", async (kind, what, reason) => {
    const server = await startServerProcess({
      SVGVEC_DATA_DIR: dataDir,
      SVGVEC_MILVUS_ADDRESS: inject("liteAddress"),
      SVGVEC_COLLECTION: uniqueCollection("crash"),
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import ${PRELOAD}`,
      CRASH_TEST_KIND: kind,
    });
    try {
      server.child.kill("SIGUSR2");
      expect(await exitWithin(server.exited, 30_000)).toBe(1);
    } finally {
      server.child.kill("SIGKILL");
    }
    const lines = server
      .stderr()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const crash = lines.find((l) => l.msg === `${what}; svgvec is stopping`);
    expect(crash, server.stderr()).toMatchObject({ level: "error" });
    expect(crash?.error).toMatch(new RegExp(`^Error: ${reason}\\n\\s+at `));
    // It closed before exiting.
    expect(lines.map((l) => l.msg)).toContain("svgvec stopped");
  });
});
