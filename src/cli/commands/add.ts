/**
 * svgvec add ID URL: one AddImage.
 */
import { AddOutcome } from "../../gen/svgvec/v1/svgvec_pb.js";
import { CONNECTION_HELP, type ClientCommand, UsageError, idArgument, parseCommand, printJson, help } from "../command.js";
import { UNARY_TIMEOUT_MS } from "./defaults.js";

const HELP = `usage: svgvec add ID URL [options]

Downloads the SVG at URL, embeds it and stores it under ID (a whole number, int64). An ID that
exists is replaced. Prints whether the image was added, replaced or unchanged (same URL and content).

${CONNECTION_HELP}
  (--timeout defaults to ${UNARY_TIMEOUT_MS} ms here)`;

export const addCommand: ClientCommand = {
  name: "add",
  summary: "add ID URL            add or replace one image",
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommand(args, {});
    if (values.help) return help(HELP);
    const [idText, url, ...extra] = positionals;
    if (idText === undefined || url === undefined || extra.length > 0) throw new UsageError("add takes exactly two arguments: ID URL");
    const id = idArgument(idText);
    const { client } = ctx.connect(values, UNARY_TIMEOUT_MS);
    try {
      const res = await client.addImage({ id, url });
      const outcome = (AddOutcome[res.outcome] ?? "UNSPECIFIED").toLowerCase();
      if (values.json) {
        printJson({ id: res.image?.id ?? id, url: res.image?.url ?? url, outcome, addedAt: res.image?.addedAt, updatedAt: res.image?.updatedAt });
      } else {
        process.stdout.write(`${outcome} ${id} ${url}\n`);
      }
      return 0;
    } finally {
      client.close();
    }
  },
};
