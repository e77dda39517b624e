/**
 * The Milvus a benchmark runs against: an embedded Lite of its own, or a
 * standalone. SVGVEC_TEST_STANDALONE_ADDRESS names one that already runs (as
 * for the tests: only one fits a machine); otherwise one is started and stopped.
 */
import { MilvusLite } from "../src/store/milvus-lite.js";
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
