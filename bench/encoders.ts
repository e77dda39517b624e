/**
 * Text tower: a fixed 77-token, batch-1 export (as Immich ships) against one
 * with a dynamic batch axis and text length (as `model generate --batch
 * dynamic` writes), both full-size ViT-B/32 with the same random weights.
 * Short queries on the dynamic file run on their own tokens; concurrent ones
 * share a run.
 *
 * Usage: npx tsx bench/text-encoder.ts [--runs 5] [--queries 100]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT, generateModel } from "../src/models/generate.js";
import { readModelDir } from "../src/models/model-dir.js";
import { ClipModel } from "../src/clip/clip.js";
import { python } from "../test/helpers/models.js";
import { runBench } from "./run.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" }, queries: { type: "string", default: "100" } } });
const RUNS = Number(values.runs);
const QUERIES = Number(values.queries);
const FIXED = join(REPO_ROOT, ".cache/models/ViT-B-32__random");
const DYNAMIC = join(REPO_ROOT, ".cache/models/ViT-B-32__random-dynamic");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  await generateModel({ preset: "vit-b-32", batch: "1", out: FIXED, python: python() });
  await generateModel({ preset: "vit-b-32", batch: "dynamic", out: DYNAMIC, python: python() });
  const load = async (dir: string) => ClipModel.load(await readModelDir({ dir, name: "", pretrained: "", intraOpThreads: 0 }), 0);
  const models = { "fixed 77, batch 1": await load(FIXED), "dynamic length and batch": await load(DYNAMIC) };
  const texts = Array.from({ length: QUERIES }, (_, i) => `red heart ${i}`);
  const one: Record<string, number[]> = {};
  const eight: Record<string, number[]> = {};
  for (const m of Object.values(models)) await m.embedTexts(texts.slice(0, 8));
  // Interleave the two models within each run, so machine noise hits both alike.
  for (let r = 0; r < RUNS; r++) {
    for (const [name, model] of Object.entries(models)) {
      let t0 = performance.now();
      for (const t of texts) await model.embedText(t);
      (one[name] ??= []).push((performance.now() - t0) / texts.length);
      t0 = performance.now();
      for (let i = 0; i < texts.length; i += 8) await model.embedTexts(texts.slice(i, i + 8));
      (eight[name] ??= []).push((performance.now() - t0) / texts.length);
    }
  }
  for (const m of Object.values(models)) await m.release();
  const [fixedName, dynName] = Object.keys(models) as [string, string];
  console.log(`\ntext encoder, "red heart N" (${texts[0]!.split(" ").length + 2} tokens with start and end), medians of ${RUNS} runs, ms per query\n`);
  console.log("| model | one query per run | 8 queries per run |");
  console.log("| --- | --- | --- |");
  for (const name of [fixedName, dynName]) console.log(`| ${name} | ${median(one[name]!).toFixed(2)} | ${median(eight[name]!).toFixed(2)} |`);
  console.log(
    `\nfixed / dynamic: ${(median(one[fixedName]!) / median(one[dynName]!)).toFixed(2)}x one at a time, ` +
      `${(median(eight[fixedName]!) / median(eight[dynName]!)).toFixed(2)}x in runs of 8`,
  );
}

runBench(main);
