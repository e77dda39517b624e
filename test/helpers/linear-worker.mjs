// The worker side of test/helpers/linear.ts. Plain JavaScript because a worker
// thread's entry is loaded before any TypeScript loader; it loads the TypeScript
// targets through tsx.
import { parentPort, workerData } from "node:worker_threads";
import { tsImport } from "tsx/esm/api";

const { target, arbitrary, runs, seed, progress, perCallMs } = workerData;
const fc = (await import("fast-check")).default;
const { ARBITRARIES } = await tsImport("./adversarial.ts", import.meta.url);
const { TARGETS } = await tsImport("./linear-targets.ts", import.meta.url);
const fn = TARGETS[target];
const inputs = fc.sample(ARBITRARIES[arbitrary], { seed, numRuns: runs });
// The index of the input being run, readable by the parent even while this thread is stuck.
const current = new Int32Array(progress);

/**
 * A call's time: the best of a few tries for the slow ones, so a GC pause or a
 * busy machine is not blamed on the input (a backtracking input is slow every time).
 */
function timeOf(input) {
  let best = Infinity;
  for (let attempt = 0; attempt < 5; attempt++) {
    const started = performance.now();
    fn(input);
    best = Math.min(best, performance.now() - started);
    if (best < perCallMs) break;
  }
  return best;
}

let worst = { ms: 0, index: -1, length: 0 };
for (let i = 0; i < inputs.length; i++) {
  Atomics.store(current, 0, i);
  const ms = timeOf(inputs[i]);
  if (ms > worst.ms) worst = { ms, index: i, length: inputs[i].length };
}
parentPort.postMessage({ calls: inputs.length, worst });
