/**
 * svgvec stats: what the store holds and how it is set up.
 */
import { toJson } from "@bufbuild/protobuf";
import { MilvusDeployment, StatsResponseSchema } from "../../gen/svgvec/v1/svgvec_pb.js";
import { CONNECTION_HELP, type ClientCommand, UsageError, parseCommand, printTable, help } from "../command.js";
import { UNARY_TIMEOUT_MS } from "./defaults.js";

const HELP = `usage: svgvec stats [options]

Prints the number of stored images, the collection, the model, the index and which Milvus holds them.

${CONNECTION_HELP}
  (--timeout defaults to ${UNARY_TIMEOUT_MS} ms here)`;

export const statsCommand: ClientCommand = {
  name: "stats",
  summary: "stats                 count, model, collection, index",
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommand(args, {});
    if (values.help) return help(HELP);
    if (positionals.length > 0) throw new UsageError(`stats takes no arguments (got "${positionals.join(" ")}")`);
    const { client } = ctx.connect(values, UNARY_TIMEOUT_MS);
    try {
      const s = await client.stats();
      if (values.json) {
        process.stdout.write(`${JSON.stringify(toJson(StatsResponseSchema, s, { alwaysEmitImplicit: true }))}\n`);
        return 0;
      }
      const params = Object.entries(s.index?.params ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(" ");
      const deployment = (MilvusDeployment[s.milvus?.deployment ?? 0] ?? "UNSPECIFIED").toLowerCase();
      printTable(
        ["FIELD", "VALUE"],
        [
          ["images", s.totalImages.toString()],
          ["collection", s.collectionName],
          ["model", `${s.model?.name ?? ""} ${s.model?.pretrained ?? ""} (${s.model?.dimension ?? 0} dimensions)`],
          ["model path", s.model?.path ?? ""],
          ["metric", s.metricType],
          ["index", `${s.index?.type ?? ""} ${params}`.trim()],
          ["milvus", `${deployment === "unspecified" ? "" : `${deployment} `}${s.milvus?.version ?? ""} at ${s.milvus?.address ?? ""}`.replace(/\s+/g, " ").trim()],
        ],
      );
      return 0;
    } finally {
      client.close();
    }
  },
};
