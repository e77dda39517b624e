import { spawnSync } from "node:child_process";
import { chmod, mkdtemp, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { type AddressInfo, type Socket, createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../src/errors.js";
import { LOCK_FILE } from "../../src/store/data-lock.js";
import { MilvusLite, type MilvusLiteOptions, freePort, probeMilvus } from "../../src/store/milvus-lite.js";
import { python } from "../helpers/models.js";

const linux = process.platform === "linux";
// Read before any test changes the environment it reads the configuration from.
const PYTHON = python();

// Variables svgvec may hold that Milvus Lite must never see, and one that stands for any other.
const SECRETS: Record<string, string> = {
  SVGVEC_AUTH_TOKENS: "client-token-1,client-token-2",
  SVGVEC_MILVUS_TOKEN: "root:Milvus",
  SVGVEC_TLS_KEY: "/etc/svgvec/server.key",
  HF_TOKEN: "hf_secret",
  SVGVEC_LITE_ENV_CANARY: "any other variable",
};

describe("MilvusLite", () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const undo of cleanup.splice(0).reverse()) await undo();
  });

  const tempDir = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), "svgvec-lite-test-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  };

  const start = async (opts: Partial<MilvusLiteOptions>): Promise<MilvusLite> => {
    const lite = await MilvusLite.start({ dataDir: await tempDir(), port: 0, binary: "", python: PYTHON, ...opts });
    cleanup.push(() => lite.stop());
    return lite;
  };

  /** A port some other process listens on. */
  const holdPort = async (): Promise<number> => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanup.push(async () => {
      // Readiness probes connected to it; close waits for their sockets.
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    });
    return (server.address() as AddressInfo).port;
  };

  const setEnv = (vars: Record<string, string>): void => {
    const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    Object.assign(process.env, vars);
    cleanup.push(async () => {
      for (const [k, v] of Object.entries(before)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });
  };

  it.runIf(linux)("gives the server none of svgvec's environment beyond what it needs to run", async () => {
    setEnv(SECRETS);
    const lite = await start({});
    const pid = lite.pid ?? -1;
    // setpriv (or the Python launcher) execs the server, so the child's pid is the server's own.
    expect(basename(await readlink(`/proc/${pid}/exe`))).toBe("milvus");
    const environ = (await readFile(`/proc/${pid}/environ`, "utf8")).split("\0").filter((e) => e !== "");
    const names = environ.map((e) => e.slice(0, e.indexOf("=")));
    for (const secret of Object.keys(SECRETS)) expect(names).not.toContain(secret);
    expect(names.filter((n) => !["PATH", "HOME", "LANG", "TZ", "TMPDIR", "LD_LIBRARY_PATH"].includes(n) && !n.startsWith("LC_"))).toEqual([]);
    expect(environ.find((e) => e.startsWith("LD_LIBRARY_PATH="))).toMatch(/milvus_lite\/lib/);
    expect(await probeMilvus(lite.address)).toBe(true);
  });

  it("refuses a second start on a data folder in use, says by whom, and takes over a lock whose owner is gone", async () => {
    const dataDir = await tempDir();
    const first = await start({ dataDir });
    const second = await MilvusLite.start({ dataDir, port: 0, binary: "", python: PYTHON }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(StoreUnavailableError);
    expect((second as Error).message).toMatch(new RegExp(`another svgvec \\(pid ${process.pid}\\) is using the data folder .*set SVGVEC_DATA_DIR`));
    expect(await probeMilvus(first.address)).toBe(true);
    await first.stop();
    // A killed svgvec leaves its lock behind; its pid is no longer a process.
    const gone = spawnSync("true").pid;
    await writeFile(join(dataDir, LOCK_FILE), `${gone}\n`);
    const third = await start({ dataDir });
    expect(await probeMilvus(third.address)).toBe(true);
    expect((await readFile(join(dataDir, LOCK_FILE), "utf8")).trim()).toBe(String(process.pid));
    await third.stop();
    await expect(stat(join(dataDir, LOCK_FILE))).rejects.toThrow(/ENOENT/);
  });

  it("creates its data directory readable by svgvec's user alone", async () => {
    const dataDir = join(await tempDir(), "nested", "data");
    await start({ dataDir });
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
  });

  it("starts on another free port when the one it picked is taken before Milvus Lite binds it", async () => {
    const taken = await holdPort();
    const offered: number[] = [];
    const lite = await start({
      choosePort: async () => {
        const port = offered.length === 0 ? taken : await freePort();
        offered.push(port);
        return port;
      },
    });
    expect(offered).toHaveLength(2);
    expect(lite.address).toBe(`127.0.0.1:${offered[1]}`);
    expect(await probeMilvus(lite.address)).toBe(true);
  });

  it("refuses a configured port that is in use, and says how to choose another", async () => {
    const taken = await holdPort();
    const err = await start({ port: taken }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(new RegExp(`port ${taken} for Milvus Lite is in use.*SVGVEC_MILVUS_LITE_PORT`));
  });

  it("says a binary that is not executable is not, and how to fix it", async () => {
    const binary = join(await tempDir(), "milvus");
    await writeFile(binary, "#!/bin/sh\nexit 1\n");
    await chmod(binary, 0o644);
    const err = await start({ binary }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toContain(`the Milvus Lite binary ${binary} is not executable: run \`chmod +x ${binary}\``);
  });

  it.runIf(linux)(
    "names the launcher it could not run, at once, when neither setpriv nor the configured Python exists",
    async () => {
      const binary = join(await tempDir(), "milvus");
      await writeFile(binary, "#!/bin/sh\nexit 1\n");
      await chmod(binary, 0o755);
      // A PATH without setpriv makes svgvec fall back to its Python launcher.
      setEnv({ PATH: await tempDir() });
      const began = Date.now();
      const err = await start({ binary, python: "/nonexistent/python3" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      const message = (err as Error).message;
      expect(message).toContain(`cannot start Milvus Lite (${binary}): running /nonexistent/python3 failed`);
      expect(message).toMatch(/ENOENT.*install util-linux, or set SVGVEC_PYTHON/);
      // Without the child's 'error' event it waited out the whole start-up timeout (60 s).
      expect(Date.now() - began).toBeLessThan(10_000);
    },
    20_000,
  );
});
