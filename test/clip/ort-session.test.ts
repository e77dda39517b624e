/**
 * An onnxruntime session's worker thread dies under load: the runs it held
 * fail with a retryable UNAVAILABLE error instead of hanging, and the session
 * starts a new worker on the same file that gives the same answers.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { statusCode } from "../../src/rpc/status.js";
import { EncoderUnavailableError, ModelError, ShuttingDownError } from "../../src/errors.js";
import { readModelDir } from "../../src/models/model-dir.js";
import { OrtWorkerSession, type RunResult } from "../../src/clip/ort-session.js";
import { TINY_MODEL_DIR } from "../helpers/models.js";
import { waitFor } from "../helpers/wait.js";

/** The outcome of p, or a failure when it has not settled within ms (the bug left runs pending for ever). */
async function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

const settle = (p: Promise<RunResult>): Promise<RunResult | Error> => p.catch((e: unknown) => e as Error);

/**
 * A text-model request: rows copies of the token ids seeded by n (the tiny
 * model has a fixed batch of 1 and a fixed length, so the worker runs them one
 * by one; many rows keep a request in flight long enough to be cut short).
 */
function request(session: OrtWorkerSession, n: number, rows = 1): Parameters<OrtWorkerSession["run"]>[0] {
  const input = session.metadata.inputs[0]!;
  const length = Number(input.shape[1]);
  const row = Array.from({ length }, (_, i) => (i === 0 ? 49406 : i === 1 ? 320 + n : i === 2 ? 49407 : 0));
  const ids = Array.from({ length: rows }, () => row).flat();
  const data = input.type === "int64" ? BigInt64Array.from(ids, (v) => BigInt(v)) : Int32Array.from(ids);
  return { input: input.name, output: session.metadata.outputs[0]!, type: input.type as "int32" | "int64", data, dims: [rows, length], chunk: 1 };
}

function expectUnavailable(outcome: RunResult | Error): void {
  expect(outcome).toBeInstanceOf(EncoderUnavailableError);
  expect(statusCode(outcome)).toBe(grpc.status.UNAVAILABLE);
}

describe("OrtWorkerSession when its worker thread dies", () => {
  let dir: string;
  let modelPath: string;
  beforeAll(async () => {
    // A copy, so one test can break the file and mend it again.
    dir = await mkdtemp(join(tmpdir(), "svgvec-ort-"));
    modelPath = join(dir, "model.onnx");
    const model = await readModelDir({ dir: TINY_MODEL_DIR, name: "", pretrained: "", intraOpThreads: 1 });
    await copyFile(model.textualPath, modelPath);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("fails the runs in flight with UNAVAILABLE, restarts the worker, and then answers as before", async () => {
    const session = await OrtWorkerSession.create(modelPath, 1, "the text encoder");
    try {
      const states: boolean[] = [];
      session.onStateChange((ready) => states.push(ready));
      const before = await session.run(request(session, 1));

      const inFlight = Array.from({ length: 6 }, (_, i) => settle(session.run(request(session, i, 1_000))));
      await session.crashWorkerForTest();
      const outcomes = await within(Promise.all(inFlight), 5_000);
      for (const outcome of outcomes) {
        expectUnavailable(outcome);
        expect((outcome as Error).message).toMatch(/^the text encoder stopped \(its worker thread exited with code 1\) and is being restarted; .*safe to retry/);
      }

      await waitFor(() => session.ready, 10_000);
      expect(states).toEqual([false, true]);
      const after = await within(session.run(request(session, 1)), 5_000);
      expect(after.dims).toEqual(before.dims);
      expect(Array.from(after.data)).toEqual(Array.from(before.data));
      // The new worker serves many runs, not one.
      const again = await within(Promise.all(Array.from({ length: 6 }, (_, i) => session.run(request(session, i)))), 5_000);
      expect(again).toHaveLength(6);
    } finally {
      await session.release();
    }
  });

  it("turns runs away with UNAVAILABLE while the restart fails, retries with backoff, and recovers when the file is back", async () => {
    const session = await OrtWorkerSession.create(modelPath, 1, "the text encoder");
    const good = await readFile(modelPath);
    try {
      const reasons: string[] = [];
      session.onStateChange((ready, reason) => reasons.push(`${ready} ${reason}`));
      await writeFile(modelPath, "not an onnx model");
      await session.crashWorkerForTest();

      await waitFor(() => reasons.filter((r) => r.includes("could not be restarted")).length >= 2, 10_000);
      const refused = await within(settle(session.run(request(session, 1))), 1_000);
      expectUnavailable(refused);
      expect((refused as Error).message).toMatch(/^the text encoder is restarting after its worker thread exited with code 1; .*retry/);
      expect(reasons.filter((r) => r.startsWith("true"))).toEqual([]);
      expect(reasons.find((r) => r.includes("could not be restarted"))).toMatch(/onnxruntime cannot load .*; trying again in 100 ms$/);

      await writeFile(modelPath, good);
      await waitFor(() => session.ready, 15_000);
      expect((await within(session.run(request(session, 1)), 5_000)).data).toHaveLength(512);
    } finally {
      await writeFile(modelPath, good);
      await session.release();
    }
  });

  it("stops restarting when released mid-restart, and refuses runs afterwards", async () => {
    const session = await OrtWorkerSession.create(modelPath, 1, "the text encoder");
    const states: boolean[] = [];
    session.onStateChange((ready) => states.push(ready));
    const inFlight = settle(session.run(request(session, 1, 1_000)));
    await session.crashWorkerForTest();
    await within(session.release(), 5_000);
    expectUnavailable(await within(inFlight, 1_000));
    // release() waited for the restart to wind down, so no worker can come back after it.
    expect(states).toEqual([false]);
    expect(session.ready).toBe(false);
    expect(await settle(session.run(request(session, 1)))).toBeInstanceOf(ModelError);
  });

  it("on release lets the worker leave between chunks, so a run in flight cannot abort the process", async () => {
    const session = await OrtWorkerSession.create(modelPath, 1, "the text encoder");
    const long = settle(session.run(request(session, 1, 1_000)));
    // The worker interleaves chunks of both runs: when the short one is back, the long one is mid-way, inside onnxruntime.
    await session.run(request(session, 2));
    // Worker.terminate() here aborted the whole test process from inside onnxruntime-node.
    await within(session.release(), 15_000);
    expect(await within(long, 1_000)).toBeInstanceOf(ShuttingDownError);
    expect(await settle(session.run(request(session, 1)))).toBeInstanceOf(ModelError);
  });
});
