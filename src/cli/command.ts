/**
 * What every client command of the CLI shares: argument parsing with
 * node:util parseArgs, the connection options, and the two kinds of failure
 * that decide the exit code (2 for a usage error, 1 for anything else).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { createSvgVecClient, type SvgVecClient } from "../client/client.js";

export const DEFAULT_ADDRESS = "127.0.0.1:50051";

/** The command line was wrong: exit 2, with the message and where to find the usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The command ran and did not succeed (some items failed, an id did not exist): exit 1 with the message. */
export class CommandFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandFailure";
  }
}

export interface ClientCommand {
  name: string;
  /** One line for `svgvec --help`. */
  summary: string;
  /** The full `svgvec NAME --help`. */
  help: string;
  /** Resolves with the exit code; throws UsageError, CommandFailure or a ConnectError. */
  run(args: string[], ctx: CommandContext): Promise<number>;
}

/** What runs a command: it connects through here, so that a failed call can be told with the address. */
export class CommandContext {
  address: string | undefined;

  connect(values: ConnectionValues, defaultTimeoutMs?: number): Connection {
    const connection = connect(values, defaultTimeoutMs);
    this.address = connection.address;
    return connection;
  }
}

type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;

const CONNECTION_OPTIONS = {
  address: { type: "string" },
  token: { type: "string" },
  tls: { type: "boolean" },
  "tls-ca": { type: "string" },
  timeout: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies OptionSpecs;

export const CONNECTION_HELP = `Connection (every command):
  --address HOST:PORT  the svgvec server (default: $SVGVEC_ADDRESS, else ${DEFAULT_ADDRESS})
  --token TOKEN        bearer token, one of the server's SVGVEC_AUTH_TOKENS (default: $SVGVEC_TOKEN)
  --tls                connect over TLS, trusting the system's CAs
  --tls-ca FILE        connect over TLS, trusting the CA certificate in FILE (PEM)
  --timeout MS         deadline of each call in milliseconds
  --json               print JSON for scripts instead of tables
  -h, --help           show this help`;

export interface ParsedCommand<O extends OptionSpecs> {
  values: ReturnType<typeof parseArgs<{ options: O & typeof CONNECTION_OPTIONS; allowPositionals: true; strict: true }>>["values"];
  positionals: string[];
}

/** Marks a negative number (an id such as -1, a threshold such as -0.5) so that parseArgs does not read it as an option. */
const NEGATIVE = "\u0000";
const NEGATIVE_NUMBER = /^-(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/** parseArgs with the connection options added, its errors turned into UsageError. */
export function parseCommand<O extends OptionSpecs>(args: string[], options: O): ParsedCommand<O> {
  let parsed;
  try {
    parsed = parseArgs({
      args: args.map((a) => (NEGATIVE_NUMBER.test(a) ? NEGATIVE + a : a)),
      options: { ...options, ...CONNECTION_OPTIONS },
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  // parseArgs keeps the last of a repeated option; `--like 101 --like 102` more likely means a mistake.
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== "option" || token.name === "help") continue;
    if (seen.has(token.name)) throw new UsageError(`--${token.name} is given more than once; give it once`);
    seen.add(token.name);
  }
  const unmark = (v: unknown): unknown => (typeof v === "string" && v.startsWith(NEGATIVE) ? v.slice(1) : v);
  const values = Object.fromEntries(Object.entries(parsed.values).map(([k, v]) => [k, unmark(v)]));
  return { values: values as ParsedCommand<O>["values"], positionals: parsed.positionals.map((p) => unmark(p) as string) };
}

export interface ConnectionValues {
  address?: string | undefined;
  token?: string | undefined;
  tls?: boolean | undefined;
  "tls-ca"?: string | undefined;
  timeout?: string | undefined;
}

export interface Connection {
  client: SvgVecClient;
  address: string;
  /** The --timeout given, if any. */
  timeoutMs: number | undefined;
}

/**
 * A client from the connection options and the environment. defaultTimeoutMs applies when no
 * --timeout was given (undefined: no deadline, for calls that may rightly run for long).
 */
function connect(values: ConnectionValues, defaultTimeoutMs?: number): Connection {
  const address = values.address ?? (process.env.SVGVEC_ADDRESS || DEFAULT_ADDRESS);
  const token = values.token ?? (process.env.SVGVEC_TOKEN || undefined);
  const timeoutMs = values.timeout === undefined ? undefined : integerOption("--timeout", values.timeout, 1, 2 ** 31 - 1);
  const tls = values["tls-ca"] !== undefined ? { caFile: values["tls-ca"] } : values.tls === true ? true : undefined;
  const effectiveTimeout = timeoutMs ?? defaultTimeoutMs;
  try {
    const client = createSvgVecClient(address, {
      ...(token !== undefined ? { token } : {}),
      ...(tls !== undefined ? { tls } : {}),
      ...(effectiveTimeout !== undefined ? { timeoutMs: effectiveTimeout } : {}),
    });
    return { client, address, timeoutMs };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A whole number option within [min, max], or a UsageError naming it. */
export function integerOption(name: string, value: string, min: number, max: number): number {
  const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, not "${value}"`);
  }
  return n;
}

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

/** An int64 id from its decimal text, or undefined when it is not one. */
export function parseId(text: string): bigint | undefined {
  const t = text.trim();
  if (!/^-?\d{1,20}$/.test(t)) return undefined;
  const id = BigInt(t);
  return id < INT64_MIN || id > INT64_MAX ? undefined : id;
}

/** An id argument, or a UsageError saying what an id is. */
export function idArgument(text: string): bigint {
  const id = parseId(text);
  if (id === undefined) throw new UsageError(`"${text}" is not an id: ids are whole numbers from ${INT64_MIN} to ${INT64_MAX}`);
  return id;
}

/** "INVALID_ARGUMENT" for Code.InvalidArgument: the names gRPC and the server's messages use. */
export function codeName(code: Code): string {
  return (Code[code] ?? "UNKNOWN").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/** One line that says why a call failed, for the exit-1 message. */
export function describeCallError(e: ConnectError, address: string): string {
  const reason = e.rawMessage.replace(/\s+/g, " ").trim();
  if (e.code === Code.Unavailable) return `cannot reach svgvec at ${address}: ${reason} (UNAVAILABLE); is the server running, and is --address right?`;
  if (e.code === Code.Unauthenticated) return `${reason} (UNAUTHENTICATED): pass --token or set SVGVEC_TOKEN`;
  if (e.code === Code.DeadlineExceeded) return `no answer from svgvec at ${address} within the deadline (DEADLINE_EXCEEDED); raise --timeout`;
  return `${reason} (${codeName(e.code)})`;
}

/** Prints a command's --help to stdout; exit 0. */
export function help(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}

/** Writes one line of JSON; bigints as strings, as the protobuf JSON mapping writes int64. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}\n`);
}

/** Rows as aligned columns under a header. */
export function printTable(header: string[], rows: string[][], rightAligned: ReadonlySet<number> = new Set()): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : rightAligned.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  process.stdout.write(`${[line(header), ...rows.map(line)].join("\n")}\n`);
}

/** Whether a value is a ConnectError (a failed call, with a code). */
export function isCallError(e: unknown): e is ConnectError {
  return e instanceof ConnectError;
}
