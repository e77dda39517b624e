/**
 * The failures file: every item that was not stored, in the input's format
 * with code, reason and line added, so that it can be fixed and imported
 * again as it is (the importer ignores the extra columns and fields).
 */
import { once } from "node:events";
import { constants, createWriteStream, existsSync, statSync, type WriteStream } from "node:fs";
import { access, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { CommandFailure } from "../command.js";
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
  private out: WriteStream | undefined;

  private constructor(
    readonly path: string,
    private readonly format: InputFormat,
    private readonly append: boolean,
  ) {}

  /**
   * Where failures go. The file is written from the first failure on: rewritten by a new run, appended
   * to when resuming (--skip), so that a resumed run adds to the failures of the run it continues. A
   * new run in which nothing fails removes the file an earlier run left, so that it never lists items
   * that are stored by now.
   */
  static async open(path: string, format: InputFormat, append: boolean): Promise<FailuresFile> {
    try {
      await access(dirname(resolve(path)), constants.W_OK);
    } catch (e) {
      throw new CommandFailure(`cannot write the failures file ${path} (${(e as Error).message}); name a writable one with --failures`);
    }
    return new FailuresFile(path, format, append);
  }

  get count(): number {
    return this.written;
  }

  async write(failures: readonly Failure[]): Promise<void> {
    if (failures.length === 0) return;
    const out = this.out ?? (await this.start());
    await put(out, failures.map((f) => this.record(f)).join(""));
    this.written += failures.length;
  }

  async close(): Promise<void> {
    const out = this.out;
    if (out === undefined) {
      if (!this.append) await rm(this.path, { force: true });
      return;
    }
    await new Promise<void>((done, fail) => out.end((err?: Error | null) => (err ? fail(err) : done())));
  }

  private async start(): Promise<WriteStream> {
    const fresh = !this.append || !existsSync(this.path) || statSync(this.path).size === 0;
    const out = createWriteStream(this.path, { flags: fresh ? "w" : "a" });
    await once(out, "open");
    this.out = out;
    if (fresh && this.format === "csv") await put(out, "id,url,code,reason,line\n");
    return out;
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
}

async function put(out: WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, "drain");
}
