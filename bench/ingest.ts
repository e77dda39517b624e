/**
 * Ingestion benchmark: three ways of importing the same OpenMoji SVGs, side by
 * side in one run, with the full-size ViT-B/32 random-weight model.
 *
 *   (a) raw encoder   the image encoder alone on pre-rendered tensors, batched as the pipeline batches
 *   (b) pipelined     StreamAddImages through a real svgvec server (download, render, encode, write)
 *   (c) naive         one at a time: download, render, embed, insert and flush (as the original system did)
 *
 * Usage: npx tsx bench/ingest.ts [--milvus lite|standalone] [--n 200] [--naive-n 40] [--runs 3]
 *        [--model DIR (read only) | --batch dynamic|1 (a generated random-weight ViT-B/32)]
 * --milvus standalone uses the one at SVGVEC_TEST_STANDALONE_ADDRESS if set, else starts one.
 * Prints medians over the runs and the ratios b/a and b/c.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { SvgVecClient } from "../test/helpers/grpc-client.js";
import { createLogger } from "../src/log.js";
import { readModelDir } from "../src/models/model-dir.js";
import { ClipModel } from "../src/clip/clip.js";
import { fetchSvg } from "../src/fetch/fetch.js";
import { toTensor } from "../src/clip/preprocess.js";
import { RenderPool } from "../src/render/render.js";
import { MilvusStore } from "../src/store/milvus-store.js";
import { openmojiCatalogue, startCorpus } from "../test/helpers/corpus.js";
import { runBench } from "./run.js";
import { benchMilvus } from "./milvus.js";
import { benchModelDir, describeModel } from "./model-kind.js";

const { values } = parseArgs({
  options: {
    milvus: { type: "string", default: "lite" },
    n: { type: "string", default: "200" },
    "naive-n": { type: "string", default: "40" },
    runs: { type: "string", default: "3" },
    model: { type: "string" },
    batch: { type: "string", default: "dynamic" },
  },
});
const N = Number(values.n);
const NAIVE_N = Number(values["naive-n"]);
const RUNS = Number(values.runs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const MODEL_DIR = await benchModelDir(values.model, values.batch);
  const corpus = await startCorpus();
  // Distinct files, so no two items share content and nothing is skipped as a duplicate.
  const hexes = openmojiCatalogue().map((e) => e.hexcode).slice(0, Math.max(N * RUNS, NAIVE_N * RUNS));
  const dataDir = await mkdtemp(join(tmpdir(), "svgvec-bench-"));
  const milvus = await benchMilvus(values.milvus, dataDir);
  const renderer = new RenderPool({ workers: 1, timeoutMs: 10_000, maxMemoryMb: 256, maxQueue: 1024 });
  const model = await ClipModel.load(await readModelDir({ dir: MODEL_DIR, name: "", pretrained: "" }), 0);
  const modelLine = await describeModel(MODEL_DIR, model.info);
  const batch = model.info.visualBatch ?? 32;
  process.stderr.write(`model ${MODEL_DIR} (visual batch ${model.info.visualBatch ?? "dynamic"}), Milvus ${values.milvus} at ${milvus.address}\n`);

  try {
    // (a) raw encoder on pre-rendered tensors
    const tensors: Float32Array[] = [];
    for (const hex of hexes.slice(0, N)) {
      const file = await fetchSvg(corpus.openmoji(hex), { allowPrivateAddresses: true, allowCidrs: [], maxBytes: 5e6, timeoutMs: 10_000, maxRedirects: 0 });
      const img = await renderer.render(file.bytes, 224, [255, 255, 255]);
      const t = new Float32Array(3 * 224 * 224);
      toTensor(img, model.info.preprocess, t);
      tensors.push(t);
    }
    await model.embedImages(tensors.slice(0, 2));

    const config = loadConfig({
      ...process.env,
      SVGVEC_LISTEN: "127.0.0.1:0",
      SVGVEC_MILVUS_ADDRESS: milvus.address,
      SVGVEC_COLLECTION: `bench_${Date.now()}`,
      SVGVEC_MODEL_DIR: MODEL_DIR,
      SVGVEC_FETCH_ALLOW_PRIVATE: "true",
      SVGVEC_LOG_LEVEL: "error",
    });
    const app = await startApp(config, createLogger("error"));
    const client = new SvgVecClient(app.address);
    const store = await MilvusStore.open({ address: milvus.address, token: "", collection: `naive_${Date.now()}` });
    const raw: number[] = [];
    const piped: number[] = [];
    const naive: number[] = [];
    const stages: string[] = [];
    try {
      await client.streamAddImages([{ id: -1n, url: corpus.openmoji(hexes[0]!) }]); // warm-up
      // The three paths take turns within each run, so the machine's noise falls on all of them alike.
      for (let r = 0; r < RUNS; r++) {
        // (a) raw encoder on pre-rendered tensors
        let started = performance.now();
        for (let i = 0; i < N; i += batch) await model.embedImages(tensors.slice(i, i + batch));
        raw.push(N / ((performance.now() - started) / 1000));

        // (b) pipelined import through StreamAddImages
        const before = { ...app.pipeline.times, ...app.service.storeTimes };
        const items = hexes.slice(r * N, (r + 1) * N).map((hex, i) => ({ id: BigInt(r * N + i), url: corpus.openmoji(hex) }));
        started = performance.now();
        const summary = await client.streamAddImages(items);
        const seconds = (performance.now() - started) / 1000;
        if (summary.added + summary.replaced !== BigInt(N)) throw new Error(`run ${r}: ${summary.failed} items failed`);
        piped.push(N / seconds);
        const t = app.pipeline.times;
        const s = app.service.storeTimes;
        const per = (ms: number, was: number, n: number) => (n > 0 ? ((ms - was) / n).toFixed(1) : "-");
        stages.push(
          `run ${r + 1}: fetch ${per(t.fetchMs, before.fetchMs, t.fetched - before.fetched)} ms/item, ` +
            `render+preprocess ${per(t.renderMs, before.renderMs, t.rendered - before.rendered)} ms/item, ` +
            `encode (queue+run) ${per(t.encodeMs, before.encodeMs, t.encoded - before.encoded)} ms/item, ` +
            `Milvus ${s.writes - before.writes} upserts of ${((s.rows - before.rows) / Math.max(1, s.writes - before.writes)).toFixed(0)} rows, ` +
            `${per(s.writeMs, before.writeMs, s.writes - before.writes)} ms each`,
        );

        // (c) naive: one at a time, insert and flush each
        started = performance.now();
        for (const [i, hex] of hexes.slice(r * NAIVE_N, (r + 1) * NAIVE_N).entries()) {
          const file = await fetchSvg(corpus.openmoji(hex), config.fetch);
          const img = await renderer.render(file.bytes, 224, [255, 255, 255]);
          const tensor = new Float32Array(3 * 224 * 224);
          toTensor(img, model.info.preprocess, tensor);
          const [vector] = await model.embedImages([tensor]);
          const now = new Date().toISOString();
          await store.upsert([{ id: BigInt(r * NAIVE_N + i), url: corpus.openmoji(hex), vector: vector!, addedAt: now, updatedAt: now }]);
          await store.flush();
        }
        naive.push(NAIVE_N / ((performance.now() - started) / 1000));
      }
    } finally {
      client.close();
      await app.close();
      await store.close();
      await model.release();
      await renderer.close();
    }

    const a = median(raw);
    const b = median(piped);
    const c = median(naive);
    const row = (name: string, items: number, runs: number[], ratio: string) =>
      `| ${name} | ${items} | ${runs.map((x) => x.toFixed(1)).join(", ")} | ${median(runs).toFixed(1)} | ${ratio} |`;
    console.log(`\nIngestion, ${values.milvus} Milvus, ${RUNS} runs, ${new Date().toISOString()}\n${modelLine}\n`);
    console.log("| path | items per run | items/s per run | median items/s | ratio |");
    console.log("| --- | --- | --- | --- | --- |");
    console.log(row("(a) raw image encoder", N, raw, "1.00 (a)"));
    console.log(row("(b) pipelined StreamAddImages", N, piped, `b/a ${(b / a).toFixed(2)}, b/c ${(b / c).toFixed(2)}`));
    console.log(row("(c) naive, one at a time + flush", NAIVE_N, naive, ""));
    console.log("\nPipelined stages:\n" + stages.map((s) => `- ${s}`).join("\n"));
  } finally {
    await corpus.close();
    await milvus.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

runBench(main);
