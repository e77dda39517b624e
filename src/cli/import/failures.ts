/**
 * The failures file: every item that was not stored, in the input's format
 * with code, reason and line added, so that it can be fixed and imported
 * again as it is (the importer ignores the extra columns and fields).
 */
import { once } from "node:events";
import { createWriteStream, existsSync, statSync, type WriteStream } from "node:fs";
import { basename, dirname, join } from "node:path";
import { csvField } from "../output.js";
import type { Entry, InputFormat } from "./input.js";

export interface Failure {
  entry: Entry;
  /** A gRPC status name: INVALID_ARGUMENT for a line that is not an item, else the server's. */
  code: string;
  reason: string;
}

/** <input minus its extension>.failed.<csv|jsonl> next to the input; stdin.failed.<format> for standard input. */
export function defaultFailuresPath(input: string, format: InputFormat): string {
  if (input === "-") return `stdin.failed.${format}`;
  const name = basename(input);
  const dot = name.lastIndexOf(".");
  const stem = dot > 0 ? name.slice(0, dot) : name;
  return join(dirname(input), `${stem}.failed.${format}`);
}

export class FailuresFile {
  private written = 0;

  private constructor(
    readonly path: string,
    private readonly format: InputFormat,
    private readonly out: WriteStream,
  ) {}

  /**
   * Truncates the file, or appends to it when resuming (--skip), so that a resumed run adds to the
   * failures of the run it continues.
   */
  static async open(path: string, format: InputFormat, append: boolean): Promise<FailuresFile> {
    const fresh = !append || !existsSync(path) || statSync(path).size === 0;
    const out = createWriteStream(path, { flags: fresh ? "w" : "a" });
    await once(out, "open");
    const file = new FailuresFile(path, format, out);
    if (fresh && format === "csv") await file.put("id,url,code,reason,line\n");
    return file;
  }

  get count(): number {
    return this.written;
  }

  async write(failures: readonly Failure[]): Promise<void> {
    if (failures.length === 0) return;
    await this.put(failures.map((f) => this.record(f)).join(""));
    this.written += failures.length;
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }

  private record({ entry, code, reason }: Failure): string {
    if (this.format === "csv") {
      // A line that is not CSV keeps its text in the url column, to be fixed there.
      const id = entry.parsed ? (entry.rawId ?? "") : "";
      const url = entry.parsed ? (entry.rawUrl ?? "") : entry.text;
      return `${[csvField(id), csvField(url), code, csvField(reason), String(entry.line)].join(",")}\n`;
    }
    const tail = `"code":${JSON.stringify(code)},"reason":${JSON.stringify(reason)},"line":${entry.line}`;
    if (!entry.parsed) return `{${tail},"raw":${JSON.stringify(entry.text)}}\n`;
    // The id and url as they were written: an id keeps every digit, whatever JSON reader made the input.
    const id = entry.rawId !== undefined ? `"id":${entry.rawId},` : "";
    const url = entry.rawUrl !== undefined ? `"url":${entry.rawUrl},` : "";
    return `{${id}${url}${tail}}\n`;
  }

  private async put(text: string): Promise<void> {
    if (!this.out.write(text)) await once(this.out, "drain");
  }
}
