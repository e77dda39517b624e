/**
 * Import input: a CSV with an id,url header or JSON lines with id and url,
 * from a file or standard input, turned line by line into entries that are
 * either an item to send or a problem to report with its line number.
 */
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { CommandFailure, INT64_MAX, INT64_MIN, parseId } from "../command.js";
import { parseCsvLine } from "./csv.js";
import { rawMember } from "./jsonl.js";
import { type Line, MAX_LINE_CHARS, readLines } from "./lines.js";

export type InputFormat = "csv" | "jsonl";

export interface Entry {
  /** Items before this one in the input (the header and blank lines are not items). */
  position: number;
  /** 1-based line number in the input. */
  line: number;
  /** The line as read. */
  text: string;
  /** Whether the line had the input's shape (CSV fields, a JSON object), so rawId and rawUrl are meaningful. */
  parsed: boolean;
  /** The id and url as written: CSV field text, or JSON value text (a number keeps all its digits). */
  rawId: string | undefined;
  rawUrl: string | undefined;
  /** Set when the line is a valid item. */
  item?: { id: bigint; url: string };
  /** Set when it is not: what is wrong with the line. */
  problem?: string;
}

export interface Input {
  format: InputFormat;
  entries: AsyncGenerator<Entry>;
}

/** The format a file name implies, if any. */
export function formatOfName(path: string): InputFormat | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return "jsonl";
  return undefined;
}

export function openStream(path: string): Readable {
  return path === "-" ? process.stdin : createReadStream(path);
}

/**
 * Reads up to the first item line (the CSV header, sniffing the format when not given: a first line
 * starting with "{" is JSON lines), then yields entries, skipping the first `skip` items unparsed.
 */
export async function openInput(source: Readable, name: string, given: InputFormat | undefined, skip: number): Promise<Input> {
  const lines = readLines(source);
  const first = await nextContentLine(lines);
  const format: InputFormat = given ?? (first !== undefined && first.text.trimStart().startsWith("{") ? "jsonl" : "csv");
  let columns = { id: 0, url: 1 };
  let pushedBack: Line | undefined = first;
  if (format === "csv" && first !== undefined) {
    columns = headerColumns(first, name);
    pushedBack = undefined;
  }
  async function* entries(): AsyncGenerator<Entry> {
    let position = 0;
    const all = async function* (): AsyncGenerator<Line> {
      if (pushedBack !== undefined) yield pushedBack;
      yield* lines;
    };
    for await (const line of all()) {
      if (line.text.trim() === "" && !line.overlong) continue;
      const at = position++;
      if (at < skip) continue;
      yield format === "csv" ? csvEntry(line, at, columns) : jsonEntry(line, at);
    }
  }
  return { format, entries: entries() };
}

/** Items in the input after the header (for the progress bar's total); reads the whole file once. */
export async function countItems(path: string, format: InputFormat): Promise<number> {
  let n = 0;
  for await (const line of readLines(createReadStream(path))) if (line.text.trim() !== "" || line.overlong) n++;
  return format === "csv" ? Math.max(0, n - 1) : n;
}

async function nextContentLine(lines: AsyncGenerator<Line>): Promise<Line | undefined> {
  for (;;) {
    const next = await lines.next();
    if (next.done) return undefined;
    if (next.value.text.trim() !== "" || next.value.overlong) return next.value;
  }
}

function headerColumns(line: Line, name: string): { id: number; url: number } {
  const fields = parseCsvLine(line.text);
  const names = typeof fields === "string" ? [] : fields.map((f) => f.trim().toLowerCase());
  const id = names.indexOf("id");
  const url = names.indexOf("url");
  if (id === -1 || url === -1) {
    throw new CommandFailure(
      `${name}: line ${line.number} must be a CSV header naming the columns id and url (e.g. "id,url"), not "${line.text.slice(0, 80)}"; ` +
        `for JSON lines, name the file .jsonl or pass --format jsonl`,
    );
  }
  return { id, url };
}

function problem(line: Line, position: number, parsed: boolean, rawId: string | undefined, rawUrl: string | undefined, what: string): Entry {
  return { position, line: line.number, text: line.text, parsed, rawId, rawUrl, problem: `line ${line.number}: ${what}` };
}

function overlong(line: Line, position: number): Entry {
  return problem(line, position, false, undefined, undefined, `longer than ${MAX_LINE_CHARS} characters; an item is one id and one url`);
}

const ID_RANGE = `a whole number from ${INT64_MIN} to ${INT64_MAX}`;

function csvEntry(line: Line, position: number, columns: { id: number; url: number }): Entry {
  if (line.overlong) return overlong(line, position);
  const fields = parseCsvLine(line.text);
  if (typeof fields === "string") return problem(line, position, false, undefined, undefined, `not CSV: ${fields}`);
  const rawId = fields[columns.id];
  const rawUrl = fields[columns.url];
  if (rawId === undefined || rawUrl === undefined) {
    return problem(line, position, false, rawId, rawUrl, `has ${fields.length} columns, the header names id and url in columns ${columns.id + 1} and ${columns.url + 1}`);
  }
  return item(line, position, rawId, rawUrl, parseId(rawId), rawUrl.trim());
}

function jsonEntry(line: Line, position: number): Entry {
  if (line.overlong) return overlong(line, position);
  let value: unknown;
  try {
    value = JSON.parse(line.text);
  } catch (e) {
    return problem(line, position, false, undefined, undefined, `not JSON: ${(e as Error).message}; each line must be an object like {"id": 1, "url": "https://..."}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return problem(line, position, false, undefined, undefined, `must be a JSON object like {"id": 1, "url": "https://..."}`);
  }
  const rawId = rawMember(line.text, "id");
  const rawUrl = rawMember(line.text, "url");
  const fields = value as Record<string, unknown>;
  const idValue = fields.id;
  const id = typeof idValue === "string" ? parseId(idValue) : typeof idValue === "number" && rawId !== undefined ? parseId(rawId) : undefined;
  const url = typeof fields.url === "string" ? fields.url.trim() : undefined;
  if (rawUrl !== undefined && url === undefined) return problem(line, position, true, rawId, rawUrl, `url must be a string`);
  return item(line, position, rawId, rawUrl, id, url ?? "");
}

function item(line: Line, position: number, rawId: string | undefined, rawUrl: string | undefined, id: bigint | undefined, url: string): Entry {
  if (rawId === undefined || rawId.trim() === "") return problem(line, position, true, rawId, rawUrl, `no id; give ${ID_RANGE}`);
  if (id === undefined) return problem(line, position, true, rawId, rawUrl, `id ${rawId} is not ${ID_RANGE}`);
  if (url === "") return problem(line, position, true, rawId, rawUrl, `no url; give the http(s) URL of an SVG`);
  return { position, line: line.number, text: line.text, parsed: true, rawId, rawUrl, item: { id, url } };
}
