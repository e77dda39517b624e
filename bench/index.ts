/**
 * Index benchmark: the same vectors in one collection per index kind (IVF_FLAT, the seed's; IVF_SQ8;
 * HNSW) on a Milvus standalone, built as svgvec builds them (SVGVEC_INDEX_* defaults), then searched
 * through MilvusStore.search in one interleaved run so that drift hits each alike. Prints the build
 * time, search p50/p99 and recall@k against exact inner-product search computed here.
 *
 * The vectors are clustered (unit vectors near one of --clusters random centres), closer to image
 * embeddings than uniform random vectors, on which no IVF index can find neighbours: there are none
 * to speak of.
 *
 * Usage: npx tsx bench/index.ts [--rows 50000] [--queries 200] [--clusters 500] [--k 10]
 *        [--nprobe 16] [--ef 64] [--types IVF_FLAT,IVF_SQ8,HNSW]
 */
import { parseArgs } from "node:util";
import { MilvusClient } from "@zilliz/milvus2-sdk-node";
import { DEFAULT_INDEX, INDEX_TYPES, type IndexType } from "../src/store/index-spec.js";
import { MILVUS_CHANNEL_OPTIONS, MilvusStore, VECTOR_DIM } from "../src/store/milvus-store.js";
import { benchMilvus, waitForIndex, withoutLogCopy } from "./milvus.js";
import { milvusUsage } from "./milvus-process.js";
import { pct, runBench } from "./run.js";
import { randomUnit } from "./vectors.js";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "50000" },
    queries: { type: "string", default: "200" },
    clusters: { type: "string", default: "500" },
    k: { type: "string", default: "10" },
    nprobe: { type: "string", default: "16" },
    ef: { type: "string", default: "64" },
    types: { type: "string", default: INDEX_TYPES.join(",") },
  },
});
const ROWS = Number(values.rows);
const QUERIES = Number(values.queries);
const CLUSTERS = Number(values.clusters);
const K = Number(values.k);
const NPROBE = Number(values.nprobe);
const EF = Number(values.ef);
const TYPES = values.types!.split(",") as IndexType[];
for (const t of TYPES) if (!(INDEX_TYPES as readonly string[]).includes(t)) throw new Error(`--types: ${t} is not one of ${INDEX_TYPES.join(", ")}`);

/** A unit vector near centre: centre plus noise of about the same norm, normalised. */
function near(centre: readonly number[]): Float32Array {
  const noise = randomUnit();
  const v = new Float32Array(VECTOR_DIM);
  let sum = 0;
  for (let i = 0; i < VECTOR_DIM; i++) {
    v[i] = centre[i]! + 0.8 * noise[i]!;
    sum += v[i]! * v[i]!;
  }
  const n = Math.sqrt(sum);
  for (let i = 0; i < VECTOR_DIM; i++) v[i] = v[i]! / n;
  return v;
}

/** The ids of the k rows with the largest inner product with q (exact). */
function exactTopK(rows: readonly Float32Array[], q: Float32Array, k: number): Set<bigint> {
  const best: Array<[number, number]> = [];
  for (let r = 0; r < rows.length; r++) {
    const v = rows[r]!;
    let dot = 0;
    for (let i = 0; i < VECTOR_DIM; i++) dot += v[i]! * q[i]!;
    if (best.length < k || dot > best[best.length - 1]![0]) {
      best.push([dot, r]);
      best.sort((a, b) => b[0] - a[0]);
      if (best.length > k) best.pop();
    }
  }
  return new Set(best.map(([, r]) => BigInt(r)));
}

async function main(): Promise<void> {
  const milvus = await benchMilvus("standalone", "");
  const client = new MilvusClient({ address: milvus.address, channelOptions: MILVUS_CHANNEL_OPTIONS, logLevel: "error", timeout: 120_000 });
  const centres = Array.from({ length: CLUSTERS }, () => randomUnit());
  const rows = Array.from({ length: ROWS }, () => near(centres[Math.floor(Math.random() * CLUSTERS)]!));
  const queries = Array.from({ length: QUERIES }, () => near(centres[Math.floor(Math.random() * CLUSTERS)]!));
  const truth = queries.map((q) => exactTopK(rows, q, K));
  const stores: Record<string, MilvusStore> = {};
  const built: Record<string, { seconds: number; rssDelta: number; note: string }> = {};
  const stamp = Date.now();
  try {
    for (const type of TYPES) {
      const collection = `bench_index_${type.toLowerCase()}_${stamp}`;
      const rss0 = milvusUsage().rss;
      const store = await MilvusStore.open({ address: milvus.address, token: "", collection, index: { ...DEFAULT_INDEX, type }, searchEf: EF });
      stores[type] = store;
      const now = new Date().toISOString();
      for (let start = 0; start < ROWS; start += 10_000) {
        const data = rows.slice(start, start + 10_000).map((v, i) => ({
          id: String(start + i),
          url: `https://example.com/${start + i}.svg`,
          vector: Array.from(v),
          added_at: now,
          updated_at: now,
        }));
        const res = await client.insert(withoutLogCopy({ collection_name: collection, data }));
        if (res.status.error_code !== "Success") throw new Error(`insert failed: ${res.status.reason}`);
      }
      const t0 = performance.now();
      await store.flush();
      // Bounded: Milvus 2.3.5 can report an IVF_SQ8 index "Finished" over part of the rows and stop there.
      const note = await waitForIndex(milvus.address, collection, ROWS, 180);
      built[type] = { seconds: (performance.now() - t0) / 1000, rssDelta: milvusUsage().rss - rss0, note };
      process.stderr.write(`${type}: ${note}\n`);
    }
    const lat: Record<string, number[]> = Object.fromEntries(TYPES.map((t) => [t, []]));
    const found: Record<string, number> = Object.fromEntries(TYPES.map((t) => [t, 0]));
    for (let round = 0; round < 3; round++) {
      for (let q = 0; q < QUERIES; q++) {
        for (let j = 0; j < TYPES.length; j++) {
          const type = TYPES[(q + j) % TYPES.length]!;
          const s = performance.now();
          const hits = await stores[type]!.search(queries[q]!, K, NPROBE, "bounded");
          lat[type]!.push(performance.now() - s);
          if (round === 0) found[type]! += hits.filter((h) => truth[q]!.has(h.id)).length;
        }
      }
    }
    const info = await stores[TYPES[0]!]!.info();
    console.log(`\nnpx tsx bench/index.ts ${process.argv.slice(2).join(" ")}`.trim());
    console.log(
      `${ROWS.toLocaleString("en")} vectors near ${CLUSTERS} centres, ${QUERIES} queries x 3 rounds, k ${K}, nprobe ${NPROBE}, ef ${EF}, ` +
        `standalone Milvus ${info.version}, ${new Date().toISOString()}; recall@${K} against exact search over the same vectors\n`,
    );
    console.log("| index | build params | flush + build s | index progress | Milvus RSS growth MiB (load + index) | search p50 ms | p99 ms | recall@k |");
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const type of TYPES) {
      const i = await stores[type]!.info();
      console.log(
        `| ${type} | ${JSON.stringify(i.indexParams)} | ${built[type]!.seconds.toFixed(1)} | ${built[type]!.note} | ${(built[type]!.rssDelta / 2 ** 20).toFixed(0)} | ` +
          `${pct(lat[type]!, 50).toFixed(2)} | ${pct(lat[type]!, 99).toFixed(2)} | ${(found[type]! / (QUERIES * K)).toFixed(3)} |`,
      );
    }
  } finally {
    for (const [type, store] of Object.entries(stores)) {
      await client.dropCollection({ collection_name: `bench_index_${type.toLowerCase()}_${stamp}` }).catch(() => undefined);
      await store.close();
    }
    await client.closeConnection().catch(() => undefined);
    await milvus.stop();
  }
}

runBench(main);
