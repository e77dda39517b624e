/**
 * Search benchmark: the service under load from ghz, for each kind of query (a text, a stored
 * record's id, an SVG's URL), next to their parts measured bare in the same run: the text encoder
 * (full-size ViT-B/32 text tower, random weights), the image path (download over loopback, render,
 * ViT-B/32 image tower), a Milvus read of one record's vector and a Milvus search of the same
 * collection.
 *
 * Every ghz text and every SVG is new, never sent before, so neither the query cache nor the
 * embedding cache answers; ids are drawn at random from the stored ones.
 *
 * Usage: npx tsx bench/search.ts [--milvus lite|standalone] [--consistency strong|bounded]
 *        [--sizes 10000,100000] [--concurrency 1,4,16] [--requests 400] [--queries text,id,url]
 *        [--model DIR (read only) | --batch dynamic|1 (a generated random-weight ViT-B/32)] [--text-sessions N]
 * --milvus standalone uses the one at SVGVEC_TEST_STANDALONE_ADDRESS if set, else starts one.
 * Needs ghz (go install github.com/bojand/ghz/cmd/ghz@v0.120.0).
 */
import { readFile, mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/log.js";
import { readModelDir } from "../src/models/model-dir.js";
import { ClipModel } from "../src/clip/clip.js";
import { MilvusStore, type ImageRow } from "../src/store/milvus-store.js";
import { ImagePipeline } from "../src/pipeline/image-pipeline.js";
import { OPENMOJI_DIR, openmojiCatalogue } from "../test/helpers/corpus.js";
import { ghz } from "../test/helpers/ghz.js";
import { pct, runBench } from "./run.js";
import { randomUnit } from "./vectors.js";
import { benchMilvus, waitForIndex } from "./milvus.js";
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
    queries: { type: "string", default: "text,id,url" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help === true) {
  process.stdout.write(`Usage: npx tsx bench/search.ts [--milvus lite|standalone] [--consistency strong|bounded]
       [--sizes 10000,100000] [--concurrency 1,4,16] [--requests 400] [--queries text,id,url]
       [--model DIR (read only) | --batch dynamic|1 (a generated random-weight ViT-B/32)] [--text-sessions N]
Prints, per collection size, the bare parts (text encoder, image path, Milvus read and search) and
svgvec under ghz load for each kind of query: text, id (like_id) and url (like_url).
`);
  process.exit(0);
}
const CONSISTENCY = values.consistency === "bounded" ? "bounded" : "strong";
const SIZES = values.sizes!.split(",").map(Number);
const CONCURRENCY = values.concurrency!.split(",").map(Number);
const REQUESTS = Number(values.requests);
type QueryKind = "text" | "id" | "url";
const QUERY_KINDS: readonly QueryKind[] = ["text", "id", "url"];
const QUERIES = values.queries!.split(",").map((q) => {
  if (!(QUERY_KINDS as readonly string[]).includes(q)) throw new Error(`--queries: "${q}" is no kind of query; use text, id or url, comma-separated`);
  return q as QueryKind;
});
const TEXT_SESSIONS = values["text-sessions"] === undefined ? loadConfig({ ...process.env }).model.textSessions : Number(values["text-sessions"]);


/**
 * A loopback server of OpenMoji SVGs, each made unique by its path (a comment with it appended), so
 * every search by URL downloads, renders and embeds an SVG never seen before.
 */
async function startSvgServer(): Promise<{ url(key: string): string; close(): Promise<void> }> {
  const files = openmojiCatalogue().map((e) => join(OPENMOJI_DIR, `${e.hexcode}.svg`));
  const server = http.createServer((req, res) => {
    const key = /^\/q\/([\w.-]{1,100})\.svg$/.exec(req.url ?? "")?.[1];
    if (key === undefined) return void res.writeHead(404).end();
    let hash = 0;
    for (const ch of key) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
    readFile(files[hash % files.length]!).then(
      (svg) => {
        // A comment may not hold "--".
        const body = Buffer.concat([svg, Buffer.from(`<!-- ${key.replaceAll("-", "_")} -->`)]);
        res.writeHead(200, { "content-type": "image/svg+xml", "content-length": String(body.length) }).end(body);
      },
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (key) => `${base}/q/${key}.svg`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

let ghzCalls = 0;

/** One ghz request of the kind, unique to this call of load so that no earlier level fills a cache. */
function requestData(kind: QueryKind, size: number, svgs: { url(key: string): string }): string {
  const run = `${ghzCalls++}-${Date.now()}`;
  switch (kind) {
    case "text":
      return `{"text": "icon {{.RequestNumber}} of load ${run}", "k": 10}`;
    case "id":
      return `{"like_id": "{{randomInt 0 ${size}}}", "k": 10}`;
    case "url":
      return `{"like_url": "${svgs.url(`{{.RequestNumber}}-${run}`)}", "k": 10}`;
  }
}

async function load(
  address: string,
  concurrency: number,
  data: string,
): Promise<{ p50: number; p95: number; p99: number; qps: number; errors: number }> {
  const r = await ghz(address, { call: "svgvec.v1.SvgVecService/Search", data, requests: REQUESTS, concurrency });
  const at = (p: number) => (r.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? NaN) / 1e6;
  const errors = Object.entries(r.statusCodeDistribution).filter(([k]) => k !== "OK").reduce((a, [, n]) => a + n, 0);
  return { p50: at(50), p95: at(95), p99: at(99), qps: r.rps, errors };
}

async function main(): Promise<void> {
  const MODEL_DIR = await benchModelDir(values.model, values.batch);
  const dataDir = await mkdtemp(join(tmpdir(), "svgvec-bench-"));
  const svgs = await startSvgServer();
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
    const encP50 = pct(enc, 50);

    // Bare image path: download, render and image encoder, each SVG new, one at a time.
    const benchConfig = loadConfig({ ...process.env, SVGVEC_FETCH_ALLOW_PRIVATE: "true", SVGVEC_MODEL_DIR: MODEL_DIR });
    const pipeline = new ImagePipeline(model, benchConfig.fetch, benchConfig.render, 0);
    const image: number[] = [];
    for (let i = -5; i < 50; i++) {
      const t0 = performance.now();
      await pipeline.embed(await pipeline.fetch(svgs.url(`bare-${i}`)));
      if (i >= 0) image.push(performance.now() - t0);
    }
    await pipeline.close();
    await model.release();
    const imageP50 = pct(image, 50);

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
      // A search by id first reads the record's vector (Strong, like every svgvec read).
      const reads: number[] = [];
      for (let i = 0; i < 200; i++) {
        const id = BigInt(Math.floor(Math.random() * size));
        const t0 = performance.now();
        await store.get(id, true);
        reads.push(performance.now() - t0);
      }
      const info = await store.info();
      await store.close();
      const milvusP50 = pct(bare, 50);
      const readP50 = pct(reads, 50);
      const parts: Record<QueryKind, number> = { text: encP50 + milvusP50, id: readP50 + milvusP50, url: imageP50 + milvusP50 };

      const config = loadConfig({
        ...process.env,
        SVGVEC_LISTEN: "127.0.0.1:0",
        SVGVEC_MILVUS_ADDRESS: milvus.address,
        SVGVEC_COLLECTION: collection,
        SVGVEC_MODEL_DIR: MODEL_DIR,
        SVGVEC_LOG_LEVEL: "error",
        SVGVEC_SEARCH_CONSISTENCY: CONSISTENCY,
        // The SVGs of searches by URL come from loopback.
        SVGVEC_FETCH_ALLOW_PRIVATE: "true",
        SVGVEC_TEXT_SESSIONS: String(TEXT_SESSIONS),
      });
      const app = await startApp(config, createLogger("error"));
      try {
        for (const kind of QUERIES) await load(app.address, 1, requestData(kind, size, svgs)); // warm-up
        lines.push(`\n${size.toLocaleString("en")} vectors, ${values.milvus} Milvus (${info.indexType}, nprobe 16, ${CONSISTENCY} consistency), ${new Date().toISOString()}`);
        lines.push(`${modelLine}; ${TEXT_SESSIONS} text session(s)`);
        lines.push(
          `bare parts p50: text encoder ${encP50.toFixed(1)} ms; image path (download, render, image encoder) ${imageP50.toFixed(1)} ms; ` +
            `Milvus read of one vector ${readP50.toFixed(1)} ms; Milvus search ${milvusP50.toFixed(1)} ms (p99 ${pct(bare, 99).toFixed(1)} ms); ${indexWait}`,
        );
        lines.push("parts: text = text encoder + search; id = read + search; url = image path + search\n");
        lines.push("| query | concurrency | requests | p50 ms | p95 ms | p99 ms | QPS | errors | p50 / parts | p99 / p50 |");
        lines.push("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (const kind of QUERIES) {
          for (const c of CONCURRENCY) {
            const r = await load(app.address, c, requestData(kind, size, svgs));
            lines.push(
              `| ${kind} | ${c} | ${REQUESTS} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.qps.toFixed(1)} | ${r.errors} | ` +
                `${(r.p50 / parts[kind]).toFixed(2)} | ${(r.p99 / r.p50).toFixed(2)} |`,
            );
          }
        }
      } finally {
        await app.close();
      }
      console.log(lines.join("\n"));
      lines.length = 0;
    }
  } finally {
    await svgs.close();
    await milvus.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

runBench(main);
