/**
 * Lines of a byte stream, read as they are consumed: for-await over the
 * stream pauses it while a line is being handled, so a file of any size is
 * read in constant memory.
 */
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";

/** A line longer than this is not an import line; it is reported, not buffered. */
export const MAX_LINE_CHARS = 1 << 20;

export interface Line {
  /** 1-based. */
  number: number;
  /** Without its line break (\n or \r\n) and, on line 1, without a UTF-8 byte order mark. */
  text: string;
  /** The line was longer than MAX_LINE_CHARS; text holds its start. */
  overlong: boolean;
}

export async function* readLines(input: Readable): AsyncGenerator<Line> {
  const decoder = new StringDecoder("utf8");
  let number = 0;
  let pending = "";
  let overlong = false;
  const finish = (text: string): Line => {
    number++;
    let t = text.endsWith("\r") ? text.slice(0, -1) : text;
    if (number === 1 && t.startsWith("\uFEFF")) t = t.slice(1);
    const line = { number, text: t, overlong };
    overlong = false;
    return line;
  };
  for await (const chunk of input) {
    const text = typeof chunk === "string" ? chunk : decoder.write(chunk as Buffer);
    let start = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
      yield finish(overlong ? pending : pending + text.slice(start, nl));
      pending = "";
      start = nl + 1;
    }
    if (!overlong) {
      pending += text.slice(start);
      if (pending.length > MAX_LINE_CHARS) {
        pending = pending.slice(0, 200);
        overlong = true;
      }
    }
  }
  const rest = pending + decoder.end();
  if (rest !== "" || overlong) yield finish(rest);
}
