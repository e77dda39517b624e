/**
 * svgvec as its own process, started from the built CLI the way the README
 * runs it, so tests can signal it (SIGTERM, SIGKILL) and start it again.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../../src/models/generate.js";
import { TINY_MODEL_DIR } from "./models.js";

export const CLI = join(REPO_ROOT, "dist/cli/main.js");

export interface ServerProcess {
  child: ChildProcess;
  /** host:port of svgvec's gRPC server. */
  address: string;
  /** host:port of the Milvus Lite it started, if it started one. */
  milvusAddress: string | undefined;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn("node", [CLI, "serve"], {
    env: {
      ...process.env,
      SVGVEC_LISTEN: "127.0.0.1:0",
      SVGVEC_MODEL_DIR: TINY_MODEL_DIR,
      SVGVEC_FETCH_ALLOW_PRIVATE: "true",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const address = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /svgvec listening on (\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    void exited.then((code) => reject(new Error(`svgvec exited ${code} before listening: ${stderr}`)));
  });
  const milvusAddress = /"msg":"Milvus Lite started","address":"([^"]+)"/.exec(stderr)?.[1];
  return { child, address, milvusAddress, stderr: () => stderr, exited };
}
