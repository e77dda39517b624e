/**
 * Starts and stops the Milvus Lite server binary that ships in the milvus-lite
 * Python package (milvus_lite/lib/milvus), the embedded default store. It speaks
 * the ordinary Milvus gRPC protocol, so the rest of svgvec cannot tell it apart
 * from a full server.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { access, mkdir } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { MilvusClient } from "@zilliz/milvus2-sdk-node";
import { StoreUnavailableError, errorMessage } from "../errors.js";
import { MILVUS_CHANNEL_OPTIONS } from "./milvus-store.js";

const execFileAsync = promisify(execFile);

export interface MilvusLiteOptions {
  /** Folder that holds the database file (created if missing). */
  dataDir: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Path to the server binary; empty to find it in the milvus-lite package of `python`. */
  binary: string;
  python: string;
  startTimeoutMs?: number;
}

export class MilvusLite {
  private exited = false;
  private constructor(
    private readonly child: ChildProcess,
    readonly address: string,
    readonly dbFile: string,
    private readonly logTail: string[],
  ) {
    child.once("exit", () => {
      this.exited = true;
    });
  }

  static async start(opts: MilvusLiteOptions): Promise<MilvusLite> {
    const binary = opts.binary || (await findBinary(opts.python));
    await access(binary).catch(() => {
      throw new StoreUnavailableError(`the Milvus Lite binary ${binary} does not exist`);
    });
    await mkdir(opts.dataDir, { recursive: true });
    const dbFile = join(opts.dataDir, "milvus.db");
    const port = opts.port || (await freePort());
    const address = `127.0.0.1:${port}`;
    const libDir = join(binary, "..");
    const [command, args] = await dieWithParent(binary, [dbFile, address, "ERROR"], opts.python);
    const child = spawn(command, args, {
      env: { ...process.env, LD_LIBRARY_PATH: [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const logTail: string[] = [];
    const keep = (chunk: Buffer) => {
      logTail.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      logTail.splice(0, Math.max(0, logTail.length - 40));
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const lite = new MilvusLite(child, address, dbFile, logTail);
    await lite.waitReady(opts.startTimeoutMs ?? 60_000);
    return lite;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError = "";
    while (Date.now() < deadline) {
      if (this.exited) {
        throw new StoreUnavailableError(
          `Milvus Lite exited during start-up (is another svgvec using ${this.dbFile}?): ${this.logTail.slice(-5).join(" | ")}`,
        );
      }
      const probe = await probeMilvus(this.address);
      if (probe === true) return;
      lastError = probe;
      await new Promise((r) => setTimeout(r, 200));
    }
    await this.stop();
    throw new StoreUnavailableError(`Milvus Lite did not answer on ${this.address} within ${timeoutMs} ms: ${lastError}`);
  }

  get running(): boolean {
    return !this.exited;
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((r) => this.child.once("exit", () => r()));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * The command that runs binary and kills it when svgvec dies, even by SIGKILL:
 * an orphaned Milvus Lite would keep the database locked and the next svgvec
 * could not start. Linux's parent-death signal does this, set by setpriv
 * (util-linux) or, failing that, by Python before it execs the binary.
 */
async function dieWithParent(binary: string, args: string[], python: string): Promise<[string, string[]]> {
  if (process.platform !== "linux") return [binary, args];
  if (await onPath("setpriv")) return ["setpriv", ["--pdeathsig", "KILL", "--", binary, ...args]];
  const script =
    "import ctypes, os, signal, sys\n" +
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)\n" +
    // The parent may have died before prctl took effect.
    "if os.getppid() != int(sys.argv[1]): sys.exit(1)\n" +
    "os.execv(sys.argv[2], sys.argv[2:])";
  return [python, ["-c", script, String(process.pid), binary, ...args]];
}

async function onPath(command: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? "").split(":").filter(Boolean)) {
    if (await access(join(dir, command)).then(() => true, () => false)) return true;
  }
  return false;
}

async function findBinary(python: string): Promise<string> {
  const script = "import milvus_lite, os; print(os.path.join(os.path.dirname(milvus_lite.__file__), 'lib', 'milvus'))";
  try {
    const { stdout } = await execFileAsync(python, ["-c", script]);
    return stdout.trim();
  } catch (e) {
    throw new StoreUnavailableError(
      `cannot find Milvus Lite through ${python}: ${errorMessage(e).split("\n").slice(-2).join(" ")}. ` +
        `Run \`npm run setup:python\` (installs milvus-lite into .venv), set SVGVEC_PYTHON to a Python that has ` +
        `milvus-lite 2.5, or set SVGVEC_MILVUS_ADDRESS to use a running Milvus.`,
    );
  }
}

/** true when a Milvus answers on address, else why not. */
export async function probeMilvus(address: string, timeoutMs = 2_000): Promise<true | string> {
  const client = new MilvusClient({ address, timeout: timeoutMs, logLevel: "error", channelOptions: MILVUS_CHANNEL_OPTIONS });
  // The client starts connecting at once; a refused connection must not surface as an unhandled rejection.
  client.connectPromise.catch(() => undefined);
  try {
    const res = await client.listCollections();
    return res.status.error_code === "Success" ? true : res.status.reason;
  } catch (e) {
    return errorMessage(e);
  } finally {
    await client.closeConnection().catch(() => undefined);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}
