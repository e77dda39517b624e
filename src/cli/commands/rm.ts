/**
 * svgvec rm ID...: Remove, one id after another.
 */
import { CONNECTION_HELP, CommandFailure, type ClientCommand, UsageError, idArgument, parseCommand, printJson, help } from "../command.js";
import { UNARY_TIMEOUT_MS } from "./defaults.js";

const HELP = `usage: svgvec rm ID... [-f] [options]

Removes the images with these ids. Like rm, it exits 1 when an id did not exist (the others are
still removed), unless -f is given.

  -f, --force   an id that does not exist is not an error

${CONNECTION_HELP}
  (--timeout defaults to ${UNARY_TIMEOUT_MS} ms here)`;

export const rmCommand: ClientCommand = {
  name: "rm",
  summary: "rm ID...              remove images",
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommand(args, { force: { type: "boolean", short: "f" } });
    if (values.help) return help(HELP);
    if (positionals.length === 0) throw new UsageError("rm needs at least one ID");
    // Every id is checked before anything is removed, so a typo removes nothing.
    const ids = positionals.map(idArgument);
    const { client } = ctx.connect(values, UNARY_TIMEOUT_MS);
    try {
      const results: Array<{ id: bigint; removed: boolean }> = [];
      for (const id of ids) {
        const { removed } = await client.remove({ id });
        results.push({ id, removed });
        if (!values.json) process.stdout.write(`${removed ? "removed" : "not found"} ${id}\n`);
      }
      if (values.json) printJson({ results });
      const missing = results.filter((r) => !r.removed).map((r) => r.id.toString());
      if (missing.length > 0 && !values.force) {
        throw new CommandFailure(`${missing.length} of ${ids.length} ids did not exist: ${missing.join(" ")} (-f ignores missing ids)`);
      }
      return 0;
    } finally {
      client.close();
    }
  },
};
