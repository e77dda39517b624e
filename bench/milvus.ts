/**
 * The Milvus a benchmark runs against: an embedded Lite of its own, or a
 * standalone. SVGVEC_TEST_STANDALONE_ADDRESS names one that already runs (as
 * for the tests: only one fits a machine); otherwise one is started and stopped.
 */
import { type InsertReq, MilvusClient } from "@zilliz/milvus2-sdk-node";
import { MilvusLite } from "../src/store/milvus-lite.js";
import { MILVUS_CHANNEL_OPTIONS } from "../src/store/milvus-store.js";
import { startStandalone } from "../test/helpers/milvus.js";
import { python } from "../test/helpers/models.js";

export interface BenchMilvus {
  address: string;
  stop(): Promise<void>;
}

export async function benchMilvus(kind: string | undefined, liteDataDir: string): Promise<BenchMilvus> {
  if (kind === "standalone") {
    const shared = process.env.SVGVEC_TEST_STANDALONE_ADDRESS;
    return shared ? { address: shared, stop: async () => {} } : startStandalone();
  }
  if (kind !== "lite") throw new Error(`--milvus must be lite or standalone, not "${kind}"`);
  const lite = await MilvusLite.start({ dataDir: liteDataDir, port: 0, binary: "", python: python() });
  return { address: lite.address, stop: () => lite.stop() };
}

/**
 * A full Milvus builds the index over sealed segments in the background, and
 * until it has, searches scan rows brute force: wait, so the numbers are for
 * an indexed collection. Returns seconds waited, or a note when Milvus does
 * not report progress.
 */
export async function waitForIndex(address: string, collection: string, rows: number, maxSeconds = 900): Promise<string> {
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
      if (performance.now() - t0 > maxSeconds * 1000) return `index over ${p.indexed_rows} of ${rows} rows after ${maxSeconds} s; measured anyway`;
      await new Promise((r) => setTimeout(r, 2_000));
    }
  } finally {
    await client.closeConnection();
  }
}

/**
 * The SDK's retry interceptor runs JSON.stringify over every request it sends, to log it at debug
 * level, whatever the level is: for 10,000 rows that is a 100 MB string, and it cost about 45% of
 * the load's time (28.5 s against 15.7 s for 50,000 rows, measured with a CPU profile). The
 * request object is copied with Object.assign before it is sent, so an own toJSON travels with it
 * and the stringify returns at once; protobuf encoding ignores the extra key.
 */
export function withoutLogCopy(req: InsertReq): InsertReq {
  return Object.assign(req, { toJSON: () => `[insert of ${req.data?.length ?? 0} rows]` });
}
