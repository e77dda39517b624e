/**
 * svgvec demo: the original system's API demo (demo_milvus_vector.py, mode 2)
 * against a running svgvec: health, stats, add two, list, search, batch add,
 * remove, each step printed as it happens.
 */
import { AddOutcome, MilvusDeployment } from "../../gen/svgvec/v1/svgvec_pb.js";
import { ServingStatus } from "../../client/health.js";
import { CONNECTION_HELP, CommandFailure, type ClientCommand, UsageError, describeCallError, idArgument, isCallError, parseCommand, printJson, help } from "../command.js";
import { UNARY_TIMEOUT_MS } from "./defaults.js";

/** The original demo's images: Twemoji's dog face and cat face. */
export const DEFAULT_DOG_URL = "https://raw.githubusercontent.com/twitter/twemoji/master/assets/svg/1f436.svg";
export const DEFAULT_CAT_URL = "https://raw.githubusercontent.com/twitter/twemoji/master/assets/svg/1f431.svg";

const HELP = `usage: svgvec demo [--dog-url URL] [--cat-url URL] [--id N] [--query TEXT] [options]

Walks through the original system's demo against a running server, printing each step:
  1. health check   2. stats   3. add two images (ids N, N+1)   4. list   5. search
  6. batch add through a stream (ids N+2, N+3, the same two images)   7. remove the four ids
The ids N to N+3 are overwritten and then removed: pick --id where nothing of yours is stored.

  --dog-url URL   the first image (default: Twemoji's dog face,
                  ${DEFAULT_DOG_URL})
  --cat-url URL   the second image (default: Twemoji's cat face,
                  ${DEFAULT_CAT_URL})
                  The defaults need the server to reach the internet; on a closed network give
                  URLs it can download.
  --id N          the first of the four ids (default 101, as in the original demo)
  --query TEXT    what to search for (default "dog")

With --json each step is one JSON line.

${CONNECTION_HELP}
  (--timeout defaults to ${UNARY_TIMEOUT_MS} ms per call here)`;

export const demoCommand: ClientCommand = {
  name: "demo",
  summary: "demo                  the original demo, step by step",
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommand(args, {
      "dog-url": { type: "string" },
      "cat-url": { type: "string" },
      id: { type: "string" },
      query: { type: "string" },
    });
    if (values.help) return help(HELP);
    if (positionals.length > 0) throw new UsageError(`demo takes no arguments (got "${positionals.join(" ")}")`);
    const first = idArgument(values.id ?? "101");
    if (first > 2n ** 63n - 4n) throw new UsageError(`--id must leave room for four ids: at most ${2n ** 63n - 4n}`);
    const dog = values["dog-url"] ?? DEFAULT_DOG_URL;
    const cat = values["cat-url"] ?? DEFAULT_CAT_URL;
    const query = values.query ?? "dog";
    const ids = [first, first + 1n, first + 2n, first + 3n] as const;
    const { client, address } = ctx.connect(values, UNARY_TIMEOUT_MS);

    const say = (text: string) => {
      if (!values.json) process.stdout.write(`${text}\n`);
    };
    let n = 0;
    const step = async <T>(title: string, run: () => Promise<T>, show: (value: T) => string[], json: (value: T) => object): Promise<T> => {
      n++;
      say(`\n${n}. ${title}...`);
      let value: T;
      try {
        value = await run();
      } catch (e) {
        throw new CommandFailure(`step ${n} (${title}) failed: ${isCallError(e) ? describeCallError(e, address) : (e as Error).message}`);
      }
      if (values.json) printJson({ step: n, title, ...json(value) });
      for (const line of show(value)) say(`   ${line}`);
      return value;
    };

    try {
      say(`=== svgvec demo against ${address} ===`);
      await step(
        "health check",
        () => client.health(),
        (s) => [`server is ${ServingStatus[s] ?? s}`],
        (s) => ({ status: ServingStatus[s] ?? String(s) }),
      );
      await step(
        "stats",
        () => client.stats(),
        (s) => [
          `images: ${s.totalImages}`,
          `collection: ${s.collectionName}`,
          `model: ${s.model?.name ?? ""} ${s.model?.pretrained ?? ""}, ${s.model?.dimension ?? 0} dimensions`,
          `index: ${s.index?.type ?? ""}, metric ${s.metricType}`,
          `milvus: ${(MilvusDeployment[s.milvus?.deployment ?? 0] ?? "").toLowerCase()} at ${s.milvus?.address ?? ""}`,
        ],
        (s) => ({ totalImages: s.totalImages.toString(), collection: s.collectionName, index: s.index?.type, metric: s.metricType }),
      );
      await step(
        "add two images",
        async () => [await client.addImage({ id: ids[0], url: dog }), await client.addImage({ id: ids[1], url: cat })],
        (added) => added.map((a) => `${(AddOutcome[a.outcome] ?? "").toLowerCase()}: id ${a.image?.id} ${a.image?.url}`),
        (added) => ({ added: added.map((a) => ({ id: a.image?.id.toString(), url: a.image?.url, outcome: AddOutcome[a.outcome] })) }),
      );
      await step(
        "list (the first 10)",
        async () => {
          const total = (await client.stats()).totalImages;
          const images = [];
          for await (const page of client.listImages({ limit: 10n })) images.push(...page.images);
          return { total, images };
        },
        ({ total, images }) => [`records: ${total}, listed: ${images.length}`, ...images.map((i) => `  id ${i.id}  ${i.url}`)],
        ({ total, images }) => ({ total: total.toString(), images: images.map((i) => ({ id: i.id.toString(), url: i.url })) }),
      );
      await step(
        `search "${query}"`,
        () => client.search({ text: query, k: 5 }),
        ({ hits }) => [`${hits.length} hits`, ...hits.map((h) => `  id ${h.id}  similarity ${h.similarity.toFixed(4)}  ${h.url}`)],
        ({ hits }) => ({ hits: hits.map((h) => ({ id: h.id.toString(), url: h.url, similarity: h.similarity })) }),
      );
      const batch = await step(
        "batch add through a stream",
        () =>
          client.streamAddImages([
            { id: ids[2], url: dog },
            { id: ids[3], url: cat },
          ]),
        (s) => [
          `stored ${Number(s.added + s.replaced + s.unchanged)}/${s.received}`,
          ...s.failures.map((f) => `  failed: id ${f.id} ${f.code}: ${f.reason}`),
        ],
        (s) => ({ received: s.received.toString(), added: s.added.toString(), replaced: s.replaced.toString(), unchanged: s.unchanged.toString(), failed: s.failed.toString() }),
      );
      await step(
        "remove",
        async () => {
          const out: Array<{ id: bigint; removed: boolean }> = [];
          for (const id of ids) out.push({ id, removed: (await client.remove({ id })).removed });
          return out;
        },
        (out) => out.map((r) => `id ${r.id}: ${r.removed ? "removed" : "was not stored"}`),
        (out) => ({ removed: out.map((r) => ({ id: r.id.toString(), removed: r.removed })) }),
      );
      if (batch.failed > 0n) throw new CommandFailure(`the demo ran, but ${batch.failed} of ${batch.received} images of the batch add failed (step 6)`);
      say("\n=== demo complete ===");
      return 0;
    } finally {
      client.close();
    }
  },
};
