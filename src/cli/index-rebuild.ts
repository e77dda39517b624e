/**
 * svgvec index rebuild: replaces the collection's vector index with the one SVGVEC_INDEX_* describe,
 * on a Milvus server. The rows stay; searches fail while the new index builds.
 */
import { parseArgs } from "node:util";
import type { Config } from "../config.js";
import { ConfigError } from "../errors.js";
import { indexBuildParams } from "../store/index-spec.js";
import { MilvusStore } from "../store/milvus-store.js";

export const INDEX_REBUILD_USAGE = "svgvec index rebuild [--yes]";

export async function rebuildIndexCommand(args: string[], config: Config, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values } = parseArgs({ args, options: { yes: { type: "boolean", default: false } } });
  if (config.milvus.address === "") {
    throw new ConfigError([
      "svgvec index rebuild works on a Milvus server: set SVGVEC_MILVUS_ADDRESS (the embedded Milvus Lite builds only IVF_FLAT, which it already has)",
    ]);
  }
  const spec = config.milvus.index;
  const target = `${spec.type} ${JSON.stringify(indexBuildParams(spec))}`;
  const where = `collection ${config.milvus.collection} on ${config.milvus.address}`;
  if (values.yes !== true) {
    err.write(
      `svgvec index rebuild would replace the vector index of ${where} with ${target} (from SVGVEC_INDEX_*).\n` +
        `Searches fail until it is built and loaded again; stop the svgvec replicas first and start them after.\n` +
        `Run it again with --yes to go ahead.\n`,
    );
    return 2;
  }
  const store = await MilvusStore.open({ address: config.milvus.address, token: config.milvus.token, collection: config.milvus.collection, mustExist: true });
  try {
    const before = await store.info();
    err.write(`replacing ${before.indexType} ${JSON.stringify(before.indexParams)} of ${where} with ${target}\n`);
    let shown = -1;
    await store.rebuildIndex(spec, (indexed, total) => {
      if (indexed === shown) return;
      shown = indexed;
      err.write(`indexed ${indexed} of ${total} rows\n`);
    });
    const after = await store.info();
    out.write(`${where} now has ${after.indexType} ${JSON.stringify(after.indexParams)}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
