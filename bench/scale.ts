/**
 * Scale benchmark (issue 14): loads --rows random unit vectors into a Milvus standalone with the SDK's
 * insert (the ids are new, so no upsert's delete-then-insert), several batches in flight, waits for
 * the index, then measures side by side, interleaved so that drift hits each alike:
 *   - the bare text encoder,
 *   - a bare Milvus search that returns no fields (ids and scores only),
 *   - the same search with output_fields ["id", "url"], as MilvusStore.search sends it,
 *   - MilvusStore.search itself,
 *   - ImageService.search in-process (encoder batcher, search slots, store; no gRPC),
 *   - svgvec Search over gRPC under ghz,
 * at concurrency 1 and 4, and ListImages over every record through grpc-js (records per second,
 * peak RSS). The server runs in this process, so the RSS covers server and client together.
 *
 * Usage: see --help. Needs ghz (go install github.com/bojand/ghz/cmd/ghz@v0.120.0).
 */
import { rm, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ConsistencyLevelEnum, MilvusClient, type RowData } from "@zilliz/milvus2-sdk-node";
import { startApp } from "../src/app.js";
import { ClipModel } from "../src/clip/clip.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/log.js";
import { readModelDir } from "../src/models/model-dir.js";
import { INDEX, MILVUS_CHANNEL_OPTIONS, MilvusStore, VECTOR_DIM } from "../src/store/milvus-store.js";
import { SvgVecClient } from "../test/helpers/grpc-client.js";
import { ghz } from "../test/helpers/ghz.js";
import { benchMilvus, waitForIndex } from "./milvus.js";
import { MODEL_USAGE, benchModelDir, describeModel } from "./model-kind.js";
import { pct, runBench } from "./run.js";

const USAGE = `Usage: npx tsx bench/scale.ts [--rows 1000000] [--insert-batch 10000] [--in-flight 4 | 1,4]
       [--consistency bounded|strong] [--requests 400] [--samples 200] [--list-page-size 0 (server default)]
       [--milvus standalone|lite]
       ${MODEL_USAGE} [--text-sessions N]
Loads --rows random unit vectors with Milvus insert (--in-flight batches at once; a list such as 1,4
splits the rows evenly and times each part at its level), flushes and waits for the index, then
prints the load rate, the index wait, search p50/p99 at concurrency 1 and 4 for the bare parts
(text encoder; Milvus search without and with output_fields id,url; MilvusStore.search), for
ImageService.search in-process and for svgvec Search under ghz, and ListImages throughput over all
rows with the process's peak RSS (server and client share this process).
--milvus standalone uses the one at SVGVEC_TEST_STANDALONE_ADDRESS if set, else starts one.
`;

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    "insert-batch": { type: "string", default: "10000" },
    "in-flight": { type: "string", default: "4" },
    consistency: { type: "string", default: "bounded" },
    requests: { type: "string", default: "400" },
    samples: { type: "string", default: "200" },
    "list-page-size": { type: "string", default: "0" },
    milvus: { type: "string", default: "standalone" },
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

function positiveInt(name: string, raw: string | undefined, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be a whole number from 1 to ${max}, not "${raw}"`);
  return n;
}
const ROWS = positiveInt("rows", values.rows, 100_000_000);
// Milvus refuses a message over its 64 MiB gRPC limit; 2 KiB of vector per row keeps 16,384 under it.
const INSERT_BATCH = positiveInt("insert-batch", values["insert-batch"], 16_384);
const IN_FLIGHT = values["in-flight"]!.split(",").map((s) => positiveInt("in-flight", s, 64));
const REQUESTS = positiveInt("requests", values.requests, 1_000_000);
const SAMPLES = positiveInt("samples", values.samples, 100_000);
// 0 leaves the page size to the server (1,000): each page is one Strong query, so pages per second bound the rate.
const LIST_PAGE_SIZE = values["list-page-size"] === "0" ? 0 : positiveInt("list-page-size", values["list-page-size"], 16_384);
if (values.consistency !== "bounded" && values.consistency !== "strong") {
  throw new Error(`--consistency must be bounded or strong, not "${values.consistency}"`);
}
const CONSISTENCY: "bounded" | "strong" = values.consistency;
const CONCURRENCY = [1, 4] as const;
const K = 10;
const NPROBE = 16;
const TEXT_SESSIONS =
  values["text-sessions"] === undefined ? loadConfig({ ...process.env }).model.textSessions : positiveInt("text-sessions", values["text-sessions"], 64);


function randomUnit(): number[] {
  const v = new Array<number>(VECTOR_DIM);
  let sum = 0;
  for (let i = 0; i < VECTOR_DIM; i++) {
    const x = Math.random() - 0.5;
    v[i] = x;
    sum += x * x;
  }
  const n = Math.sqrt(sum);
  for (let i = 0; i < VECTOR_DIM; i++) v[i] = v[i]! / n;
  return v;
}

let textSerial = 0;
/** A text never encoded before, of the same form (and token count) as the ones ghz sends. */
const freshText = (): string => `icon ${textSerial++} of load 99 at ${Date.now()}`;

interface Timed {
  lat: number[];
  seconds: number;
}

/**
 * Runs samples rounds over concurrency workers; each round calls every fn once, in an order that
 * rotates, so the fns share the machine's state alike. Returns each fn's latencies.
 */
async function interleaved(fns: Record<string, () => Promise<unknown>>, samples: number, concurrency: number): Promise<Record<string, Timed>> {
  const names = Object.keys(fns);
  const out: Record<string, Timed> = Object.fromEntries(names.map((n) => [n, { lat: [], seconds: 0 }]));
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let round = next++; round < samples; round = next++) {
        for (let j = 0; j < names.length; j++) {
          const name = names[(round + j) % names.length]!;
          const s = performance.now();
          await fns[name]!();
          out[name]!.lat.push(performance.now() - s);
        }
      }
    }),
  );
  for (const n of names) out[n]!.seconds = (performance.now() - t0) / 1000;
  return out;
}

/** Inserts rows [from, to) in batches of INSERT_BATCH, inFlight at once; returns seconds taken. */
async function insertRange(
  client: MilvusClient,
  collection: string,
  from: number,
  to: number,
  inFlight: number,
  now: string,
): Promise<{ seconds: number; clientCpu: number; buildSeconds: number }> {
  let next = from;
  let buildMs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let start = next; start < to; start = next) {
        next = Math.min(to, start + INSERT_BATCH);
        const b0 = performance.now();
        const data: RowData[] = [];
        for (let i = start; i < next; i++) {
          data.push({ id: String(i), url: `https://example.com/${i}.svg`, vector: randomUnit(), added_at: now, updated_at: now });
        }
        buildMs += performance.now() - b0;
        const res = await client.insert({ collection_name: collection, data });
        if (res.status.error_code !== "Success" || Number(res.insert_cnt) !== data.length) {
          throw new Error(`insert of rows ${start}..${next - 1} failed: ${res.status.reason || res.status.error_code}, ${res.insert_cnt} inserted`);
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // This process's CPU (all threads) over the wall time: near 1 means the client, not Milvus, limits the load.
  return { seconds, clientCpu: (cpu.user + cpu.system) / 1e6 / seconds, buildSeconds: buildMs / 1000 };
}

interface GhzResult {
  p50: number;
  p99: number;
  qps: number;
  errors: number;
}

async function ghzText(address: string, concurrency: number, requests: number): Promise<GhzResult> {
  const run = `${Date.now()}-${concurrency}-${requests}`;
  const r = await ghz(address, {
    call: "svgvec.v1.SvgVecService/Search",
    data: `{"text": "icon {{.RequestNumber}} of load ${run}", "k": ${K}}`,
    requests,
    concurrency,
  });
  const at = (p: number) => (r.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? NaN) / 1e6;
  const errors = Object.entries(r.statusCodeDistribution).filter(([k]) => k !== "OK").reduce((a, [, n]) => a + n, 0);
  return { p50: at(50), p99: at(99), qps: r.rps, errors };
}

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);

async function main(): Promise<void> {
  const modelDir = await benchModelDir(values.model, values.batch);
  const dataDir = await mkdtemp(join(tmpdir(), "svgvec-scale-"));
  const milvus = await benchMilvus(values.milvus, dataDir);
  const collection = `scale_${ROWS}_${Date.now()}`;
  const out: string[] = [];
  const client = new MilvusClient({ address: milvus.address, channelOptions: MILVUS_CHANNEL_OPTIONS, logLevel: "error", timeout: 120_000 });
  let store: MilvusStore | undefined;
  try {
    // Bare text encoder, alone (no other work competes), then released before the server loads its own.
    const model = await ClipModel.load(await readModelDir({ dir: modelDir, name: "", pretrained: "" }), 0, TEXT_SESSIONS);
    const modelLine = await describeModel(modelDir, model.info);
    for (let i = 0; i < 5; i++) await model.embedText(freshText());
    const encoder: Record<number, Timed> = {};
    for (const c of CONCURRENCY) encoder[c] = (await interleaved({ encoder: () => model.embedText(freshText()) }, SAMPLES / 2, c)).encoder!;
    await model.release();

    // The collection, its index and load as svgvec makes them; then rows straight through the SDK.
    store = await MilvusStore.open({ address: milvus.address, token: "", collection });
    const now = new Date().toISOString();
    const loads: Array<{ inFlight: number; rows: number; seconds: number; clientCpu: number; buildSeconds: number }> = [];
    for (let p = 0; p < IN_FLIGHT.length; p++) {
      const from = Math.floor((ROWS * p) / IN_FLIGHT.length);
      const to = Math.floor((ROWS * (p + 1)) / IN_FLIGHT.length);
      loads.push({ inFlight: IN_FLIGHT[p]!, rows: to - from, ...(await insertRange(client, collection, from, to, IN_FLIGHT[p]!, now)) });
    }
    const loadSeconds = loads.reduce((a, l) => a + l.seconds, 0);
    let t0 = performance.now();
    await store.flush();
    const flushSeconds = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const indexNote = await waitForIndex(milvus.address, collection, ROWS);
    const indexSeconds = (performance.now() - t0) / 1000;
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
        metric_type: INDEX.metric,
        params: { nprobe: store!.nprobeFor(NPROBE) },
        // An empty list, not none: the SDK turns a missing output_fields into ["*"].
        output_fields: outputFields,
        consistency_level: level,
      });
      if (res.status.error_code !== "Success" || res.results.length !== K) throw new Error(`search failed: ${res.status.reason} (${res.results.length} hits)`);
    };
    const storeForSearch = store;
    const milvusParts: Record<string, () => Promise<unknown>> = {
      "Milvus search, no output fields": rawSearch([]),
      'Milvus search, output_fields ["id","url"]': rawSearch(["id", "url"]),
      "MilvusStore.search (svgvec's call)": () => storeForSearch.search(randomUnit(), K, NPROBE, CONSISTENCY),
    };
    await interleaved(milvusParts, 20, 1);
    const milvusTimes: Record<number, Record<string, Timed>> = {};
    for (const c of CONCURRENCY) milvusTimes[c] = await interleaved(milvusParts, SAMPLES, c);

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
          `${parts === undefined ? "" : (pct(t.lat, 50) / parts).toFixed(2)} |`,
      );
    let listLine = "";
    try {
      // In-process service search: the same path as the RPC without gRPC, protobuf or ghz.
      const service = app.service;
      await interleaved({ s: () => service.search(freshText(), K) }, 10, 1);
      const serviceTimes: Record<number, Timed> = {};
      for (const c of CONCURRENCY) serviceTimes[c] = (await interleaved({ s: () => service.search(freshText(), K) }, SAMPLES / 2, c)).s!;
      await ghzText(app.address, 1, 20); // warm-up
      const ghzTimes: Record<number, GhzResult> = {};
      for (const c of CONCURRENCY) ghzTimes[c] = await ghzText(app.address, c, REQUESTS);

      for (const c of CONCURRENCY) {
        const parts = pct(encoder[c]!.lat, 50) + pct(milvusTimes[c]!["MilvusStore.search (svgvec's call)"]!.lat, 50);
        row("text encoder (bare)", c, encoder[c]!);
        for (const [name, t] of Object.entries(milvusTimes[c]!)) row(name, c, t);
        row("ImageService.search in-process (text)", c, serviceTimes[c]!, parts);
        const g = ghzTimes[c]!;
        rows.push(
          `| svgvec Search over gRPC (ghz, text)${g.errors > 0 ? `, ${g.errors} errors` : ""} | ${c} | ${REQUESTS} | ${g.p50.toFixed(1)} | ${g.p99.toFixed(1)} | ` +
            `${g.qps.toFixed(1)} | ${(g.p50 / parts).toFixed(2)} |`,
        );
      }

      // ListImages over every record, default page size; RSS sampled while it streams.
      const rssBefore = process.memoryUsage().rss;
      const maxBefore = process.resourceUsage().maxRSS * 1024;
      let peakRss = rssBefore;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
      const grpcClient = new SvgVecClient(app.address, { channel: { "grpc.max_receive_message_length": 64 * 2 ** 20 } });
      let listed = 0;
      let pages = 0;
      t0 = performance.now();
      try {
        for await (const page of grpcClient.listImages({ pageSize: LIST_PAGE_SIZE })) {
          listed += page.images.length;
          pages++;
        }
      } finally {
        clearInterval(sampler);
        grpcClient.close();
      }
      const listSeconds = (performance.now() - t0) / 1000;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      if (listed !== ROWS) throw new Error(`ListImages streamed ${listed} records, not ${ROWS}`);
      const maxAfter = process.resourceUsage().maxRSS * 1024;
      listLine =
        `ListImages (no vectors, page size ${LIST_PAGE_SIZE === 0 ? "server default" : LIST_PAGE_SIZE}) over ${listed.toLocaleString("en")} records in ${pages} pages: ${listSeconds.toFixed(1)} s, ` +
        `${(listed / listSeconds).toFixed(0)} records/s; RSS ${mib(rssBefore)} MiB before, peak ${mib(peakRss)} MiB while listing; ` +
        `process peak RSS ${mib(maxBefore)} MiB before the listing, ${mib(maxAfter)} MiB after ` +
        `(server, client, encoder threads and the load all live in this one process)`;
    } finally {
      await app.close();
    }

    const cmd = `npx tsx bench/scale.ts ${process.argv.slice(2).join(" ")}`.trim();
    out.push(`\n${cmd}`);
    out.push(
      `${ROWS.toLocaleString("en")} vectors, ${values.milvus} Milvus ${info.version} at ${milvus.address} (${info.indexType} ${JSON.stringify(info.indexParams)}, ` +
        `nprobe ${NPROBE}, k ${K}, ${CONSISTENCY} consistency), ${new Date().toISOString()}`,
    );
    out.push(`${modelLine}; ${TEXT_SESSIONS} text session(s)`);
    out.push(
      `load: insert, ${INSERT_BATCH} rows a call: ` +
        loads
          .map(
            (l) =>
              `${l.rows.toLocaleString("en")} rows at ${l.inFlight} in flight ${l.seconds.toFixed(1)} s = ${(l.rows / l.seconds).toFixed(0)} rows/s ` +
              `(client CPU ${l.clientCpu.toFixed(2)} cores, ${l.buildSeconds.toFixed(1)} s of it making rows)`,
          )
          .join("; ") +
        `; all ${(ROWS / loadSeconds).toFixed(0)} rows/s. flush ${flushSeconds.toFixed(1)} s; index wait after flush ${indexSeconds.toFixed(1)} s (${indexNote})`,
    );
    out.push(listLine);
    out.push(
      `parts = text encoder p50 + MilvusStore.search p50 at the same concurrency; per s = calls per second of the run ` +
        `(the three Milvus rows share one interleaved run, so each gets a third of it)\n`,
    );
    out.push("| measurement | concurrency | n | p50 ms | p99 ms | per s | p50 / parts |");
    out.push("| --- | --- | --- | --- | --- | --- | --- |");
    out.push(...rows);
    console.log(out.join("\n"));
  } finally {
    await store?.close();
    await client.closeConnection().catch(() => undefined);
    // Drop the collection: a million rows would otherwise stay in the standalone's memory.
    const dropper = new MilvusClient({ address: milvus.address, channelOptions: MILVUS_CHANNEL_OPTIONS, logLevel: "error" });
    await dropper.dropCollection({ collection_name: collection }).catch(() => undefined);
    await dropper.closeConnection().catch(() => undefined);
    await milvus.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

runBench(main);
