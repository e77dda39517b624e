/**
 * Scale benchmark (issue 14). Loads --rows random unit vectors into a Milvus standalone with the
 * SDK's insert (the ids are new, so no upsert's delete-then-insert) from --loaders processes, several
 * batches in flight each; flushes, compacts and waits for the index and for Milvus to go idle; then
 * measures side by side, interleaved so that drift hits each alike:
 *   - the bare text encoder (a model of its own, in this process),
 *   - a bare Milvus search that returns no fields, and the same with output_fields ["id", "url"],
 *   - MilvusStore.search (svgvec's call),
 *   - ImageService.search in-process (encoder batcher, search slots, store; no gRPC),
 *   - svgvec Search over gRPC from a grpc-js client in this process,
 * at concurrency 1 and 4, with Milvus's CPU in cores during each run; then svgvec Search under ghz
 * (a client of its own) and ListImages over every record from a client process (records per second,
 * peak RSS of the client, of this process, which holds the svgvec server, and of Milvus).
 *
 * Usage: see --help. Needs ghz (go install github.com/bojand/ghz/cmd/ghz@v0.120.0).
 */
import { rm, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ConsistencyLevelEnum, MilvusClient } from "@zilliz/milvus2-sdk-node";
import { startApp } from "../src/app.js";
import { ClipModel } from "../src/clip/clip.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/log.js";
import { readModelDir } from "../src/models/model-dir.js";
import { METRIC, MILVUS_CHANNEL_OPTIONS, MilvusStore } from "../src/store/milvus-store.js";
import { SvgVecClient } from "../test/helpers/grpc-client.js";
import { ghz } from "../test/helpers/ghz.js";
import { runChild } from "./child.js";
import type { InsertDone, InsertJob } from "./insert-child.js";
import type { ListDone, ListJob } from "./list-child.js";
import { benchMilvus, waitForIndex } from "./milvus.js";
import { milvusCpu, milvusUsage } from "./milvus-process.js";
import { MODEL_USAGE, benchModelDir, describeModel } from "./model-kind.js";
import { pct, runBench } from "./run.js";
import { randomUnit } from "./vectors.js";

const USAGE = `Usage: npx tsx bench/scale.ts [--rows 1000000] [--insert-batch 10000] [--loaders 2 | 1,2] [--in-flight 2]
       [--consistency bounded|strong] [--requests 400] [--samples 200] [--list-page-size 0 (server default)]
       [--milvus standalone|lite] [--keep] [--collection NAME] [--no-settle]
       ${MODEL_USAGE} [--text-sessions N]
Loads --rows random unit vectors with Milvus insert from --loaders processes (--in-flight batches at
once in each; a list such as 1,2 splits the rows evenly and times each part at its level), flushes,
compacts, waits for the index and for Milvus to go idle, then prints the load rate, the index wait,
search p50/p99 at concurrency 1 and 4 for the bare parts (text encoder; Milvus search without and with
output_fields id,url; MilvusStore.search), ImageService.search in-process, svgvec Search over gRPC
(grpc-js in this process, and ghz), each with Milvus's CPU during its run, and ListImages over all
rows from a client process with the peak RSS of client, server and Milvus.
--milvus standalone uses the one at SVGVEC_TEST_STANDALONE_ADDRESS if set, else starts one.
--keep leaves the collection in Milvus (its name is printed) instead of dropping it; --collection NAME
measures a kept one (of --rows rows) again without loading it. --no-settle measures as soon as the
index is built, without the compaction and the wait for Milvus to go idle.
`;

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    "insert-batch": { type: "string", default: "10000" },
    loaders: { type: "string", default: "2" },
    "in-flight": { type: "string", default: "2" },
    consistency: { type: "string", default: "bounded" },
    requests: { type: "string", default: "400" },
    samples: { type: "string", default: "200" },
    "list-page-size": { type: "string", default: "0" },
    milvus: { type: "string", default: "standalone" },
    keep: { type: "boolean", default: false },
    collection: { type: "string" },
    "no-settle": { type: "boolean", default: false },
    model: { type: "string" },
    batch: { type: "string", default: "1" },
    "text-sessions": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help === true) {
  process.stdout.write(USAGE);
  process.exit(0);
}

function usageError(message: string): never {
  process.stderr.write(`bench/scale.ts: ${message}\n${USAGE}`);
  process.exit(2);
}

function positiveInt(name: string, raw: string | undefined, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) usageError(`--${name} must be a whole number from 1 to ${max}, not "${raw}"`);
  return n;
}

/** A line on stderr as each phase starts: a million-row run takes about half an hour. */
function progress(what: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${what}\n`);
}
const ROWS = positiveInt("rows", values.rows, 100_000_000);
// Milvus refuses a message over its 64 MiB gRPC limit; 2 KiB of vector per row keeps 16,384 under it.
const INSERT_BATCH = positiveInt("insert-batch", values["insert-batch"], 16_384);
const LOADERS = values.loaders!.split(",").map((s) => positiveInt("loaders", s, 64));
const IN_FLIGHT = positiveInt("in-flight", values["in-flight"], 64);
const REQUESTS = positiveInt("requests", values.requests, 1_000_000);
const SAMPLES = positiveInt("samples", values.samples, 100_000);
// 0 leaves the page size to the server (1,000).
const LIST_PAGE_SIZE = values["list-page-size"] === "0" ? 0 : positiveInt("list-page-size", values["list-page-size"], 16_384);
if (values.consistency !== "bounded" && values.consistency !== "strong") {
  usageError(`--consistency must be bounded or strong, not "${values.consistency}"`);
}
const CONSISTENCY: "bounded" | "strong" = values.consistency;
const CONCURRENCY = [1, 4] as const;
const K = 10;
const NPROBE = 16;
const TEXT_SESSIONS =
  values["text-sessions"] === undefined ? loadConfig({ ...process.env }).model.textSessions : positiveInt("text-sessions", values["text-sessions"], 64);
// Milvus counts as idle below this many cores, averaged over IDLE_WINDOW_MS.
const IDLE_CORES = 0.15;
const IDLE_WINDOW_MS = 10_000;
const IDLE_MAX_MS = 900_000;

let textSerial = 0;
/** A text never encoded before, of the same form (and token count) as the ones ghz sends. */
const freshText = (): string => `icon ${textSerial++} of load 99 at ${Date.now()}`;

interface Timed {
  lat: number[];
  seconds: number;
  /** Milvus's CPU in cores over the run this timing came from. */
  milvusCores: number;
}

/**
 * Runs samples rounds over concurrency workers; each round calls every fn once, in an order that
 * rotates, so the fns share the machine's state alike. Returns each fn's latencies.
 */
async function interleaved(fns: Record<string, () => Promise<unknown>>, samples: number, concurrency: number): Promise<Record<string, Timed>> {
  const names = Object.keys(fns);
  const lat: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  let next = 0;
  const cores = milvusCpu();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let round = next++; round < samples; round = next++) {
        for (let j = 0; j < names.length; j++) {
          const name = names[(round + j) % names.length]!;
          const s = performance.now();
          await fns[name]!();
          lat[name]!.push(performance.now() - s);
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const milvusCores = cores();
  return Object.fromEntries(names.map((n) => [n, { lat: lat[n]!, seconds, milvusCores }]));
}

/** Waits until Milvus's CPU stays under IDLE_CORES for a window: compaction and index builds done. */
async function waitForIdle(): Promise<string> {
  const t0 = performance.now();
  for (;;) {
    const cores = milvusCpu();
    await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
    const c = cores();
    const waited = (performance.now() - t0) / 1000;
    if (!(c >= IDLE_CORES)) return `idle (${c.toFixed(2)} cores over ${IDLE_WINDOW_MS / 1000} s) after ${waited.toFixed(0)} s`;
    if (performance.now() - t0 > IDLE_MAX_MS) return `still busy (${c.toFixed(2)} cores) after ${waited.toFixed(0)} s; measured anyway`;
  }
}

/** Asks Milvus to compact the collection now and waits for it, so that merges do not run during the measurements. */
async function compact(client: MilvusClient, collection: string): Promise<string> {
  const t0 = performance.now();
  const res = await client.compact({ collection_name: collection });
  if (res.status.error_code !== "Success") return `compaction refused: ${res.status.reason}`;
  for (;;) {
    const s = await client.getCompactionState({ compactionID: res.compactionID });
    if (s.status.error_code !== "Success") return `compaction state not reported: ${s.status.reason}`;
    const seconds = (performance.now() - t0) / 1000;
    if (String(s.state) === "Completed") return `compaction ${seconds.toFixed(0)} s`;
    if (seconds > 900) return `compaction still ${String(s.state)} after ${seconds.toFixed(0)} s`;
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

interface GhzResult {
  p50: number;
  p99: number;
  qps: number;
  errors: number;
  milvusCores: number;
}

async function ghzText(address: string, concurrency: number, requests: number): Promise<GhzResult> {
  const run = `${Date.now()}-${concurrency}-${requests}`;
  const cores = milvusCpu();
  const r = await ghz(address, {
    call: "svgvec.v1.SvgVecService/Search",
    data: `{"text": "icon {{.RequestNumber}} of load ${run}", "k": ${K}}`,
    requests,
    concurrency,
  });
  const at = (p: number) => (r.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? NaN) / 1e6;
  const errors = Object.entries(r.statusCodeDistribution).filter(([k]) => k !== "OK").reduce((a, [, n]) => a + n, 0);
  return { p50: at(50), p99: at(99), qps: r.rps, errors, milvusCores: cores() };
}

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);

interface LoadPart {
  loaders: number;
  rows: number;
  seconds: number;
  clientCpu: number;
  buildSeconds: number;
  milvusCores: number;
}

/** Inserts rows [from, to) from loaders processes, each a contiguous share; returns the part's numbers. */
async function load(address: string, collection: string, from: number, to: number, loaders: number, now: string): Promise<LoadPart> {
  const cores = milvusCpu();
  const t0 = performance.now();
  const done = await Promise.all(
    Array.from({ length: loaders }, (_, i) =>
      runChild<InsertJob, InsertDone>("./insert-child.ts", {
        address,
        collection,
        from: from + Math.floor(((to - from) * i) / loaders),
        to: from + Math.floor(((to - from) * (i + 1)) / loaders),
        batch: INSERT_BATCH,
        inFlight: IN_FLIGHT,
        now,
      }),
    ),
  );
  const seconds = (performance.now() - t0) / 1000;
  return {
    loaders,
    rows: to - from,
    seconds,
    clientCpu: done.reduce((a, d) => a + d.cpu * d.seconds, 0) / seconds,
    buildSeconds: done.reduce((a, d) => a + d.buildSeconds, 0),
    milvusCores: cores(),
  };
}

async function main(): Promise<void> {
  const modelDir = await benchModelDir(values.model, values.batch);
  const dataDir = await mkdtemp(join(tmpdir(), "svgvec-scale-"));
  const milvus = await benchMilvus(values.milvus, dataDir);
  const collection = values.collection ?? `scale_${ROWS}_${Date.now()}`;
  const keep = values.keep || values.collection !== undefined;
  const out: string[] = [];
  const client = new MilvusClient({ address: milvus.address, channelOptions: MILVUS_CHANNEL_OPTIONS, logLevel: "error", timeout: 120_000 });
  let store: MilvusStore | undefined;
  let model: ClipModel | undefined;
  try {
    // The bare text encoder: a model of its own beside the server's, idle while the other fns run.
    model = await ClipModel.load(await readModelDir({ dir: modelDir, name: "", pretrained: "" }), 0, TEXT_SESSIONS);
    const modelLine = await describeModel(modelDir, model.info);
    for (let i = 0; i < 5; i++) await model.embedText(freshText());

    // The collection, its index and load as svgvec makes them; then rows straight through the SDK.
    store = await MilvusStore.open({ address: milvus.address, token: "", collection });
    let loadLine: string;
    if (values.collection === undefined) {
      const now = new Date().toISOString();
      const loads: LoadPart[] = [];
      for (let p = 0; p < LOADERS.length; p++) {
        const from = Math.floor((ROWS * p) / LOADERS.length);
        const to = Math.floor((ROWS * (p + 1)) / LOADERS.length);
        progress(`loading rows ${from} to ${to - 1} from ${LOADERS[p]} loader process(es)`);
      loads.push(await load(milvus.address, collection, from, to, LOADERS[p]!, now));
      }
      const loadSeconds = loads.reduce((a, l) => a + l.seconds, 0);
      progress("flushing, then waiting for the index");
      let t0 = performance.now();
      await store.flush();
      const flushSeconds = (performance.now() - t0) / 1000;
      t0 = performance.now();
      const indexNote = await waitForIndex(milvus.address, collection, ROWS);
      const indexSeconds = (performance.now() - t0) / 1000;
      if (!values["no-settle"]) progress("compacting, then waiting for Milvus to go idle (background index builds)");
      const settleNote = values["no-settle"]
        ? "measured without compaction or waiting for Milvus to go idle (--no-settle)"
        : `${await compact(client, collection)}; then ${await waitForIndex(milvus.address, collection, ROWS)}; Milvus ${await waitForIdle()}`;
      loadLine =
        `load: insert, ${INSERT_BATCH} rows a call, ${IN_FLIGHT} in flight per loader process: ` +
        loads
          .map(
            (l) =>
              `${l.rows.toLocaleString("en")} rows from ${l.loaders} loader(s) ${l.seconds.toFixed(1)} s = ${(l.rows / l.seconds).toFixed(0)} rows/s ` +
              `(loaders' CPU ${l.clientCpu.toFixed(2)} cores, ${l.buildSeconds.toFixed(1)} s of it making rows; Milvus ${l.milvusCores.toFixed(2)} cores)`,
          )
          .join("; ") +
        `; all ${(ROWS / loadSeconds).toFixed(0)} rows/s. flush ${flushSeconds.toFixed(1)} s; index wait after flush ${indexSeconds.toFixed(1)} s (${indexNote}); ` +
        settleNote;
    } else {
      loadLine = `collection ${collection} loaded before; ${values["no-settle"] ? "measured at once (--no-settle)" : `Milvus ${await waitForIdle()}`}`;
    }
    const afterLoad = milvusUsage();
    const count = await store.count();
    if (count !== ROWS) throw new Error(`the collection counts ${count} rows after the load, not ${ROWS}`);
    const info = await store.info();

    const level = CONSISTENCY === "strong" ? ConsistencyLevelEnum.Strong : ConsistencyLevelEnum.Bounded;
    const rawSearch = (outputFields: string[]) => async () => {
      const res = await client.search({
        collection_name: collection,
        data: [randomUnit()],
        anns_field: "vector",
        limit: K,
        metric_type: METRIC,
        params: store!.searchParams(K, NPROBE),
        // An empty list, not none: the SDK turns a missing output_fields into ["*"].
        output_fields: outputFields,
        consistency_level: level,
      });
      if (res.status.error_code !== "Success" || res.results.length !== K) throw new Error(`search failed: ${res.status.reason} (${res.results.length} hits)`);
    };

    const config = loadConfig({
      ...process.env,
      SVGVEC_LISTEN: "127.0.0.1:0",
      SVGVEC_MILVUS_ADDRESS: milvus.address,
      SVGVEC_COLLECTION: collection,
      SVGVEC_MODEL_DIR: modelDir,
      SVGVEC_LOG_LEVEL: "error",
      SVGVEC_SEARCH_CONSISTENCY: CONSISTENCY,
      SVGVEC_TEXT_SESSIONS: String(TEXT_SESSIONS),
    });
    const app = await startApp(config, createLogger("error"));
    const rows: string[] = [];
    const row = (what: string, c: number, t: Timed, parts?: number) =>
      rows.push(
        `| ${what} | ${c} | ${t.lat.length} | ${pct(t.lat, 50).toFixed(1)} | ${pct(t.lat, 99).toFixed(1)} | ${(t.lat.length / t.seconds).toFixed(1)} | ` +
          `${t.milvusCores.toFixed(2)} | ${parts === undefined ? "" : (pct(t.lat, 50) / parts).toFixed(2)} |`,
      );
    let listLine = "";
    const grpcClient = new SvgVecClient(app.address);
    try {
      const service = app.service;
      const storeForSearch = store;
      const bareModel = model;
      const fns: Record<string, () => Promise<unknown>> = {
        "text encoder (bare)": () => bareModel.embedText(freshText()),
        "Milvus search, no output fields": rawSearch([]),
        'Milvus search, output_fields ["id","url"]': rawSearch(["id", "url"]),
        "MilvusStore.search (svgvec's call)": () => storeForSearch.search(randomUnit(), K, NPROBE, CONSISTENCY),
        "ImageService.search in-process (text)": () => service.search(freshText(), K),
        "svgvec Search over gRPC (grpc-js, text)": () => grpcClient.search({ text: freshText(), k: K }),
      };
      progress("measuring search at concurrency 1 and 4");
      await interleaved(fns, 10, 1);
      const times: Record<number, Record<string, Timed>> = {};
      for (const c of CONCURRENCY) times[c] = await interleaved(fns, SAMPLES, c);
      progress("svgvec Search under ghz");
      await ghzText(app.address, 1, 20); // warm-up
      const ghzTimes: Record<number, GhzResult> = {};
      for (const c of CONCURRENCY) ghzTimes[c] = await ghzText(app.address, c, REQUESTS);

      for (const c of CONCURRENCY) {
        const t = times[c]!;
        const parts = pct(t["text encoder (bare)"]!.lat, 50) + pct(t["MilvusStore.search (svgvec's call)"]!.lat, 50);
        for (const [name, timed] of Object.entries(t)) row(name, c, timed, name.startsWith("ImageService") || name.startsWith("svgvec") ? parts : undefined);
        const g = ghzTimes[c]!;
        rows.push(
          `| svgvec Search over gRPC (ghz, text, alone)${g.errors > 0 ? `, ${g.errors} errors` : ""} | ${c} | ${REQUESTS} | ${g.p50.toFixed(1)} | ${g.p99.toFixed(1)} | ` +
            `${g.qps.toFixed(1)} | ${g.milvusCores.toFixed(2)} | ${(g.p50 / parts).toFixed(2)} |`,
        );
      }

      progress("ListImages over every record");
      // ListImages over every record from a client process; this process (the server) and Milvus sampled meanwhile.
      const rssBefore = process.memoryUsage().rss;
      const milvusBefore = milvusUsage().rss;
      let peakServer = rssBefore;
      let peakMilvus = milvusBefore;
      const sampler = setInterval(() => {
        peakServer = Math.max(peakServer, process.memoryUsage().rss);
        peakMilvus = Math.max(peakMilvus, milvusUsage().rss);
      }, 100);
      let listed: ListDone;
      try {
        listed = await runChild<ListJob, ListDone>("./list-child.ts", { address: app.address, pageSize: LIST_PAGE_SIZE });
      } finally {
        clearInterval(sampler);
      }
      if (listed.listed !== ROWS) throw new Error(`ListImages streamed ${listed.listed} records, not ${ROWS}`);
      listLine =
        `ListImages (no vectors, page size ${LIST_PAGE_SIZE === 0 ? "server default" : LIST_PAGE_SIZE}) over ${listed.listed.toLocaleString("en")} records in ` +
        `${listed.pages} pages: ${listed.seconds.toFixed(1)} s, ${(listed.listed / listed.seconds).toFixed(0)} records/s; peak RSS: client process ${mib(listed.peakRss)} MiB, ` +
        `svgvec server process ${mib(peakServer)} MiB (${mib(rssBefore)} before; it also holds the bare encoder), Milvus ${mib(peakMilvus)} MiB (${mib(milvusBefore)} before)`;
    } finally {
      grpcClient.close();
      await app.close();
    }

    const cmd = `npx tsx bench/scale.ts ${process.argv.slice(2).join(" ")}`.trim();
    out.push(`\n${cmd}`);
    out.push(
      `${ROWS.toLocaleString("en")} vectors, ${values.milvus} Milvus ${info.version} at ${milvus.address} (${info.indexType} ${JSON.stringify(info.indexParams)}, ` +
        `nprobe ${NPROBE}, k ${K}, ${CONSISTENCY} consistency), ${new Date().toISOString()}`,
    );
    out.push(`${modelLine}; ${TEXT_SESSIONS} text session(s)`);
    out.push(`${loadLine}; Milvus RSS then ${mib(afterLoad.rss)} MiB`);
    out.push(listLine);
    out.push(
      `parts = text encoder p50 + MilvusStore.search p50 in the same run; per s = calls per second of the run ` +
        `(the rows of one concurrency share one interleaved run); Milvus cores = the Milvus server's CPU during that run\n`,
    );
    out.push("| measurement | concurrency | n | p50 ms | p99 ms | per s | Milvus cores | p50 / parts |");
    out.push("| --- | --- | --- | --- | --- | --- | --- | --- |");
    out.push(...rows);
    console.log(out.join("\n"));
  } finally {
    await model?.release();
    await store?.close();
    await client.closeConnection().catch(() => undefined);
    if (keep) {
      console.log(`collection ${collection} kept`);
    } else {
      // Drop the collection: a million rows would otherwise stay in the standalone's memory.
      const dropper = new MilvusClient({ address: milvus.address, channelOptions: MILVUS_CHANNEL_OPTIONS, logLevel: "error" });
      await dropper.dropCollection({ collection_name: collection }).catch(() => undefined);
      await dropper.closeConnection().catch(() => undefined);
    }
    await milvus.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

runBench(main);
