/**
 * Memory over a long import: streams N items (default 100,000) through one
 * StreamAddImages call to a real server on Milvus Lite, and prints the
 * server process's memory every N/10 items. Memory should level off, not
 * grow with the number of items.
 *
 * The items cycle through OpenMoji's ~4,400 SVGs under distinct ids, so
 * every item is downloaded and written while the embedding cache spares the
 * encoder most of the work; the tiny model keeps the run to minutes. What
 * is measured is what a long stream costs in memory, not encoder speed
 * (bench/ingest.ts measures that).
 *
 * Usage: npx tsx bench/soak.ts [--n 100000]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { SvgVecClient } from "../test/helpers/grpc-client.js";
import { createLogger } from "../src/log.js";
import { openmojiCatalogue, startCorpus } from "../test/helpers/corpus.js";
import { TINY_MODEL_DIR, ensureTinyModels } from "../test/helpers/models.js";
import { runBench } from "./run.js";

const { values } = parseArgs({ options: { n: { type: "string", default: "100000" } } });
const N = Number(values.n);
const MB = 1024 * 1024;

async function main(): Promise<void> {
  await ensureTinyModels();
  const corpus = await startCorpus();
  const hexes = openmojiCatalogue().map((e) => e.hexcode);
  const dataDir = await mkdtemp(join(tmpdir(), "svgvec-soak-"));
  const config = loadConfig({
    ...process.env,
    SVGVEC_LISTEN: "127.0.0.1:0",
    SVGVEC_MILVUS_ADDRESS: "",
    SVGVEC_DATA_DIR: dataDir,
    SVGVEC_MODEL_DIR: TINY_MODEL_DIR,
    SVGVEC_FETCH_ALLOW_PRIVATE: "true",
    SVGVEC_LOG_LEVEL: "error",
  });
  const app = await startApp(config, createLogger("error"));
  const client = new SvgVecClient(app.address);
  const rows: string[] = [];
  const started = performance.now();
  const sample = (items: number) => {
    global.gc?.();
    const m = process.memoryUsage();
    rows.push(
      `| ${items.toLocaleString("en")} | ${((performance.now() - started) / 1000).toFixed(0)} | ${(m.rss / MB).toFixed(0)} | ` +
        `${(m.heapUsed / MB).toFixed(0)} | ${((m.external + m.arrayBuffers) / MB).toFixed(0)} |`,
    );
  };
  async function* items() {
    for (let i = 0; i < N; i++) {
      if (i % (N / 10) === 0) sample(i);
      yield { id: BigInt(i), url: corpus.openmoji(hexes[i % hexes.length]!) };
    }
  }
  try {
    const summary = await client.streamAddImages(items());
    sample(N);
    const stored = Number((await client.stats()).totalImages);
    const seconds = (performance.now() - started) / 1000;
    console.log(`\nMemory over one StreamAddImages of ${N.toLocaleString("en")} items (Milvus Lite, tiny model), ${new Date().toISOString()}`);
    console.log(`added ${summary.added}, failed ${summary.failed}, stored ${stored}, ${(N / seconds).toFixed(0)} items/s, ` +
      `${app.pipeline.times.encoded} encoded (${app.pipeline.times.cacheHits} from the content cache)\n`);
    console.log("| items streamed | seconds | RSS MB | JS heap MB | external + buffers MB |");
    console.log("| --- | --- | --- | --- | --- |");
    console.log(rows.join("\n"));
  } finally {
    client.close();
    await app.close();
    await corpus.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

runBench(main);
