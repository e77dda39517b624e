/**
 * Text-encoder throughput under concurrent queries: one text session with
 * two threads (svgvec's default on two cores) against two sessions with one
 * thread each (SVGVEC_TEXT_SESSIONS=2), on the fixed 77-token, batch-1 file and
 * on the dynamic one, side by side in one run. Queries go through the same
 * Batcher the service uses (one run per session in flight), each text new.
 *
 * Usage: npx tsx bench/text-sessions.ts [--runs 3] [--queries 80] [--concurrency 4,16]
 *        [--fixed DIR --dynamic DIR (read only; default: the generated ViT-B/32 pair)]
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { Batcher } from "../src/batcher.js";
import { ClipModel, MAX_DYNAMIC_BATCH } from "../src/clip/clip.js";
import { readModelDir } from "../src/models/model-dir.js";
import { benchModelDir, describeModel } from "./model-kind.js";
import { pct, runBench } from "./run.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    queries: { type: "string", default: "80" },
    concurrency: { type: "string", default: "4,16" },
    fixed: { type: "string" },
    dynamic: { type: "string" },
  },
});
const RUNS = Number(values.runs);
const QUERIES = Number(values.queries);
const CONCURRENCY = values.concurrency!.split(",").map(Number);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const SETUPS = [
  { name: "1 session x 2 threads", sessions: 1, threads: 2 },
  { name: "2 sessions x 1 thread", sessions: 2, threads: 1 },
] as const;

let round = 0;

/** QPS and p50 of QUERIES new texts sent by c concurrent callers through the service's batcher. */
async function measure(model: ClipModel, c: number): Promise<{ qps: number; p50: number }> {
  const batcher = new Batcher((texts: string[]) => model.embedTexts(texts), {
    maxBatch: model.info.textBatch ?? MAX_DYNAMIC_BATCH,
    concurrency: model.info.textSessions,
  });
  const r = round++;
  let next = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (next < QUERIES) {
        const i = next++;
        const t0 = performance.now();
        // The same form as bench/search.ts sends: "icon N of load M at T".
        await batcher.submit(`icon ${i} of load ${r} at ${Date.now()}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { qps: QUERIES / ((performance.now() - started) / 1000), p50: pct(latencies, 50) };
}

async function main(): Promise<void> {
  const dirs = {
    "fixed 77, batch 1": await benchModelDir(values.fixed, "1"),
    "dynamic length and batch": await benchModelDir(values.dynamic, "dynamic"),
  };
  const header: string[] = [];
  const models: Array<{ label: string; setup: (typeof SETUPS)[number]; model: ClipModel }> = [];
  for (const [label, dir] of Object.entries(dirs)) {
    for (const setup of SETUPS) {
      const model = await ClipModel.load(await readModelDir({ dir, name: "", pretrained: "" }), setup.threads, setup.sessions);
      await model.embedTexts(["warm up"]);
      await model.embedTexts(["warm up", "two"]);
      models.push({ label, setup, model });
      if (setup === SETUPS[0]) header.push(await describeModel(dir, model.info));
    }
  }
  const qps = new Map<string, number[]>();
  const p50 = new Map<string, number[]>();
  // Interleave every combination within each run, so the machine's noise falls on all alike.
  for (let run = 0; run < RUNS; run++) {
    for (const c of CONCURRENCY) {
      for (const m of models) {
        const key = `${m.label}|${m.setup.name}|${c}`;
        const r = await measure(m.model, c);
        (qps.get(key) ?? qps.set(key, []).get(key)!).push(r.qps);
        (p50.get(key) ?? p50.set(key, []).get(key)!).push(r.p50);
      }
    }
  }
  for (const m of models) await m.model.release();

  console.log(`\ntext sessions, ${availableParallelism()} cores, ${QUERIES} new queries per measurement, medians of ${RUNS} runs, ${new Date().toISOString()}`);
  for (const h of header) console.log(h);
  console.log(`\n| model | text sessions | ${CONCURRENCY.map((c) => `c=${c} QPS | c=${c} p50 ms`).join(" | ")} |`);
  console.log(`| --- | --- | ${CONCURRENCY.map(() => "--- | ---").join(" | ")} |`);
  for (const m of models) {
    const cells = CONCURRENCY.map((c) => {
      const key = `${m.label}|${m.setup.name}|${c}`;
      return `${median(qps.get(key)!).toFixed(1)} (${qps.get(key)!.map((x) => x.toFixed(1)).join(", ")}) | ${median(p50.get(key)!).toFixed(1)}`;
    });
    console.log(`| ${m.label} | ${m.setup.name} | ${cells.join(" | ")} |`);
  }
  console.log("");
  for (const label of Object.keys(dirs)) {
    const ratios = CONCURRENCY.map((c) => {
      const [one, two] = SETUPS.map((s) => median(qps.get(`${label}|${s.name}|${c}`)!));
      return `c=${c} ${(two! / one!).toFixed(2)}x`;
    });
    console.log(`${label}: 2 sessions x 1 thread / 1 session x 2 threads, QPS: ${ratios.join(", ")}`);
  }
}

runBench(main);
