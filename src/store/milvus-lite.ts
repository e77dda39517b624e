/**
 * Starts and stops the Milvus Lite server binary that ships in the milvus-lite
 * Python package (milvus_lite/lib/milvus), the embedded default store. It speaks
 * the ordinary Milvus gRPC protocol, so the rest of svgvec cannot tell it apart
 * from a full server.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdir, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { MilvusClient } from "@zilliz/milvus2-sdk-node";
import { StoreUnavailableError, errorMessage } from "../errors.js";
import { type DataLock, lockDataDir } from "./data-lock.js";
import { MILVUS_CHANNEL_OPTIONS } from "./milvus-store.js";

const execFileAsync = promisify(execFile);

export interface MilvusLiteOptions {
  /** Folder that holds the database file (created, private to svgvec's user, if missing). */
  dataDir: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Path to the server binary; empty to find it in the milvus-lite package of `python`. */
  binary: string;
  python: string;
  startTimeoutMs?: number;
  /** Picks the port when port is 0 (freePort; tests make it collide). */
  choosePort?: () => Promise<number>;
}

/**
 * How many free ports to try: another process can take the port freePort
 * found before Milvus Lite binds it.
 */
const PORT_TRIES = 5;

/** The variables Milvus Lite inherits, besides LC_*: none of svgvec's tokens or keys. */
const INHERITED_ENV = new Set(["PATH", "HOME", "LANG", "TZ", "TMPDIR"]);

/** How a start-up attempt ended short of a running server. */
type Failure = { portTaken: true } | { portTaken: false; error: StoreUnavailableError };

export class MilvusLite {
  private exited = false;
  private spawnError: Error | undefined;
  /** The data folder's lock, held from start to stop. */
  private lock: DataLock | undefined;
  private constructor(
    private readonly child: ChildProcess,
    readonly address: string,
    readonly dbFile: string,
    private readonly logTail: string[],
  ) {
    child.once("exit", () => {
      this.exited = true;
    });
    // A command that cannot be run (missing, not executable) emits 'error' and never 'exit'.
    child.once("error", (e) => {
      this.spawnError = e;
      this.exited = true;
    });
  }

  static async start(opts: MilvusLiteOptions): Promise<MilvusLite> {
    const binary = opts.binary || (await findBinary(opts.python));
    await checkBinary(binary);
    await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
    const lock = await lockDataDir(opts.dataDir);
    try {
      const lite = await MilvusLite.startLocked(binary, opts);
      lite.lock = lock;
      return lite;
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  private static async startLocked(binary: string, opts: MilvusLiteOptions): Promise<MilvusLite> {
    const dbFile = join(opts.dataDir, "milvus.db");
    const timeoutMs = opts.startTimeoutMs ?? 60_000;
    if (opts.port !== 0) {
      // Checked first as well: a Milvus already on the port would answer the readiness probe in our child's place.
      const outcome = (await portFree(opts.port))
        ? await MilvusLite.launch(binary, dbFile, opts.port, opts.python, timeoutMs)
        : ({ portTaken: true } as const);
      if (outcome instanceof MilvusLite) return outcome;
      if (!outcome.portTaken) throw outcome.error;
      throw new StoreUnavailableError(
        `port ${opts.port} for Milvus Lite is in use by another process: set SVGVEC_MILVUS_LITE_PORT to a free port, ` +
          `or to 0 to let svgvec pick one`,
      );
    }
    const choose = opts.choosePort ?? freePort;
    const taken: number[] = [];
    while (taken.length < PORT_TRIES) {
      const port = await choose();
      const outcome = await MilvusLite.launch(binary, dbFile, port, opts.python, timeoutMs);
      if (outcome instanceof MilvusLite) return outcome;
      if (!outcome.portTaken) throw outcome.error;
      taken.push(port);
    }
    throw new StoreUnavailableError(
      `Milvus Lite found each free port it was given taken by the time it bound it (${taken.join(", ")}): ` +
        `set SVGVEC_MILVUS_LITE_PORT to a port reserved for it`,
    );
  }

  private static async launch(
    binary: string,
    dbFile: string,
    port: number,
    python: string,
    timeoutMs: number,
  ): Promise<MilvusLite | Failure> {
    const address = `127.0.0.1:${port}`;
    const [command, args] = await dieWithParent(binary, [dbFile, address, "ERROR"], python);
    const child = spawn(command, args, { env: liteEnv(join(binary, "..")), stdio: ["ignore", "pipe", "pipe"] });
    const logTail: string[] = [];
    const keep = (chunk: Buffer) => {
      logTail.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      logTail.splice(0, Math.max(0, logTail.length - 40));
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const lite = new MilvusLite(child, address, dbFile, logTail);
    const failure = await lite.waitReady(timeoutMs, command, binary, python);
    return failure ?? lite;
  }

  /** undefined once the server answers, else why it will not. */
  private async waitReady(timeoutMs: number, command: string, binary: string, python: string): Promise<Failure | undefined> {
    const deadline = Date.now() + timeoutMs;
    let lastError = "";
    while (Date.now() < deadline) {
      if (this.spawnError !== undefined) {
        return { portTaken: false, error: spawnFailure(this.spawnError, command, binary, python) };
      }
      if (this.exited) {
        // Milvus Lite logs a failed bind ("Address already in use") and crashes; someone
        // holding the port now is the surer sign.
        const port = Number(this.address.slice(this.address.lastIndexOf(":") + 1));
        if (this.logTail.some((l) => l.includes("Address already in use")) || !(await portFree(port))) {
          return { portTaken: true };
        }
        const code = this.child.exitCode ?? this.child.signalCode;
        return {
          portTaken: false,
          error: new StoreUnavailableError(
            `Milvus Lite (${binary}) exited during start-up (${code}; is another svgvec using ${this.dbFile}?): ` +
              this.logTail.slice(-5).join(" | "),
          ),
        };
      }
      const probe = await probeMilvus(this.address);
      if (probe === true) return undefined;
      lastError = probe;
      await new Promise((r) => setTimeout(r, 200));
    }
    await this.stop();
    return {
      portTaken: false,
      error: new StoreUnavailableError(`Milvus Lite did not answer on ${this.address} within ${timeoutMs} ms: ${lastError}`),
    };
  }

  get running(): boolean {
    return !this.exited;
  }

  /** The server's process id (setpriv and the Python launcher exec it, so the id stays the same). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.exited) {
      const exited = new Promise<void>((r) => this.child.once("exit", () => r()));
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
      await exited;
      clearTimeout(timer);
    }
    await this.lock?.release();
  }
}

/** A clear error, before anything is spawned, for a binary that is missing or cannot be run. */
async function checkBinary(binary: string): Promise<void> {
  const fix =
    "reinstall milvus-lite (`npm run setup:python`), set SVGVEC_MILVUS_LITE_BIN to the Milvus Lite server binary, " +
    "or set SVGVEC_MILVUS_ADDRESS to use a running Milvus";
  const info = await stat(binary).catch(() => undefined);
  if (info === undefined) throw new StoreUnavailableError(`the Milvus Lite binary ${binary} does not exist: ${fix}`);
  if (!info.isFile()) throw new StoreUnavailableError(`the Milvus Lite binary ${binary} is not a file: ${fix}`);
  await access(binary, constants.X_OK).catch(() => {
    throw new StoreUnavailableError(`the Milvus Lite binary ${binary} is not executable: run \`chmod +x ${binary}\`, or ${fix}`);
  });
}

function spawnFailure(e: Error, command: string, binary: string, python: string): StoreUnavailableError {
  const fix =
    command === binary
      ? `check that ${binary} is a Milvus Lite server binary for this machine, or set SVGVEC_MILVUS_ADDRESS to use a running Milvus`
      : command === python
        ? `svgvec starts it through setpriv (util-linux) or, without setpriv, through ${python}: install util-linux, ` +
          `or set SVGVEC_PYTHON to a working Python 3`
        : `svgvec starts it through ${command}: check that ${command} runs on this machine`;
  return new StoreUnavailableError(`cannot start Milvus Lite (${binary}): running ${command} failed with ${errorMessage(e)}; ${fix}`);
}

/** The environment Milvus Lite runs with: enough to run, none of svgvec's secrets. */
function liteEnv(libDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && (INHERITED_ENV.has(name) || name.startsWith("LC_"))) env[name] = value;
  }
  env.LD_LIBRARY_PATH = [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":");
  return env;
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

/**
 * Whether nothing listens on 127.0.0.1:port (by binding it for a moment). Other
 * bind errors (a privileged port) count as free: they are the server's to report.
 */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", (e: NodeJS.ErrnoException) => resolveFree(e.code !== "EADDRINUSE"));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolveFree(true)));
  });
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
