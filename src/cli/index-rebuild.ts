/**
 * svgvec index rebuild: replaces the collection's vector index with the one SVGVEC_INDEX_* describe,
 * on a Milvus server. The rows stay; searches fail while the new index builds.
 */
import { parseArgs } from "node:util";
import type { Config } from "../config.js";
import { ConfigError, errorMessage } from "../errors.js";
import { indexBuildParams } from "../store/index-spec.js";
import { MilvusStore } from "../store/milvus-store.js";

export const INDEX_REBUILD_USAGE = "svgvec index rebuild [--yes]";

const HELP = `usage: ${INDEX_REBUILD_USAGE}

Replaces the vector index of SVGVEC_COLLECTION on the Milvus server at SVGVEC_MILVUS_ADDRESS with
the one SVGVEC_INDEX_TYPE, SVGVEC_INDEX_NLIST, SVGVEC_INDEX_HNSW_M and
SVGVEC_INDEX_HNSW_EF_CONSTRUCTION describe. The rows stay; the collection cannot be searched until
the new index is built and loaded, so stop the svgvec replicas first and start them after.
Without --yes it says what it would do and changes nothing.`;

export async function rebuildIndexCommand(args: string[], config: Config, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let yes: boolean;
  try {
    const { values } = parseArgs({ args, options: { yes: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } } });
    if (values.help === true) {
      out.write(`${HELP}\n`);
      return 0;
    }
    yes = values.yes === true;
  } catch (e) {
    err.write(`svgvec index rebuild: ${errorMessage(e)}\nusage: ${INDEX_REBUILD_USAGE}\n`);
    return 2;
  }
  if (config.milvus.address === "") {
    throw new ConfigError([
      "svgvec index rebuild works on a Milvus server: set SVGVEC_MILVUS_ADDRESS (the embedded Milvus Lite builds only IVF_FLAT, which it already has)",
    ]);
  }
  const spec = config.milvus.index;
  const params = indexBuildParams(spec);
  const target = `${spec.type} ${JSON.stringify(params)}`;
  const where = `collection ${config.milvus.collection} on ${config.milvus.address}`;
  const store = await MilvusStore.open({ address: config.milvus.address, token: config.milvus.token, collection: config.milvus.collection, mustExist: true });
  try {
    const before = await store.info();
    const current = `${before.indexType} ${JSON.stringify(before.indexParams)}`;
    const same =
      before.indexType === spec.type &&
      Object.entries(params).every(([k, v]) => before.indexParams[k] === String(v)) &&
      Object.keys(before.indexParams).every((k) => k in params);
    if (same) {
      out.write(`${where} already has ${current}; nothing to do (set SVGVEC_INDEX_* to the index you want)\n`);
      return 0;
    }
    if (!yes) {
      err.write(
        `svgvec index rebuild would replace ${current} of ${where} with ${target} (from SVGVEC_INDEX_*).\n` +
          `Searches fail until it is built and loaded again; stop the svgvec replicas first and start them after.\n` +
          `Run it again with --yes to go ahead.\n`,
      );
      // --yes is a required argument: without it this is a usage error, as the README's exit codes say.
      return 2;
    }
    err.write(`replacing ${current} of ${where} with ${target}\n`);
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
