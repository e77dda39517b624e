/**
 * svgvec health: asks the server's grpc.health.v1 whether it is serving. A
 * container health check runs it, so its exit code is the answer: 0 only for
 * SERVING.
 */
import { ServingStatus } from "../../client/health.js";
import { CONNECTION_HELP, CommandFailure, type ClientCommand, UsageError, help, parseCommand, printJson } from "../command.js";

/** A health check must answer well inside the prober's own timeout (docker-compose.yml gives it 10 s). */
export const HEALTH_TIMEOUT_MS = 5_000;

const HELP = `usage: svgvec health [--service NAME] [options]

Asks the server's standard health service (grpc.health.v1) whether it is serving and prints the
status. Exits 0 only for SERVING; NOT_SERVING (an encoder restarting, the server shutting down),
an unknown service or no answer exit 1. The server answers health checks without a token.

  --service NAME       ask about one service, e.g. svgvec.v1.SvgVecService (default: the server as a whole)

${CONNECTION_HELP}
  (--timeout defaults to ${HEALTH_TIMEOUT_MS} ms here)`;

export const healthCommand: ClientCommand = {
  name: "health",
  summary: "health                SERVING or not (exit 0 only when serving)",
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommand(args, { service: { type: "string", default: "" } });
    if (values.help) return help(HELP);
    if (positionals.length > 0) throw new UsageError(`health takes no arguments (got "${positionals.join(" ")}")`);
    const { client, address } = ctx.connect(values, HEALTH_TIMEOUT_MS);
    try {
      const status = await client.health(values.service);
      const name = ServingStatus[status] ?? `status ${status}`;
      if (values.json) printJson({ service: values.service, status: name });
      else process.stdout.write(`${name}\n`);
      if (status !== ServingStatus.SERVING) {
        const what = values.service === "" ? "svgvec" : values.service;
        throw new CommandFailure(`${what} at ${address} is ${name}, not SERVING`);
      }
      return 0;
    } finally {
      client.close();
    }
  },
};
