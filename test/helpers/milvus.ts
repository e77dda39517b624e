/**
 * Real Milvus servers for tests: Milvus Lite from the milvus-lite pip package
 * (started by svgvec's own launcher), and a Milvus 2.3 standalone from the
 * `milvus` pip package (an embedded standalone server with its own etcd).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { MilvusLite, freePort, probeMilvus } from "../../src/store/milvus-lite.js";
import type { ImageRow } from "../../src/store/milvus-store.js";
import { python } from "./models.js";

export interface TestMilvus {
  address: string;
  kind: "lite" | "standalone";
  stop(): Promise<void>;
}

export async function startLite(): Promise<TestMilvus> {
  const dir = await mkdtemp(join(tmpdir(), "svgvec-lite-"));
  const lite = await MilvusLite.start({ dataDir: dir, port: 0, binary: "", python: python() });
  return {
    address: lite.address,
    kind: "lite",
    stop: async () => {
      await lite.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function startStandalone(): Promise<TestMilvus> {
  const server = join(dirname(python()), "milvus-server");
  if (!existsSync(server)) {
    throw new Error(`${server} is missing: install the test requirements (\`npm run setup:test\`)`);
  }
  // Its embedded etcd always listens on 2379, so only one such server runs per machine.
  if ((await probePort(2379)) === true) {
    throw new Error("port 2379 is taken (another Milvus standalone or etcd?): stop it before running the tests");
  }
  const dir = await mkdtemp(join(tmpdir(), "svgvec-standalone-"));
  const port = await freePort();
  // Its own process group, so stopping it also stops the milvus and etcd processes it starts.
  const child: ChildProcess = spawn(server, ["--data", dir, "--proxy-port", String(port)], {
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const address = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((r) => child.once("exit", r));
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // the group is already gone
      }
      const t = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {
          // gone
        }
      }, 15_000);
      await exited;
      clearTimeout(t);
    }
    // milvus-server starts milvus in a process group of its own: end whatever still runs from its folder.
    try {
      execFileSync("pkill", ["-KILL", "-f", dir]);
    } catch {
      // nothing left
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`milvus-server exited with ${child.exitCode}: ${stderr}`);
    if ((await probeMilvus(address, 3000)) === true) return { address, kind: "standalone", stop };
    await new Promise((r) => setTimeout(r, 500));
  }
  await stop();
  throw new Error(`Milvus standalone did not come up on ${address} within 120 s: ${stderr}`);
}

let counter = 0;
/** A collection name no other test uses. */
export function uniqueCollection(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
}

function probePort(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A distinct, reproducible unit vector per seed. */
export function unitVector(seed: number, dim = 512): number[] {
  // A small deterministic generator: distinct, reproducible vectors without Math.random.
  let s = seed * 2654435761 + 1;
  const v = Array.from({ length: dim }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
  const n = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return v.map((x) => x / n);
}

/** A record for id with a fixed url, its own unitVector and fixed timestamps. */
export function row(id: bigint, url = `https://example.com/${id}.svg`, vector = unitVector(Number(id))): ImageRow {
  return { id, url, vector, addedAt: "2026-01-01T00:00:00.000Z", updatedAt: "2026-01-01T00:00:00.000Z" };
}
