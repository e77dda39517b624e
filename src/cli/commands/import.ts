/**
 * svgvec import FILE: a bulk import through StreamAddImages, resumable, with
 * every failed item written to a file that can be imported again as it is.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import {
  CONNECTION_HELP,
  CommandFailure,
  type ClientCommand,
  UsageError,
  describeCallError,
  help,
  integerOption,
  isCallError,
  parseCommand,
  printJson,
  printTable,
} from "../command.js";
import { FailuresFile, defaultFailuresPath } from "../import/failures.js";
import { type ImportResult, MAX_STREAM_SIZE, importEntries } from "../import/importer.js";
import { type Input, type InputFormat, countItems, formatOfName, openInput, openStream } from "../import/input.js";
import { createProgress } from "../import/progress.js";

const DEFAULT_STREAM_SIZE = 1_000;
const STREAM_ATTEMPTS = 6;
const RETRY_BACKOFF_MS = 500;

const HELP = `usage: svgvec import FILE|- [--format csv|jsonl] [--stream-size N] [--skip N] [--failures FILE] [options]

Adds every item of FILE (or of standard input, for -) through StreamAddImages. Items are either
  CSV          a header line naming the columns id and url (e.g. "id,url"), then one item per line
  JSON lines   one object per line: {"id": 101, "url": "https://example.com/dog.svg"}
Ids are whole numbers (int64), written as numbers or strings. The format comes from the name
(.csv, .jsonl, .ndjson), else from --format, else from the first line ("{" means JSON lines).
Blank lines are ignored; the file is read as it is sent, so its size does not matter.

  --format F         csv or jsonl
  --stream-size N    items per stream, 1 to ${MAX_STREAM_SIZE} (default ${DEFAULT_STREAM_SIZE}). A lost connection or an
                     UNAVAILABLE server costs only the streams in flight: they are sent again, up
                     to ${STREAM_ATTEMPTS} tries with backoff (adds are upserts, so sending twice is harmless).
  --skip N           skip the first N items (lines after the header), to resume a stopped import
  --failures FILE    where failed items go (default: FILE without its extension + .failed.csv or
                     .failed.jsonl, stdin.failed.* for standard input). They keep the input's format
                     with code, reason and line added: fix them and import that file as it is.
                     Each run rewrites it (a run in which nothing failed removes it); a run
                     with --skip appends to it.

A line that is not an item (bad CSV or JSON, no id, an id out of range) is a failure with its line
number, like an item the server refuses (a bad URL, a 404, not an SVG). Progress goes to stderr: a
bar on a terminal, a line every 5 s otherwise. The summary goes to stdout (--json for scripts).

Ctrl-C (or SIGTERM) stops the import and prints the --skip that resumes it; a second one quits at once.

Exit status: 0 when every item was stored; 1 when any item failed (see the failures file) or the
import stopped early (the message says which --skip resumes it); 2 for a usage error.

${CONNECTION_HELP}
  (--timeout, if given, is the deadline of each stream)`;

export const importCommand: ClientCommand = {
  name: "import",
  summary: "import FILE|-         bulk add from CSV or JSON lines, with progress",
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommand(args, {
      format: { type: "string" },
      "stream-size": { type: "string" },
      skip: { type: "string" },
      failures: { type: "string" },
    });
    if (values.help) return help(HELP);
    const [path, ...extra] = positionals;
    if (path === undefined || extra.length > 0) throw new UsageError("import takes one FILE (or - for standard input)");
    if (values.format !== undefined && values.format !== "csv" && values.format !== "jsonl") {
      throw new UsageError(`--format must be csv or jsonl, not "${values.format}"`);
    }
    const streamSize = values["stream-size"] === undefined ? DEFAULT_STREAM_SIZE : integerOption("--stream-size", values["stream-size"], 1, MAX_STREAM_SIZE);
    const skip = values.skip === undefined ? 0 : integerOption("--skip", values.skip, 0, Number.MAX_SAFE_INTEGER);
    const given = (values.format as InputFormat | undefined) ?? (path === "-" ? undefined : formatOfName(path));
    const isFile = path !== "-" && isRegularFile(path);

    const input = await open(path, given, skip);
    const failuresPath = values.failures ?? defaultFailuresPath(path, input.format);
    if (path !== "-" && resolve(failuresPath) === resolve(path)) throw new UsageError(`--failures ${failuresPath} is the input itself; name another file`);
    const total = isFile ? Math.max(0, (await countItems(path, input.format)) - skip) : undefined;

    const { client, address, timeoutMs } = ctx.connect(values);
    const failures = await FailuresFile.open(failuresPath, input.format, skip > 0);
    const progress = createProgress(total, process.stderr.isTTY === true);
    const started = Date.now();
    // Ctrl-C (or SIGTERM) stops the import between streams, so that it can say where to resume; a
    // second one ends the process at once, as the handlers are gone by then.
    const interrupt = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      progress.note(`${signal}: stopping; ${signal === "SIGINT" ? "Ctrl-C" : signal} again to quit at once`);
      interrupt.abort(new Error(`interrupted by ${signal}`));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    let result: ImportResult;
    try {
      result = await importEntries({
        client,
        entries: input.entries,
        streamSize,
        skip,
        failures,
        progress,
        timeoutMs,
        streamAttempts: STREAM_ATTEMPTS,
        retryBackoffMs: RETRY_BACKOFF_MS,
        signal: interrupt.signal,
      });
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      progress.stop();
      client.close();
      await failures.close();
    }
    const seconds = (Date.now() - started) / 1000;
    const name = path === "-" ? "standard input" : path;
    const stopped = result.error === undefined ? undefined : isCallError(result.error) ? describeCallError(result.error, address) : result.error.message;

    if (values.json) {
      printJson({
        input: path,
        format: input.format,
        items: result.items,
        skipped: skip,
        streams: result.streams,
        retries: result.retries,
        sent: result.sent,
        added: result.added,
        replaced: result.replaced,
        unchanged: result.unchanged,
        failed: result.failed,
        failuresFile: failuresPath,
        done: result.done,
        seconds,
        complete: stopped === undefined,
        ...(stopped !== undefined ? { error: stopped } : {}),
      });
    } else {
      const perSecond = seconds > 0 ? (result.sent / seconds).toFixed(1) : "0";
      process.stdout.write(
        `${stopped === undefined ? "imported" : "stopped importing"} ${name}: ${result.items} items${skip > 0 ? ` after skipping ${skip}` : ""} ` +
          `in ${result.streams} streams${result.retries > 0 ? ` (${result.retries} sent again)` : ""}, ${seconds.toFixed(1)} s, ${perSecond} items/s\n`,
      );
      printTable(
        ["OUTCOME", "ITEMS"],
        [
          ["added", String(result.added)],
          ["replaced", String(result.replaced)],
          ["unchanged", String(result.unchanged)],
          ["failed", `${result.failed}${result.failed > 0 ? `  (in ${failuresPath})` : ""}`],
        ],
        new Set([1]),
      );
    }
    if (stopped !== undefined) {
      const again = path === "-" ? "send the same input again" : `run svgvec import ${path}`;
      const end = stopped.endsWith("?") || stopped.endsWith(".") ? "" : ".";
      throw new CommandFailure(`import stopped: ${stopped}${end} The first ${result.done} items are done; to resume, ${again} with --skip ${result.done}`);
    }
    if (result.failed > 0) {
      throw new CommandFailure(`${result.failed} of ${result.items} items failed; they are in ${failuresPath}: fix them there and run svgvec import ${failuresPath}`);
    }
    return 0;
  },
};

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

async function open(path: string, format: InputFormat | undefined, skip: number): Promise<Input> {
  try {
    return await openInput(openStream(path), path === "-" ? "standard input" : path, format, skip);
  } catch (e) {
    if (e instanceof CommandFailure) throw e;
    throw new CommandFailure(`cannot read ${path}: ${(e as Error).message}`);
  }
}
