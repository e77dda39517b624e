/**
 * The two kinds of model file side by side, in one run: a fixed 77-token,
 * batch-1 export (Immich's shapes) against one with a dynamic batch axis and
 * text length, the same weights in both. Text: ms per query, one query per run
 * and 8 concurrent queries per run. Images: images per second, one image per
 * run against batches of 16.
 *
 * Usage: npx tsx bench/encoders.ts [--runs 5] [--queries 100] [--images 64]
 *        [--fixed DIR --dynamic DIR (read only; default: the generated ViT-B/32 pair)]
 * `svgvec model export --random-init [--batch 1]` writes an OpenCLIP-exported pair to compare.
 */
import { parseArgs } from "node:util";
import { ClipModel } from "../src/clip/clip.js";
import { readModelDir } from "../src/models/model-dir.js";
import { benchModelDir, describeModel } from "./model-kind.js";
import { runBench } from "./run.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    queries: { type: "string", default: "100" },
    images: { type: "string", default: "64" },
    fixed: { type: "string" },
    dynamic: { type: "string" },
  },
});
const RUNS = Number(values.runs);
const QUERIES = Number(values.queries);
const IMAGES = Number(values.images);
const BATCH = 16;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dirs = { "fixed 77, batch 1": await benchModelDir(values.fixed, "1"), "dynamic length and batch": await benchModelDir(values.dynamic, "dynamic") };
  const load = async (dir: string) => ClipModel.load(await readModelDir({ dir, name: "", pretrained: "" }), 0);
  const models: Record<string, ClipModel> = {};
  const header: string[] = [];
  for (const [name, dir] of Object.entries(dirs)) {
    models[name] = await load(dir);
    header.push(await describeModel(dir, models[name].info));
  }
  const texts = Array.from({ length: QUERIES }, (_, i) => `red heart ${i}`);
  const size = Object.values(models)[0]!.info.preprocess.size;
  // Random pixels cost the encoder what an icon costs: a ViT's work does not depend on the content.
  const tensors = Array.from({ length: IMAGES }, () => Float32Array.from({ length: 3 * size * size }, () => Math.random() * 4 - 2));
  const one: Record<string, number[]> = {};
  const eight: Record<string, number[]> = {};
  const single: Record<string, number[]> = {};
  const batched: Record<string, number[]> = {};
  for (const m of Object.values(models)) {
    await m.embedTexts(texts.slice(0, 8));
    await m.embedImages(tensors.slice(0, 2));
  }
  // Interleave the two models within each run, so machine noise hits both alike.
  for (let r = 0; r < RUNS; r++) {
    for (const [name, model] of Object.entries(models)) {
      let t0 = performance.now();
      for (const t of texts) await model.embedText(t);
      (one[name] ??= []).push((performance.now() - t0) / texts.length);
      t0 = performance.now();
      for (let i = 0; i < texts.length; i += 8) await model.embedTexts(texts.slice(i, i + 8));
      (eight[name] ??= []).push((performance.now() - t0) / texts.length);
      t0 = performance.now();
      for (const t of tensors) await model.embedImages([t]);
      (single[name] ??= []).push(IMAGES / ((performance.now() - t0) / 1000));
      t0 = performance.now();
      for (let i = 0; i < tensors.length; i += BATCH) await model.embedImages(tensors.slice(i, i + BATCH));
      (batched[name] ??= []).push(IMAGES / ((performance.now() - t0) / 1000));
    }
  }
  for (const m of Object.values(models)) await m.release();
  const [fixedName, dynName] = Object.keys(models) as [string, string];
  console.log(`\nencoders, fixed against dynamic, medians of ${RUNS} runs, ${new Date().toISOString()}`);
  for (const h of header) console.log(h);
  console.log(`\ntext: "red heart N" (${texts[0]!.split(" ").length + 2} tokens with start and end), ms per query; images: ${IMAGES} per run, images/s\n`);
  console.log(`| model file | text, one query per run | text, 8 queries per run | images, one per run | images, ${BATCH} per run |`);
  console.log("| --- | --- | --- | --- | --- |");
  for (const name of [fixedName, dynName]) {
    console.log(
      `| ${name} | ${median(one[name]!).toFixed(2)} | ${median(eight[name]!).toFixed(2)} | ${median(single[name]!).toFixed(1)} | ${median(batched[name]!).toFixed(1)} |`,
    );
  }
  console.log(
    `\nfixed / dynamic, ms per query: ${(median(one[fixedName]!) / median(one[dynName]!)).toFixed(2)}x one at a time, ` +
      `${(median(eight[fixedName]!) / median(eight[dynName]!)).toFixed(2)}x in runs of 8; ` +
      `images/s, dynamic in batches of ${BATCH} / fixed one per run: ${(median(batched[dynName]!) / median(single[fixedName]!)).toFixed(2)}x`,
  );
}

runBench(main);
