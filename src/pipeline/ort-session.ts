/**
 * The main thread's handle on an onnxruntime session that runs in its own
 * worker thread (see ort-worker.ts).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { ModelError } from "../errors.js";
import type { OrtWorkerData, SessionMetadata, WorkerRequest, WorkerResponse } from "./ort-worker.js";

/**
 * The compiled worker. Under a TypeScript test runner this module is loaded
 * from src/, where only ort-worker.ts exists; worker threads need JavaScript,
 * so fall back to the build in dist/ (npm test builds first).
 */
function workerUrl(): URL {
  const sibling = new URL("./ort-worker.js", import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  return new URL("../../dist/pipeline/ort-worker.js", import.meta.url);
}

export type InputData = Float32Array | Int32Array | BigInt64Array;

export class OrtWorkerSession {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (r: { data: Float32Array; dims: number[] }) => void; reject: (e: Error) => void }>();
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    readonly metadata: SessionMetadata,
    readonly path: string,
  ) {
    worker.on("message", (msg: WorkerResponse) => {
      if (msg.kind !== "result" && msg.kind !== "error") return;
      const w = this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      if (msg.kind === "result") w?.resolve({ data: msg.data, dims: msg.dims });
      else w?.reject(new ModelError(`onnxruntime failed on ${path}: ${msg.error}`));
    });
    const failAll = (why: string) => {
      for (const w of this.waiting.values()) w.reject(new ModelError(why));
      this.waiting.clear();
    };
    worker.on("error", (e) => failAll(`the model worker for ${path} crashed: ${e.message}`));
    worker.on("exit", (code) => {
      if (!this.closed) failAll(`the model worker for ${path} exited with code ${code}`);
    });
  }

  static async create(path: string, intraOpThreads: number): Promise<OrtWorkerSession> {
    const worker = new Worker(workerUrl(), { workerData: { path, intraOpThreads } satisfies OrtWorkerData });
    const metadata = await new Promise<SessionMetadata>((resolve, reject) => {
      worker.once("message", (msg: WorkerResponse) => {
        if (msg.kind === "ready") resolve(msg.metadata);
        else reject(new ModelError(`onnxruntime cannot load ${path}: ${msg.kind === "failed" ? msg.error : msg.kind}`));
      });
      worker.once("error", (e) => reject(new ModelError(`the model worker for ${path} failed to start: ${e.message}`)));
    }).catch(async (e: unknown) => {
      await worker.terminate();
      throw e;
    });
    return new OrtWorkerSession(worker, metadata, path);
  }

  /** Runs the model on data (transferred to the worker: do not reuse it), chunking the first axis. */
  run(req: Omit<WorkerRequest, "kind" | "id">): Promise<{ data: Float32Array; dims: number[] }> {
    if (this.closed) return Promise.reject(new ModelError(`the model session for ${this.path} is closed`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ kind: "run", id, ...req } satisfies WorkerRequest, [req.data.buffer as ArrayBuffer]);
    });
  }

  async release(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }
}
