/**
 * The main thread's handle on an onnxruntime session that runs in its own
 * worker thread (see ort-worker.ts). When that thread dies, the runs it held
 * fail with a retryable error and the handle starts a replacement on the same
 * model file, so one crash costs the calls in flight, not the process's life.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import { EncoderUnavailableError, ModelError, ShuttingDownError, errorMessage } from "../errors.js";
import { workerFile } from "../worker-file.js";
import type { OrtWorkerData, SessionMetadata, WorkerControl, WorkerRequest, WorkerResponse } from "./ort-worker.js";

export type InputData = Float32Array | Int32Array | BigInt64Array;

export interface RunResult {
  data: Float32Array;
  dims: number[];
}

/** Told when the session's worker stops (ready false), fails to restart (false again), or is back (true). */
export type SessionStateListener = (ready: boolean, reason: string) => void;

/**
 * A failed restart is tried again after this long, doubling up to
 * RESTART_MAX_DELAY_MS: a model file that cannot load any more must not
 * make the process spin starting threads.
 */
const RESTART_FIRST_DELAY_MS = 100;
const RESTART_MAX_DELAY_MS = 5_000;

/** How long release() lets a worker finish the chunk it is running before terminating it. */
const RELEASE_WAIT_MS = 10_000;

export class OrtWorkerSession {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (r: RunResult) => void; reject: (e: Error) => void }>();
  /** The live worker; undefined while a replacement starts. */
  private worker: Worker | undefined;
  private closed = false;
  private readonly stopping = new AbortController();
  private restarting: Promise<void> | undefined;
  /** Why the last worker stopped, for callers turned away during the restart. */
  private lostReason = "";
  private readonly listeners: SessionStateListener[] = [];

  private constructor(
    worker: Worker,
    readonly metadata: SessionMetadata,
    readonly path: string,
    private readonly intraOpThreads: number,
    /** What this session is, in messages to callers ("the text encoder"). */
    readonly name: string,
  ) {
    this.attach(worker);
  }

  static async create(path: string, intraOpThreads: number, name = `the model ${path}`): Promise<OrtWorkerSession> {
    const { worker, metadata } = await startWorker(path, intraOpThreads);
    return new OrtWorkerSession(worker, metadata, path, intraOpThreads, name);
  }

  /** Whether a worker is up to take runs (false while one is being restarted, and after release). */
  get ready(): boolean {
    return this.worker !== undefined && !this.closed;
  }

  onStateChange(listener: SessionStateListener): void {
    this.listeners.push(listener);
  }

  /** Runs the model on data (transferred to the worker: do not reuse it), chunking the first axis. */
  run(req: Omit<WorkerRequest, "kind" | "id">): Promise<RunResult> {
    if (this.closed) return Promise.reject(new ModelError(`the model session for ${this.path} is closed`));
    const worker = this.worker;
    // Fail fast rather than queue: the restart may take long or keep failing, and the caller can retry.
    if (worker === undefined) {
      return Promise.reject(
        new EncoderUnavailableError(`${this.name} is restarting after its worker thread ${this.lostReason}; the call is safe to retry in a moment`),
      );
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ kind: "run", id, ...req } satisfies WorkerRequest, [req.data.buffer as ArrayBuffer]);
    });
  }

  /**
   * Makes the worker thread exit with code 1 between runs, as a crash would, so
   * tests and diagnostics can exercise the restart; resolves once it has exited.
   */
  async crashWorkerForTest(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    const exited = exitOf(worker);
    worker.postMessage({ kind: "exit", code: 1 } satisfies WorkerControl);
    await exited;
  }

  async release(): Promise<void> {
    this.closed = true;
    this.stopping.abort();
    const worker = this.worker;
    this.worker = undefined;
    this.failWaiting(new ShuttingDownError());
    await Promise.all([worker === undefined ? undefined : stopWorker(worker), this.restarting]);
  }

  private attach(worker: Worker): void {
    this.worker = worker;
    worker.on("message", (msg: WorkerResponse) => {
      if (msg.kind !== "result" && msg.kind !== "error") return;
      const w = this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      if (msg.kind === "result") w?.resolve({ data: msg.data, dims: msg.dims });
      else w?.reject(new ModelError(`onnxruntime failed on ${this.path}: ${msg.error}`));
    });
    worker.on("error", (e) => this.lost(worker, `crashed (${e.message})`));
    worker.on("exit", (code) => this.lost(worker, `exited with code ${code}`));
  }

  /** The worker is gone: fail the runs it held, say so, and start a replacement. */
  private lost(worker: Worker, how: string): void {
    // 'error' is followed by 'exit'; only the first event of the live worker counts.
    if (this.closed || this.worker !== worker) return;
    this.worker = undefined;
    this.lostReason = how;
    this.failWaiting(
      new EncoderUnavailableError(
        `${this.name} stopped (its worker thread ${how}) and is being restarted; the call did not complete and is safe to retry`,
      ),
    );
    this.emit(false, `${this.name}'s worker thread ${how}; starting a new one on ${this.path}`);
    this.restarting = this.restart().finally(() => (this.restarting = undefined));
  }

  /** Starts workers until one is up or the session is released; never rejects. */
  private async restart(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        // Not abandoned when released: a worker stopped while onnxruntime loads the model could take the process with it.
        const { worker, metadata } = await startWorker(this.path, this.intraOpThreads);
        if (this.closed) {
          await stopWorker(worker);
          return;
        }
        if (JSON.stringify(metadata) !== JSON.stringify(this.metadata)) {
          await stopWorker(worker);
          throw new ModelError(`${this.path} is not the model svgvec started with any more; restart svgvec to load it`);
        }
        this.attach(worker);
        this.emit(true, `${this.name}'s worker thread was restarted`);
        return;
      } catch (e) {
        if (this.closed) return;
        const delay = Math.min(RESTART_FIRST_DELAY_MS * 2 ** attempt, RESTART_MAX_DELAY_MS);
        this.emit(false, `${this.name}'s worker thread could not be restarted (${errorMessage(e)}); trying again in ${delay} ms`);
        await sleep(delay, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    }
  }

  private failWaiting(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  private emit(ready: boolean, reason: string): void {
    for (const l of this.listeners) l(ready, reason);
  }
}

/** Starts a worker and waits until its session has loaded. */
async function startWorker(path: string, intraOpThreads: number): Promise<{ worker: Worker; metadata: SessionMetadata }> {
  const worker = new Worker(workerFile(import.meta.url, "ort-worker", "../../dist/clip/"), { workerData: { path, intraOpThreads } satisfies OrtWorkerData });
  const cleanup: Array<() => void> = [];
  try {
    const metadata = await new Promise<SessionMetadata>((resolve, reject) => {
      const onMessage = (msg: WorkerResponse) => {
        if (msg.kind === "ready") resolve(msg.metadata);
        else reject(new ModelError(`onnxruntime cannot load ${path}: ${msg.kind === "failed" ? msg.error : msg.kind}`));
      };
      const onError = (e: Error) => reject(new ModelError(`the model worker for ${path} failed to start: ${e.message}`));
      const onExit = (code: number) => reject(new ModelError(`the model worker for ${path} exited with code ${code} while starting`));
      worker.once("message", onMessage).once("error", onError).once("exit", onExit);
      cleanup.push(() => worker.off("message", onMessage).off("error", onError).off("exit", onExit));
    });
    return { worker, metadata };
  } catch (e) {
    // The worker has exited or is leaving on its own (its model did not load): no run to cut short.
    await worker.terminate();
    throw e;
  } finally {
    for (const c of cleanup) c();
  }
}

/**
 * Asks the worker to exit between runs, and terminates it only if it has not
 * within RELEASE_WAIT_MS: Worker.terminate() while onnxruntime is inside a run
 * aborts the whole process.
 */
async function stopWorker(worker: Worker): Promise<void> {
  const timer = new AbortController();
  const exited = exitOf(worker).then(() => true);
  worker.postMessage({ kind: "exit", code: 0 } satisfies WorkerControl);
  const late = sleep(RELEASE_WAIT_MS, false, { signal: timer.signal }).catch(() => true);
  const done = await Promise.race([exited, late]);
  timer.abort();
  if (!done) await worker.terminate();
}

/** Resolves when the worker's thread has ended ('error' is always followed by 'exit'). */
function exitOf(worker: Worker): Promise<void> {
  return new Promise((resolve) => worker.once("exit", () => resolve()));
}
