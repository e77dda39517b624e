/**
 * Search benchmark: the service under load from ghz, next to its two parts
 * measured bare in the same run: the text encoder (full-size ViT-B/32 text
 * tower, random weights) and a Milvus search of the same collection.
 *
 * Every ghz request has its own text, never sent before, so the query cache never answers.
 *
 * Usage: npx tsx bench/search.ts [--milvus lite|standalone] [--consistency strong|bounded]
 *        [--sizes 10000,100000] [--concurrency 1,4,16] [--requests 400]
 *        [--model DIR (read only) | --batch dynamic|1 (a generated random-weight ViT-B/32)] [--text-sessions N]
 * --milvus standalone uses the one at SVGVEC_TEST_STANDALONE_ADDRESS if set, else starts one.
 * Needs ghz (go install github.com/bojand/ghz/cmd/ghz@v0.120.0).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/log.js";
import { readModelDir } from "../src/models/model-dir.js";
import { ClipModel } from "../src/clip/clip.js";
import { MilvusClient } from "@zilliz/milvus2-sdk-node";
import { MILVUS_CHANNEL_OPTIONS, MilvusStore, type ImageRow } from "../src/store/milvus-store.js";
import { ghz } from "../test/helpers/ghz.js";
import { runBench } from "./run.js";
import { benchMilvus } from "./milvus.js";
import { benchModelDir, describeModel } from "./model-kind.js";

const { values } = parseArgs({
  options: {
    milvus: { type: "string", default: "lite" },
    sizes: { type: "string", default: "10000,100000" },
    concurrency: { type: "string", default: "1,4,16" },
    requests: { type: "string", default: "400" },
    model: { type: "string" },
    batch: { type: "string", default: "dynamic" },
    "text-sessions": { type: "string" },
    consistency: { type: "string", default: "strong" },
  },
});
const CONSISTENCY = values.consistency === "bounded" ? "bounded" : "strong";
const SIZES = values.sizes!.split(",").map(Number);
const CONCURRENCY = values.concurrency!.split(",").map(Number);
const REQUESTS = Number(values.requests);
const TEXT_SESSIONS = values["text-sessions"] === undefined ? loadConfig({ ...process.env }).model.textSessions : Number(values["text-sessions"]);

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

function randomUnit(dim = 512): number[] {
  const v = Array.from({ length: dim }, () => Math.random() - 0.5);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/**
 * A full Milvus builds the index over sealed segments in the background, and
 * until it has, searches scan rows brute force: wait, so the numbers are for
 * an indexed collection. Returns seconds waited, or a note when Milvus does
 * not report progress.
 */
async function waitForIndex(address: string, collection: string, rows: number): Promise<string> {
  const client = new MilvusClient({ address, channelOptions: MILVUS_CHANNEL_OPTIONS });
  const t0 = performance.now();
  try {
    for (;;) {
      const p = await client.getIndexBuildProgress({ collection_name: collection, field_name: "vector" });
      // Milvus Lite answers this call with an empty message: no status, no row counts.
      if (p.status === undefined) {
        const d = await client.describeIndex({ collection_name: collection, field_name: "vector" });
        return `index build progress not reported (Milvus Lite); describeIndex says ${d.index_descriptions?.[0]?.state ?? d.status?.reason ?? "nothing"}`;
      }
      if (p.status.error_code !== "Success") return `index progress not reported (${p.status.reason})`;
      if (Number(p.indexed_rows) >= rows) return `index built over ${p.indexed_rows} rows after ${((performance.now() - t0) / 1000).toFixed(0)} s`;
      if (performance.now() - t0 > 900_000) return `index over ${p.indexed_rows} of ${rows} rows after 900 s; measured anyway`;
      await new Promise((r) => setTimeout(r, 2_000));
    }
  } finally {
    await client.closeConnection();
  }
}

let ghzCalls = 0;

async function load(address: string, concurrency: number): Promise<{ p50: number; p95: number; p99: number; qps: number; errors: number }> {
  const r = await ghz(address, {
    call: "svgvec.v1.SvgVecService/Search",
    // Texts unique to this call too, so neither the warm-up nor an earlier level fills the query cache.
    data: `{"text": "icon {{.RequestNumber}} of load ${ghzCalls++} at ${Date.now()}", "k": 10}`,
    requests: REQUESTS,
    concurrency,
  });
  const at = (p: number) => (r.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? NaN) / 1e6;
  const errors = Object.entries(r.statusCodeDistribution).filter(([k]) => k !== "OK").reduce((a, [, n]) => a + n, 0);
  return { p50: at(50), p95: at(95), p99: at(99), qps: r.rps, errors };
}

async function main(): Promise<void> {
  const MODEL_DIR = await benchModelDir(values.model, values.batch);
  const dataDir = await mkdtemp(join(tmpdir(), "svgvec-bench-"));
  const milvus = await benchMilvus(values.milvus, dataDir);
  const lines: string[] = [];
  try {
    // Bare text encoder: one query at a time, each text new.
    const model = await ClipModel.load(await readModelDir({ dir: MODEL_DIR, name: "", pretrained: "" }), 0, TEXT_SESSIONS);
    const modelLine = await describeModel(MODEL_DIR, model.info);
    await model.embedText("warm up");
    const enc: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now();
      // The same form (and token count) as the texts ghz sends.
      await model.embedText(`icon ${i} of load 99 at ${Date.now()}`);
      enc.push(performance.now() - t0);
    }
    await model.release();
    const encP50 = pct(enc, 50);

    for (const size of SIZES) {
      const collection = `search_${size}_${Date.now()}`;
      const store = await MilvusStore.open({ address: milvus.address, token: "", collection });
      const now = new Date().toISOString();
      for (let start = 0; start < size; start += 5000) {
        const rows: ImageRow[] = [];
        for (let i = start; i < Math.min(size, start + 5000); i++) {
          rows.push({ id: BigInt(i), url: `https://example.com/${i}.svg`, vector: randomUnit(), addedAt: now, updatedAt: now });
        }
        await store.upsert(rows);
      }
      // Seal the segments so a full Milvus builds the IVF index over them.
      await store.flush();
      const indexWait = await waitForIndex(milvus.address, collection, size);
      const bare: number[] = [];
      for (let i = 0; i < 20; i++) await store.search(randomUnit(), 10, 16, CONSISTENCY);
      for (let i = 0; i < 200; i++) {
        const v = randomUnit();
        const t0 = performance.now();
        await store.search(v, 10, 16, CONSISTENCY);
        bare.push(performance.now() - t0);
      }
      const info = await store.info();
      await store.close();
      const milvusP50 = pct(bare, 50);

      const config = loadConfig({
        ...process.env,
        SVGVEC_LISTEN: "127.0.0.1:0",
        SVGVEC_MILVUS_ADDRESS: milvus.address,
        SVGVEC_COLLECTION: collection,
        SVGVEC_MODEL_DIR: MODEL_DIR,
        SVGVEC_LOG_LEVEL: "error",
        SVGVEC_SEARCH_CONSISTENCY: CONSISTENCY,
        SVGVEC_TEXT_SESSIONS: String(TEXT_SESSIONS),
      });
      const app = await startApp(config, createLogger("error"));
      try {
        await load(app.address, 1); // warm-up
        lines.push(`\n${size.toLocaleString("en")} vectors, ${values.milvus} Milvus (${info.indexType}, nprobe 16, ${CONSISTENCY} consistency), ${new Date().toISOString()}`);
        lines.push(`${modelLine}; ${TEXT_SESSIONS} text session(s)`);
        lines.push(`bare text encoder p50 ${encP50.toFixed(1)} ms, bare Milvus search p50 ${milvusP50.toFixed(1)} ms (p99 ${pct(bare, 99).toFixed(1)} ms), sum ${(encP50 + milvusP50).toFixed(1)} ms; ${indexWait}\n`);
        lines.push("| concurrency | requests | p50 ms | p95 ms | p99 ms | QPS | errors | p50 / (encoder + Milvus) | p99 / p50 |");
        lines.push("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (const c of CONCURRENCY) {
          const r = await load(app.address, c);
          lines.push(
            `| ${c} | ${REQUESTS} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.qps.toFixed(1)} | ${r.errors} | ` +
              `${(r.p50 / (encP50 + milvusP50)).toFixed(2)} | ${(r.p99 / r.p50).toFixed(2)} |`,
          );
        }
      } finally {
        await app.close();
      }
      console.log(lines.join("\n"));
      lines.length = 0;
    }
  } finally {
    await milvus.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

runBench(main);
