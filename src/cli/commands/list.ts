/**
 * svgvec list: every stored record, streamed page by page.
 */
import { CONNECTION_HELP, type ClientCommand, UsageError, integerOption, parseCommand, help } from "../command.js";
import { csvField, write } from "../output.js";

const FORMATS = ["table", "jsonl", "csv"] as const;
type Format = (typeof FORMATS)[number];

const HELP = `usage: svgvec list [--vectors] [--format table|jsonl|csv] [--limit N] [options]

Prints every stored image in ascending id order, as it arrives from the server.

  --format F    table (default), jsonl (one JSON object per line; --json is the same) or csv
                (id,url,added_at,updated_at[,vector]). Both can be imported again with svgvec import.
  --vectors     include each image's 512-float vector (in csv, space-separated in one column)
  --limit N     stop after N images

${CONNECTION_HELP}
  (no deadline unless --timeout is given: a large store takes a while)`;

export const listCommand: ClientCommand = {
  name: "list",
  summary: "list [--format F]     print stored images (table, jsonl, csv)",
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommand(args, { vectors: { type: "boolean" }, format: { type: "string" }, limit: { type: "string" } });
    if (values.help) return help(HELP);
    if (positionals.length > 0) throw new UsageError(`list takes no arguments (got "${positionals.join(" ")}")`);
    if (values.format !== undefined && !(FORMATS as readonly string[]).includes(values.format)) {
      throw new UsageError(`--format must be one of ${FORMATS.join(", ")}, not "${values.format}"`);
    }
    if (values.json && values.format !== undefined && values.format !== "jsonl") throw new UsageError(`--json prints jsonl; it cannot go with --format ${values.format}`);
    const format: Format = values.json ? "jsonl" : ((values.format as Format | undefined) ?? "table");
    const limit = values.limit === undefined ? 0 : integerOption("--limit", values.limit, 1, Number.MAX_SAFE_INTEGER);
    const vectors = values.vectors === true;
    const { client } = ctx.connect(values);
    try {
      let idWidth = 0;
      let rows = 0;
      if (format === "csv") await write(`id,url,added_at,updated_at${vectors ? ",vector" : ""}\n`);
      for await (const page of client.listImages({ includeVectors: vectors, limit: BigInt(limit) })) {
        let out = "";
        for (const image of page.images) {
          const id = image.id.toString();
          if (format === "jsonl") {
            // Ids as strings, as the protobuf JSON mapping writes int64: a JSON number loses digits past 2^53 in most readers.
            out += `${JSON.stringify({ id, url: image.url, addedAt: image.addedAt, updatedAt: image.updatedAt, ...(vectors ? { vector: image.vector } : {}) })}\n`;
          } else if (format === "csv") {
            out += `${[id, csvField(image.url), image.addedAt, image.updatedAt, ...(vectors ? [image.vector.join(" ")] : [])].join(",")}\n`;
          } else {
            // Columns are sized by the first page, so that rows print as they arrive.
            if (rows === 0) {
              idWidth = Math.max(2, ...page.images.map((i) => i.id.toString().length));
              out += `${"ID".padStart(idWidth)}  ${"ADDED_AT".padEnd(24)}  ${"UPDATED_AT".padEnd(24)}  URL${vectors ? "  VECTOR" : ""}\n`;
            }
            const vector = vectors ? `  [${image.vector.slice(0, 3).map((v) => v.toFixed(4)).join(", ")}, … ${image.vector.length} floats]` : "";
            out += `${id.padStart(idWidth)}  ${image.addedAt.padEnd(24)}  ${image.updatedAt.padEnd(24)}  ${image.url}${vector}\n`;
          }
          rows++;
        }
        await write(out);
      }
      if (format === "table" && rows === 0) await write("no images stored\n");
      return 0;
    } finally {
      client.close();
    }
  },
};
