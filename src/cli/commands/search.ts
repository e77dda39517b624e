/**
 * svgvec search TEXT: the k stored images most similar to a text.
 */
import { CONNECTION_HELP, type ClientCommand, UsageError, integerOption, parseCommand, printJson, printTable, help } from "../command.js";
import { UNARY_TIMEOUT_MS } from "./defaults.js";

const HELP = `usage: svgvec search TEXT... [-k N] [--nprobe N] [options]

Finds the N stored images most similar to TEXT (the words are joined with spaces), best first.

  -k N          how many hits, 1 to 16384 (default 10)
  --nprobe N    index clusters to probe, 1 to 65536 (default: the server's SVGVEC_SEARCH_NPROBE)

${CONNECTION_HELP}
  (--timeout defaults to ${UNARY_TIMEOUT_MS} ms here)`;

export const searchCommand: ClientCommand = {
  name: "search",
  summary: "search TEXT [-k N]    find images by text",
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommand(args, { k: { type: "string", short: "k" }, nprobe: { type: "string" } });
    if (values.help) return help(HELP);
    const text = positionals.join(" ");
    if (text.trim() === "") throw new UsageError("search needs a TEXT to search for, e.g. svgvec search red heart");
    const k = values.k === undefined ? undefined : integerOption("-k", values.k, 1, 16_384);
    const nprobe = values.nprobe === undefined ? undefined : integerOption("--nprobe", values.nprobe, 1, 65_536);
    const { client } = ctx.connect(values, UNARY_TIMEOUT_MS);
    try {
      const { hits } = await client.search({ text, ...(k !== undefined ? { k } : {}), ...(nprobe !== undefined ? { nprobe } : {}) });
      if (values.json) {
        printJson({ text, hits: hits.map((h) => ({ id: h.id, url: h.url, similarity: h.similarity })) });
      } else if (hits.length === 0) {
        process.stdout.write("no images stored yet\n");
      } else {
        printTable(
          ["RANK", "SIMILARITY", "ID", "URL"],
          hits.map((h, i) => [String(i + 1), h.similarity.toFixed(4), h.id.toString(), h.url]),
          new Set([0, 1, 2]),
        );
      }
      return 0;
    } finally {
      client.close();
    }
  },
};
