/**
 * Proves that a function scanning untrusted input costs linear time: it runs
 * the function on many adversarial inputs (test/helpers/adversarial.ts) in a
 * worker thread and reports the slowest call. The worker matters: a pattern
 * that backtracks exponentially never returns, and on the test's own thread
 * it would freeze the run instead of failing the test.
 */
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { ARBITRARIES, type ArbitraryName } from "./adversarial.js";
import type { TargetName } from "./linear-targets.js";

export interface LinearReport {
  calls: number;
  /** The slowest call: its time in ms (best of five tries), the input's index and length. */
  worst: { ms: number; index: number; length: number };
}

export interface LinearCheck {
  target: TargetName;
  arbitrary: ArbitraryName;
  runs: number;
  seed: number;
  /** A call slower than this is timed again (best of five), so a pause of the machine is not blamed on the input. */
  perCallMs: number;
  /** The whole run's budget; past it the worker is stopped and the input it was on is reported. */
  budgetMs: number;
}

export async function runLinearCheck(check: LinearCheck): Promise<LinearReport> {
  const progress = new SharedArrayBuffer(4);
  const worker = new Worker(new URL("./linear-worker.mjs", import.meta.url), {
    workerData: { target: check.target, arbitrary: check.arbitrary, runs: check.runs, seed: check.seed, perCallMs: check.perCallMs, progress },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<LinearReport>((resolve, reject) => {
      worker.once("message", (m: LinearReport) => resolve(m));
      worker.once("error", reject);
      timer = setTimeout(() => {
        const index = new Int32Array(progress)[0] ?? 0;
        const input = fc.sample(ARBITRARIES[check.arbitrary], { seed: check.seed, numRuns: check.runs })[index] ?? "";
        reject(new Error(`${check.target} did not finish ${check.runs} calls within ${check.budgetMs} ms; it was stuck on input #${index} (${input.length} chars): ${JSON.stringify(input.slice(0, 200))}`));
      }, check.budgetMs);
    });
  } finally {
    clearTimeout(timer);
    await worker.terminate();
  }
}
