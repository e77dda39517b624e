/**
 * Sends import entries through StreamAddImages in streams of at most
 * streamSize items, so that a lost connection costs at most the streams in
 * flight, which are sent again (adds are upserts, so a resent item converges
 * to the same record). Two streams overlap, so that the server starts on the
 * next one while it finishes the last items of the previous; results are
 * taken in input order, so that what is done is always a prefix of the input.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { StreamAddImagesResponse } from "../../gen/svgvec/v1/svgvec_pb.js";
import type { StreamAddItem, SvgVecClient } from "../../client/client.js";
import { codeName } from "../command.js";
import type { Failure, FailuresFile } from "./failures.js";
import type { Entry } from "./input.js";
import type { Progress, Tally } from "./progress.js";

export interface ImportOptions {
  client: SvgVecClient;
  entries: AsyncIterator<Entry>;
  /** Items (valid lines) per stream. */
  streamSize: number;
  /** Items already done by an earlier run (--skip): positions start here. */
  skip: number;
  failures: FailuresFile;
  progress: Progress;
  /** Deadline of each stream, if any. */
  timeoutMs: number | undefined;
  /** Tries per stream when the connection fails or the server is unavailable. */
  streamAttempts: number;
  /** Wait before the second try of a stream; doubles for each further try, up to 8 s. */
  retryBackoffMs: number;
  /** Stops the import (Ctrl-C): what is settled stays done, the rest is for a resumed run. */
  signal?: AbortSignal;
}

export interface ImportResult extends Tally {
  /** Entries read after --skip, valid or not. */
  items: number;
  /** Streams the server answered. */
  streams: number;
  /** Streams sent again after a lost connection or UNAVAILABLE. */
  retries: number;
  /** Items from the start of the input that are stored or in the failures file: --skip this many to resume. */
  done: number;
  /** Why the import stopped before the end of the input. */
  error?: ConnectError | Error;
}

/** Streams never hold more than this many items: the server lists the failures of the first 1,000 only. */
export const MAX_STREAM_SIZE = 1_000;

/** Streams in flight at once. */
const OVERLAP = 2;

interface Chunk {
  seq: number;
  /** Valid entries, in the order they go on the stream (a failure's index points here). */
  items: Entry[];
  /** Entries that are not items. */
  bad: Entry[];
  /** One past the position of its last entry. */
  end: number;
  /** All its entries have been read. */
  full: boolean;
  /** The input has no more entries. */
  eof: boolean;
  /** Resolves when full. */
  filled: Promise<void>;
  markFilled(): void;
}

export async function importEntries(opts: ImportOptions): Promise<ImportResult> {
  const tally: Tally = { read: 0, sent: 0, added: 0, replaced: 0, unchanged: 0, failed: 0 };
  const result: ImportResult = { ...tally, items: 0, streams: 0, retries: 0, done: opts.skip };
  const stop = new AbortController();
  // Reading waits on the input (a slow producer on stdin) as long as it takes: an interrupt must not.
  const interrupted = new Promise<never>((_resolve, reject) => {
    const onAbort = () => {
      reject(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error("the import was interrupted"));
      stop.abort(opts.signal?.reason);
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });
  });
  interrupted.catch(noop);
  const inflight: Array<{ chunk: Chunk; outcome: Promise<StreamAddImagesResponse | undefined> }> = [];
  let eof = false;
  let seq = 0;

  const next = async (): Promise<Entry | undefined> => {
    const n = await Promise.race([opts.entries.next(), interrupted]);
    if (n.done) {
      eof = true;
      return undefined;
    }
    result.items++;
    tally.read++;
    opts.progress.update(tally);
    return n.value;
  };

  const settle = async (chunk: Chunk, outcome: Promise<StreamAddImagesResponse | undefined>): Promise<void> => {
    const summary = await outcome;
    const failures: Failure[] = chunk.bad.map((entry) => ({ entry, code: "INVALID_ARGUMENT", reason: entry.problem ?? "not an item" }));
    if (summary !== undefined) {
      result.streams++;
      tally.added += Number(summary.added);
      tally.replaced += Number(summary.replaced);
      tally.unchanged += Number(summary.unchanged);
      for (const f of summary.failures) {
        const entry = chunk.items[Number(f.index)];
        if (entry !== undefined) failures.push({ entry, code: f.code, reason: f.reason });
      }
    }
    failures.sort((a, b) => a.entry.line - b.entry.line);
    await opts.failures.write(failures);
    tally.failed += failures.length;
    result.done = chunk.end;
    opts.progress.update(tally);
  };

  try {
    while (!eof) {
      const chunk = await startChunk(seq++, next);
      if (chunk === undefined) break;
      const outcome =
        chunk.items.length === 0
          ? Promise.resolve(undefined)
          : sendChunk(chunk, opts, next, stop.signal, tally, result, () => opts.progress.update(tally));
      outcome.catch(() => undefined);
      inflight.push({ chunk, outcome });
      await Promise.race([chunk.filled, outcome.then(noop, noop)]);
      if (!chunk.full) break; // its stream failed for good before its items were all read
      while (inflight.length >= OVERLAP || (eof && inflight.length > 0)) {
        const first = inflight.shift();
        if (first !== undefined) await settle(first.chunk, first.outcome);
      }
    }
    for (let first = inflight.shift(); first !== undefined; first = inflight.shift()) await settle(first.chunk, first.outcome);
  } catch (e) {
    const reason: unknown = opts.signal?.aborted ? opts.signal.reason : e;
    result.error = reason instanceof ConnectError ? reason : reason instanceof Error ? reason : new Error(String(reason));
    // What is still in flight is neither recorded nor counted: a resumed run sends it again.
    stop.abort();
    await Promise.allSettled(inflight.map((f) => f.outcome));
  }
  return Object.assign(result, tally);
}

/** A chunk whose first entries, up to its first item, are read; undefined at the end of the input. */
async function startChunk(seq: number, next: () => Promise<Entry | undefined>): Promise<Chunk | undefined> {
  let markFilled!: () => void;
  const filled = new Promise<void>((r) => (markFilled = r));
  const chunk: Chunk = { seq, items: [], bad: [], end: 0, full: false, eof: false, filled, markFilled };
  for (;;) {
    const entry = await next();
    if (entry === undefined) {
      if (chunk.bad.length === 0) return undefined;
      chunk.full = chunk.eof = true;
      chunk.markFilled();
      return chunk;
    }
    chunk.end = entry.position + 1;
    if (entry.item === undefined) {
      chunk.bad.push(entry);
      continue;
    }
    chunk.items.push(entry);
    return chunk;
  }
}

async function sendChunk(
  chunk: Chunk,
  opts: ImportOptions,
  next: () => Promise<Entry | undefined>,
  signal: AbortSignal,
  tally: Tally,
  result: ImportResult,
  changed: () => void,
): Promise<StreamAddImagesResponse> {
  let sent = 0; // items of this chunk that went on a stream at least once
  // By index, not over a copy: items already on an earlier try are sent again in the same order, and an
  // item that the abandoned try was still reading when its stream failed lands in chunk.items in input
  // order and goes out on this try.
  async function* feed(): AsyncGenerator<StreamAddItem> {
    for (let i = 0; ; i++) {
      while (i >= chunk.items.length) {
        if (chunk.full || chunk.items.length >= opts.streamSize) {
          chunk.full = true;
          chunk.markFilled();
          return;
        }
        const entry = await next();
        if (entry === undefined) {
          chunk.eof = true;
          chunk.full = true;
          chunk.markFilled();
          return;
        }
        chunk.end = entry.position + 1;
        if (entry.item === undefined) chunk.bad.push(entry);
        else chunk.items.push(entry);
      }
      const item = chunk.items[i]?.item;
      if (item === undefined) continue;
      yield item;
      if (i >= sent) {
        sent = i + 1;
        tally.sent++;
        changed();
      }
    }
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await opts.client.streamAddImages(feed(), { signal, ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) });
    } catch (e) {
      const err = ConnectError.from(e);
      if (signal.aborted || attempt >= opts.streamAttempts || !connectionLost(err)) throw err;
      const wait = Math.min(8_000, opts.retryBackoffMs * 2 ** (attempt - 1));
      result.retries++;
      opts.progress.note(
        `stream ${chunk.seq + 1} failed (${codeName(err.code)}: ${err.rawMessage}); sending its ${chunk.items.length} items again in ${(wait / 1000).toFixed(1)} s ` +
          `(try ${attempt + 1} of ${opts.streamAttempts})`,
      );
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/**
 * Whether a stream failed because the server or the connection went away, not for its content:
 * UNAVAILABLE (refused, shutting down, Milvus down), or a connection reset or closed under the stream
 * (which Connect reports as ABORTED or INTERNAL with the Node error as its cause).
 */
function connectionLost(err: ConnectError): boolean {
  if (err.code === Code.Unavailable) return true;
  if (err.code !== Code.Aborted && err.code !== Code.Internal && err.code !== Code.Canceled) return false;
  return nodeErrorCode(err.cause) !== undefined || /http\/2 stream closed|session closed|socket hang up/i.test(err.rawMessage);
}

function nodeErrorCode(e: unknown): string | undefined {
  for (let cause = e; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && /^(E[A-Z]+|ERR_HTTP2_[A-Z_]+|ERR_STREAM_[A-Z_]+)$/.test(code)) return code;
  }
  return undefined;
}

function noop(): void {}
