/**
 * svgvec search TEXT, --like ID or --like-url URL: the k stored images most similar to a text, to
 * a stored image, or to an SVG anywhere.
 */
import {
  CONNECTION_HELP,
  type ClientCommand,
  UsageError,
  help,
  idArgument,
  integerOption,
  parseCommand,
  printJson,
  printTable,
} from "../command.js";
import { UNARY_TIMEOUT_MS } from "./defaults.js";

const HELP = `usage: svgvec search TEXT... [-k N] [options]
       svgvec search --like ID [--include-self] [-k N] [options]
       svgvec search --like-url URL [-k N] [options]

Finds the N stored images most similar to TEXT (the words are joined with spaces), to the stored
image ID, or to the SVG at URL (downloaded, rendered and embedded like an add, not stored); best first.

  --like ID              search with the stored image ID's vector (no model runs); ID itself is left out
  --include-self         with --like: keep ID itself among the hits
  --like-url URL         search with the embedding of the SVG at URL
  -k N                   how many hits, 1 to 16384 (default 10)
  --min-similarity X     only hits with similarity at or above X, -1 to 1 (may return fewer than N)
  --exclude ID,ID,...    never return these ids (at most 1024; they do not count towards N)
  --nprobe N             index clusters to probe, 1 to 65536 (default: the server's SVGVEC_SEARCH_NPROBE)

${CONNECTION_HELP}
  (--timeout defaults to ${UNARY_TIMEOUT_MS} ms here)`;

export const searchCommand: ClientCommand = {
  name: "search",
  summary: "search TEXT [-k N]    find images by text, or --like ID / --like-url URL by image",
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommand(args, {
      k: { type: "string", short: "k" },
      nprobe: { type: "string" },
      like: { type: "string" },
      "like-url": { type: "string" },
      "include-self": { type: "boolean" },
      "min-similarity": { type: "string" },
      exclude: { type: "string" },
    });
    if (values.help) return help(HELP);
    const text = positionals.join(" ");
    const likeUrl = values["like-url"];
    const likeId = values.like === undefined ? undefined : idArgument(values.like);
    const kinds = [text !== "" ? "TEXT" : "", likeId !== undefined ? "--like" : "", likeUrl !== undefined ? "--like-url" : ""].filter(Boolean);
    if (kinds.length > 1) throw new UsageError(`search takes one of TEXT, --like ID and --like-url URL, not ${kinds.join(" and ")}`);
    if (kinds.length === 0 || (likeId === undefined && likeUrl === undefined && text.trim() === "")) {
      throw new UsageError("search needs a TEXT to search for, e.g. svgvec search red heart; or --like ID, or --like-url URL");
    }
    if (values["include-self"] && likeId === undefined) throw new UsageError("--include-self applies only to --like ID");
    const k = values.k === undefined ? undefined : integerOption("-k", values.k, 1, 16_384);
    const nprobe = values.nprobe === undefined ? undefined : integerOption("--nprobe", values.nprobe, 1, 65_536);
    const minSimilarity = values["min-similarity"] === undefined ? undefined : similarityOption(values["min-similarity"]);
    const excludeIds = values.exclude === undefined ? [] : values.exclude.split(",").map((id) => idArgument(id));
    const query = likeId !== undefined ? { likeId, includeSelf: values["include-self"] === true } : likeUrl !== undefined ? { likeUrl } : { text };
    const { client } = ctx.connect(values, UNARY_TIMEOUT_MS);
    try {
      const { hits } = await client.search({
        ...query,
        excludeIds,
        ...(k !== undefined ? { k } : {}),
        ...(nprobe !== undefined ? { nprobe } : {}),
        ...(minSimilarity !== undefined ? { minSimilarity } : {}),
      });
      if (values.json) {
        const asked = likeId !== undefined ? { like: likeId } : likeUrl !== undefined ? { likeUrl } : { text };
        printJson({ ...asked, hits: hits.map((h) => ({ id: h.id, url: h.url, similarity: h.similarity })) });
      } else if (hits.length === 0) {
        process.stdout.write(minSimilarity !== undefined || excludeIds.length > 0 || likeId !== undefined ? "no hits\n" : "no images stored yet\n");
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

/** A similarity threshold from -1 to 1, or a UsageError naming the option. */
function similarityOption(value: string): number {
  const n = /^\s*-?(\d+(\.\d*)?|\.\d+)\s*$/.test(value) ? Number(value) : NaN;
  if (!(n >= -1 && n <= 1)) throw new UsageError(`--min-similarity must be a number from -1 to 1, not "${value}"`);
  return n;
}
