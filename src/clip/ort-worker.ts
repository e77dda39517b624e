/**
 * A worker thread that owns one onnxruntime session. onnxruntime-node runs a
 * model synchronously on the calling thread, so running it here keeps the main
 * thread free for gRPC, downloads, rendering and Milvus while the model works.
 *
 * Protocol (structured clone; tensor buffers are transferred, not copied):
 *   in:  { kind: "run", id, data, dims, type }   out: { id, data, dims } | { id, error }
 *   in:  { kind: "exit", code }                  the thread exits with code, between runs
 */
import { parentPort, workerData } from "node:worker_threads";
import * as ort from "onnxruntime-node";

export interface OrtWorkerData {
  path: string;
  intraOpThreads: number;
}

export interface SessionMetadata {
  inputs: Array<{ name: string; type: string; shape: Array<number | string> }>;
  outputs: string[];
}

export type WorkerRequest = {
  kind: "run";
  id: number;
  input: string;
  output: string;
  type: "float32" | "int32" | "int64";
  data: Float32Array | Int32Array | BigInt64Array;
  dims: number[];
  /** Run the first dimension in chunks of this size (1 for models with a fixed batch of 1). */
  chunk: number;
};

/**
 * Ends the thread from inside, between runs. Worker.terminate() cannot stand in
 * for this: when it lands while onnxruntime is inside a run, onnxruntime-node
 * aborts the whole process.
 */
export type WorkerControl = { kind: "exit"; code: number };

export type WorkerResponse =
  | { kind: "ready"; metadata: SessionMetadata }
  | { kind: "failed"; error: string }
  | { kind: "result"; id: number; data: Float32Array; dims: number[] }
  | { kind: "error"; id: number; error: string };

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error("ort-worker must run in a worker thread");
  const { path, intraOpThreads } = workerData as OrtWorkerData;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, {
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      interOpNumThreads: 1,
      ...(intraOpThreads > 0 ? { intraOpNumThreads: intraOpThreads } : {}),
    });
  } catch (e) {
    port.postMessage({ kind: "failed", error: (e as Error).message } satisfies WorkerResponse);
    return;
  }
  const metadata: SessionMetadata = {
    inputs: session.inputMetadata.map((m) =>
      m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: "non-tensor", shape: [] },
    ),
    outputs: session.outputMetadata.map((m) => m.name),
  };
  port.postMessage({ kind: "ready", metadata } satisfies WorkerResponse);

  port.on("message", (req: WorkerRequest | WorkerControl) => {
    if (req.kind === "exit") process.exit(req.code);
    void run(session, req).then(
      (res) => port.postMessage(res, [res.data.buffer as ArrayBuffer]),
      (e: unknown) => port.postMessage({ kind: "error", id: req.id, error: (e as Error).message } satisfies WorkerResponse),
    );
  });
}

async function run(session: ort.InferenceSession, req: WorkerRequest): Promise<Extract<WorkerResponse, { kind: "result" }>> {
  const [n = 0, ...rest] = req.dims;
  const per = rest.reduce((a, b) => a * b, 1);
  const parts: Float32Array[] = [];
  let width = 0;
  for (let start = 0; start < n; start += req.chunk) {
    const count = Math.min(req.chunk, n - start);
    const slice = req.data.subarray(start * per, (start + count) * per);
    const tensor = new ort.Tensor(req.type, slice, [count, ...rest]);
    const out = (await session.run({ [req.input]: tensor }))[req.output];
    if (out === undefined || out.type !== "float32") throw new Error(`the model gave no float32 output "${req.output}"`);
    width = out.dims[out.dims.length - 1] ?? 0;
    parts.push(out.data as Float32Array);
  }
  const data = new Float32Array(n * width);
  let offset = 0;
  for (const p of parts) {
    data.set(p, offset);
    offset += p.length;
  }
  return { kind: "result", id: req.id, data, dims: [n, width] };
}

void main();
