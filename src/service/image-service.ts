/**
 * What svgvec does, independent of how it is called: add (upsert) images by
 * URL, stream many adds, list, search by text or by image, describe and remove. The gRPC
 * edge validates input and maps errors; everything else lives here.
 *
 * Writes go to Milvus in batches (natural batching: one upsert per batch, with
 * one query for the existing rows), so a stream of thousands of items costs
 * tens of Milvus calls, not thousands, while a single AddImage still goes
 * out at once.
 */
import { LRUCache } from "lru-cache";
import { LimitError, NotFoundError, StoreRejectedError, SvgVecError, errorMessage } from "../errors.js";
import { Batcher } from "../batcher.js";
import { type ClipModel, type ClipModelInfo, MAX_DYNAMIC_BATCH } from "../clip/clip.js";
import type { ImagePipeline } from "../pipeline/image-pipeline.js";
import type { ImageRecord, MilvusStore, SearchHit, StoreInfo } from "../store/milvus-store.js";
import { countImported, countTextCache, encoderObserver } from "../metrics/metrics.js";
import { KeyedLock } from "./keyed-lock.js";

export type AddOutcome = "added" | "replaced" | "unchanged";

export interface AddResult {
  record: ImageRecord;
  outcome: AddOutcome;
}

/** One item of a streamed import: valid (id and url) or already known to be bad. */
export type StreamItem =
  | { index: number; id: bigint; url: string }
  | { index: number; id: bigint | undefined; url: string; invalid: SvgVecError };

export interface ItemFailure {
  index: number;
  id: bigint | undefined;
  url: string;
  error: SvgVecError | Error;
}

export interface StreamSummary {
  received: number;
  added: number;
  replaced: number;
  unchanged: number;
  failed: number;
  /** The first MAX_LISTED_FAILURES failures by index. */
  failures: ItemFailure[];
}

/**
 * How long after a write that found no record its added_at is checked again. Another replica that
 * also found none writes its own, later added_at; the check sees it and puts the earlier one back.
 * It finds every such write whose query-to-upsert span (one Strong query and one upsert) is shorter.
 */
export const ADD_SETTLE_MS = 3_000;
/** Checks of one add after repairs: a replica that keeps writing an id delays the end, not forever. */
const MAX_SETTLE_ROUNDS = 5;

/** Failures listed in a stream's summary; the rest are only counted, so memory stays bounded. */
export const MAX_LISTED_FAILURES = 1000;

/** What a search looks for: the embedding of a text, of the SVG at a URL, or a stored record's vector. */
export type SearchQuery =
  | { kind: "text"; text: string }
  | { kind: "url"; url: string }
  | { kind: "id"; id: bigint; includeSelf: boolean };

export interface SearchOptions {
  k: number;
  /** Clusters probed; the server's default when left out. */
  nprobe?: number;
  /** Only hits at or above this similarity. */
  minSimilarity?: number;
  /** Ids never returned; they do not take places among the k. */
  excludeIds?: readonly bigint[];
  signal?: AbortSignal;
}

export interface Stats {
  totalImages: number;
  store: StoreInfo;
  model: ClipModelInfo;
}

export interface ImageServiceOptions {
  /** Clusters probed per IVF search when a request does not say. */
  nprobe: number;
  searchConsistency: "strong" | "bounded";
  /** Items of one stream in flight at once. */
  streamConcurrency: number;
  textCacheSize: number;
  upsertBatch: number;
  /** StreamAddImages calls open at once; one more is refused. */
  maxStreams: number;
  /** AddImage calls in progress at once; one more is refused. */
  maxInflightAdds: number;
  /** ListImages calls open at once; one more is refused. */
  maxLists: number;
  /** Search calls in progress at once; one more is refused. */
  maxSearches: number;
  /** Most encoded bytes of records in one ListImages page. */
  listPageBytes: number;
}

interface PendingWrite {
  id: bigint;
  url: string;
  vector: Float32Array;
  contentHash: string;
}

/** An add of this process awaiting its check, with the added_at it wrote. */
interface Settling {
  id: bigint;
  addedAt: string;
}

/** One write's end: a batch can store some items and fail others. */
type Written = { result: AddResult } | { error: Error };

export class ImageService {
  private readonly locks = new KeyedLock<bigint>();
  private readonly writer: Batcher<PendingWrite, Written>;
  private readonly textEncoder: Batcher<string, Float32Array>;
  private readonly textCache: LRUCache<string, Float32Array> | undefined;
  /**
   * What this process last wrote per id, to recognise a re-add of the same url and content. Only a
   * hint: another replica may have written the id since, which the stored updated_at shows.
   */
  private readonly written = new LRUCache<bigint, { url: string; contentHash: string; updatedAt: string }>({ max: 100_000 });
  /** Ids this process added (found no record for) and has yet to check, with the added_at it wrote. */
  private readonly settling = new Map<bigint, string>();
  /** Queries being encoded, shared by every caller that asks for the same text meanwhile. */
  private readonly textInFlight = new Map<string, { vector: Promise<Float32Array>; callers: number; leave: AbortController }>();
  private readonly addLimit: CallLimit;
  /** The add limit's refusal as a search by like_url hears it: it is no AddImage call and imports nothing. */
  private readonly urlSearchRefusal: string;
  private readonly streamLimit: CallLimit;
  private readonly listLimit: CallLimit;
  private readonly searchLimit: CallLimit;
  /** Cumulative time in Milvus writes, for benchmarks. */
  readonly storeTimes = { writeMs: 0, writes: 0, rows: 0 };

  constructor(
    private readonly pipeline: ImagePipeline,
    private readonly model: ClipModel,
    private readonly store: MilvusStore,
    private readonly options: ImageServiceOptions,
  ) {
    this.writer = new Batcher((items) => this.write(items), { maxBatch: options.upsertBatch, concurrency: 1 });
    this.textEncoder = new Batcher((texts) => model.embedTexts(texts), {
      maxBatch: model.info.textBatch ?? MAX_DYNAMIC_BATCH,
      // One run per text session: each run goes to an idle session (ClipModel.embedTexts).
      concurrency: model.info.textSessions,
      observer: encoderObserver("text"),
    });
    this.textCache = options.textCacheSize > 0 ? new LRUCache({ max: options.textCacheSize }) : undefined;
    this.addLimit = new CallLimit(
      options.maxInflightAdds,
      `${options.maxInflightAdds} AddImage calls are already in progress (SVGVEC_MAX_INFLIGHT_ADDS); ` +
        `retry with backoff, or send bulk imports through StreamAddImages`,
    );
    this.urlSearchRefusal =
      `${options.maxInflightAdds} AddImage calls and searches by like_url are already downloading and rendering ` +
      `(SVGVEC_MAX_INFLIGHT_ADDS); retry with backoff, or search by like_id for an image already stored`;
    this.streamLimit = new CallLimit(
      options.maxStreams,
      `${options.maxStreams} StreamAddImages calls are already open (SVGVEC_MAX_STREAMS); ` +
        `retry when one has finished, or send more items per stream`,
    );
    this.listLimit = new CallLimit(
      options.maxLists,
      `${options.maxLists} ListImages calls are already open (SVGVEC_MAX_LISTS); ` +
        `retry when one has finished, and read each listing to its end or cancel it`,
    );
    this.searchLimit = new CallLimit(
      options.maxSearches,
      `${options.maxSearches} Search calls are already in progress (SVGVEC_MAX_SEARCHES); retry with backoff`,
    );
  }

  /** Embeds the SVG at url and upserts it under id. Nothing is written unless the embedding succeeded. */
  async add(id: bigint, url: string, opts: { includeVector?: boolean; signal?: AbortSignal } = {}): Promise<AddResult> {
    try {
      const result = await this.addLimit.run(() => this.addOne(id, url, opts));
      countImported("AddImage", result.outcome);
      return result;
    } catch (e) {
      countImported("AddImage", "failed");
      throw e;
    }
  }

  private async addOne(id: bigint, url: string, opts: { includeVector?: boolean; signal?: AbortSignal }): Promise<AddResult> {
    this.store.checkId(id);
    const svg = await this.pipeline.fetch(url, opts.signal);
    const unchanged = await this.unchanged(id, url, svg.contentHash, opts.includeVector === true);
    if (unchanged !== undefined) return unchanged;
    const vector = await this.pipeline.embed(svg, opts.signal);
    opts.signal?.throwIfAborted();
    const result = await this.locks.run(id, () => this.submitWrite({ id, url, vector, contentHash: svg.contentHash }));
    if (opts.includeVector !== true) return result;
    return { ...result, record: { ...result.record, vector: Array.from(vector) } };
  }

  /**
   * The stored record when id still holds what this process wrote for this url and content. The
   * stored updated_at must be the one written: any other writer (another replica, a repair of
   * added_at excepted, which keeps it) changed it, and its vector may be of other content.
   */
  private async unchanged(id: bigint, url: string, contentHash: string, includeVector: boolean): Promise<AddResult | undefined> {
    const last = this.written.get(id);
    if (last === undefined || last.url !== url || last.contentHash !== contentHash) return undefined;
    const record = await this.store.get(id, includeVector);
    if (record === undefined || record.url !== url || record.updatedAt !== last.updatedAt) return undefined;
    return { record, outcome: "unchanged" };
  }

  /** Queues a write for the next batch; a batch can store some items and fail others. */
  private async submitWrite(item: PendingWrite): Promise<AddResult> {
    const written = await this.writer.submit(item);
    if ("error" in written) throw written.error;
    return written.result;
  }

  /**
   * One Milvus query and one upsert for a whole batch of writes. When Milvus refuses the batch for
   * the data of its rows, the rows go again one by one, so only the rows it refuses fail.
   */
  private async write(items: PendingWrite[]): Promise<Written[]> {
    const started = performance.now();
    const existing = await this.store.existing(items.map((i) => i.id));
    const now = new Date().toISOString();
    const results = items.map((item): AddResult => {
      const before = existing.get(item.id);
      const addedAt = before?.addedAt ?? now;
      existing.set(item.id, { addedAt, url: item.url });
      return {
        record: { id: item.id, url: item.url, addedAt, updatedAt: now },
        outcome: before === undefined ? "added" : "replaced",
      };
    });
    // The per-id lock keeps one id out of a batch twice; keep the last row per id all the same.
    const rows = new Map(items.map((item, i) => [item.id, { ...item, addedAt: results[i]!.record.addedAt, updatedAt: now }]));
    const failed = new Map<bigint, Error>();
    try {
      await this.store.upsert([...rows.values()]);
      this.storeTimes.writes++;
    } catch (e) {
      // A transport failure or a refusal of the whole call would fail each row alike: no retry.
      if (!(e instanceof StoreRejectedError && e.rowsRefused) || rows.size === 1) throw e;
      for (const row of rows.values()) {
        // Once Milvus is unreachable, the rows not yet written fail with that, not one call each.
        const unreachable = [...failed.values()].find((f) => !(f instanceof StoreRejectedError));
        if (unreachable !== undefined) {
          failed.set(row.id, unreachable);
          continue;
        }
        try {
          await this.store.upsert([row]);
          this.storeTimes.writes++;
        } catch (rowError) {
          failed.set(row.id, asError(rowError));
        }
      }
    }
    const added: Settling[] = [];
    items.forEach((item, i) => {
      if (failed.has(item.id)) return;
      this.written.set(item.id, { url: item.url, contentHash: item.contentHash, updatedAt: now });
      if (results[i]!.outcome === "added") {
        this.settling.set(item.id, now);
        added.push({ id: item.id, addedAt: now });
      }
    });
    if (added.length > 0) this.settleLater(added, 1);
    this.storeTimes.writeMs += performance.now() - started;
    this.storeTimes.rows += rows.size - failed.size;
    return items.map((item, i): Written => {
      const error = failed.get(item.id);
      return error === undefined ? { result: results[i]! } : { error };
    });
  }

  /**
   * Checks the ids again once writes that raced with their adds have landed: one Strong query for
   * them all. Milvus has no compare-and-set, so two replicas that both found no record both write
   * their own added_at, and the last upsert wins. The later writer never sees the earlier one's
   * row, but the earlier writer, reading after ADD_SETTLE_MS, sees a later added_at and restores its own.
   */
  private settleLater(adds: readonly Settling[], round: number): void {
    const timer = setTimeout(() => {
      this.settle(adds, round).catch(() => {
        // Milvus unreachable or closing: the added_at of a raced add stays the later one.
        for (const add of adds) this.forgetSettling(add);
      });
    }, ADD_SETTLE_MS);
    timer.unref();
  }

  private async settle(adds: readonly Settling[], round: number): Promise<void> {
    // Not those removed or added anew since: their own check (or none) applies.
    const mine = adds.filter((add) => this.settling.get(add.id) === add.addedAt);
    if (mine.length === 0) return;
    const stored = await this.store.existing(mine.map((m) => m.id));
    const repaired: Settling[] = [];
    for (const add of mine) {
      const now = stored.get(add.id);
      if (now !== undefined && later(now.addedAt, add.addedAt) && (await this.locks.run(add.id, () => this.restoreAddedAt(add)))) {
        repaired.push(add);
      }
    }
    for (const add of mine) if (!repaired.includes(add) || round >= MAX_SETTLE_ROUNDS) this.forgetSettling(add);
    // A replica's write that read the later added_at before the repair may land after it: look again.
    if (repaired.length > 0 && round < MAX_SETTLE_ROUNDS) this.settleLater(repaired, round + 1);
  }

  private forgetSettling(add: Settling): void {
    if (this.settling.get(add.id) === add.addedAt) this.settling.delete(add.id);
  }

  /**
   * Rewrites id's record as stored, with the earlier added_at; url, vector and updated_at stay the
   * last writer's. Under the per-id lock, so none of this process's own writes can fall in between.
   */
  private async restoreAddedAt({ id, addedAt }: Settling): Promise<boolean> {
    if (this.settling.get(id) !== addedAt) return false;
    const record = await this.store.get(id, true);
    if (record?.vector === undefined || !later(record.addedAt, addedAt)) return false;
    await this.store.upsert([{ id, url: record.url, vector: record.vector, addedAt, updatedAt: record.updatedAt }]);
    return true;
  }

  /**
   * Adds items as they arrive, a bounded number at a time: the next item is
   * pulled only when a slot is free, so a fast client meets flow control and
   * memory stays bounded however long the stream.
   */
  async addStream(items: AsyncIterable<StreamItem>, signal?: AbortSignal): Promise<StreamSummary> {
    return this.streamLimit.run(() => this.streamAdds(items, signal));
  }

  private async streamAdds(items: AsyncIterable<StreamItem>, signal?: AbortSignal): Promise<StreamSummary> {
    const summary: StreamSummary = { received: 0, added: 0, replaced: 0, unchanged: 0, failed: 0, failures: [] };
    const fail = (failure: ItemFailure) => {
      summary.failed++;
      countImported("StreamAddImages", "failed");
      summary.failures.push(failure);
      // Items finish out of order; trim now and then to the lowest indexes.
      if (summary.failures.length >= 2 * MAX_LISTED_FAILURES) keepFirstFailures(summary);
    };
    const running = new Set<Promise<void>>();
    const process = async (item: StreamItem): Promise<void> => {
      if ("invalid" in item) {
        fail({ index: item.index, id: item.id, url: item.url, error: item.invalid });
        return;
      }
      try {
        const { outcome } = await this.addOne(item.id, item.url, signal ? { signal } : {});
        summary[outcome]++;
        countImported("StreamAddImages", outcome);
      } catch (e) {
        fail({ index: item.index, id: item.id, url: item.url, error: asError(e) });
      }
    };
    try {
      for await (const item of items) {
        summary.received++;
        const p = process(item).finally(() => running.delete(p));
        running.add(p);
        if (running.size >= this.options.streamConcurrency) await Promise.race(running);
      }
    } finally {
      // Whether the stream ended or broke off, its slot is free only once its items have stopped
      // (a cancelled stream's items stop at their next step, through the signal).
      await Promise.all(running);
    }
    keepFirstFailures(summary);
    return summary;
  }

  /**
   * Every record, in pages of at most pageSize records and listPageBytes encoded bytes. The call
   * holds one of SVGVEC_MAX_LISTS slots from its first page until it ends or is returned.
   */
  async *list(opts: { includeVectors: boolean; limit: number; pageSize: number }): AsyncGenerator<ImageRecord[]> {
    const release = this.listLimit.acquire();
    try {
      for await (const page of this.store.list(opts)) yield* splitByBytes(page, this.options.listPageBytes);
    } finally {
      release();
    }
  }

  /**
   * The text's embedding: remembered for repeated queries, batched with concurrent ones, and
   * encoded once for concurrent identical ones (which on a batch-1 file, or with several text
   * sessions, would otherwise each take a run).
   */
  async embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array> {
    const cached = this.textCache?.get(text);
    countTextCache(cached !== undefined);
    if (cached !== undefined) return cached;
    let shared = this.textInFlight.get(text);
    if (shared === undefined) {
      const leave = new AbortController();
      const vector = this.textEncoder.submit(text, leave.signal).then((v) => {
        this.textCache?.set(text, v);
        return v;
      });
      const entry = { vector, callers: 0, leave };
      shared = entry;
      this.textInFlight.set(text, entry);
      // Handled here too: when every caller has left, nobody else awaits the rejection.
      vector.catch(() => undefined).finally(() => this.textInFlight.get(text) === entry && this.textInFlight.delete(text));
    }
    shared.callers++;
    try {
      return await untilAborted(shared.vector, signal);
    } finally {
      // The last caller to leave takes the text out of the queue, if it is still waiting there.
      if (--shared.callers === 0) shared.leave.abort(signal?.reason);
    }
  }

  /** Searches by the text's embedding; a caller that leaves while its query waits for the encoder frees its place. */
  async search(text: string, k: number, nprobe?: number, signal?: AbortSignal): Promise<SearchHit[]> {
    return this.find({ kind: "text", text }, { k, ...(nprobe !== undefined ? { nprobe } : {}), ...(signal ? { signal } : {}) });
  }

  /**
   * The k stored records nearest to the query, best first, holding one of SVGVEC_MAX_SEARCHES
   * slots while it encodes a text or reads a stored vector, and while Milvus searches. A record
   * searched for by id is left out of its own hits unless asked for.
   */
  async find(query: SearchQuery, opts: SearchOptions): Promise<SearchHit[]> {
    // A like_url's download and render count against the add limit, as an add's do, and take no
    // search slot while they run: a few slow servers must not hold every text search up.
    const embedded = query.kind === "url" ? await this.embedUrl(query.url, opts.signal) : undefined;
    return this.searchLimit.run(async () => {
      const vector = query.kind === "url" ? embedded! : await this.queryVector(query, opts.signal);
      opts.signal?.throwIfAborted();
      const exclude = new Set(opts.excludeIds);
      if (query.kind === "id" && !query.includeSelf) exclude.add(query.id);
      const hits = await this.store.search(vector, opts.k, opts.nprobe ?? this.options.nprobe, this.options.searchConsistency, [...exclude]);
      const min = opts.minSimilarity;
      return min === undefined ? hits : hits.filter((h) => h.similarity >= min);
    });
  }

  /** The vector of a text or stored-id query; a like_url's is embedded before the search slot is taken. */
  private async queryVector(query: Exclude<SearchQuery, { kind: "url" }>, signal: AbortSignal | undefined): Promise<ArrayLike<number>> {
    switch (query.kind) {
      case "text":
        return this.embedQuery(query.text, signal);
      case "id": {
        const record = await this.store.get(query.id, true);
        if (record?.vector === undefined) {
          throw new NotFoundError(`like_id: no stored record has id ${query.id}; add it first, or search by text or like_url`);
        }
        return record.vector;
      }
    }
  }

  /** A download and render like an add's, so it counts against the same limit as AddImage. */
  private embedUrl(url: string, signal: AbortSignal | undefined): Promise<ArrayLike<number>> {
    return this.addLimit.run(async () => this.pipeline.embed(await this.pipeline.fetch(url, signal), signal), this.urlSearchRefusal);
  }

  async stats(): Promise<Stats> {
    const [totalImages, store] = await Promise.all([this.store.count(), this.store.info()]);
    return { totalImages, store, model: this.model.info };
  }

  /** Texts per text-encoder run so far (the first 100,000 runs). */
  get textEncoderRuns(): readonly number[] {
    return this.textEncoder.runSizes;
  }

  async remove(id: bigint): Promise<boolean> {
    return this.locks.run(id, async () => {
      this.written.delete(id);
      // A record added after this remove is a new one, whose added_at must not be put back.
      this.settling.delete(id);
      return this.store.remove(id);
    });
  }
}

/**
 * Calls in progress, up to a limit; one more is refused rather than queued, so
 * a client that floods learns at once and memory stays bounded.
 */
class CallLimit {
  private active = 0;

  constructor(
    private readonly max: number,
    private readonly refusal: string,
  ) {}

  async run<T>(call: () => Promise<T>, refusal = this.refusal): Promise<T> {
    const release = this.acquire(refusal);
    try {
      return await call();
    } finally {
      release();
    }
  }

  /** Takes a slot, or throws LimitError with refusal; the returned function gives it back (once, however often called). */
  acquire(refusal = this.refusal): () => void {
    if (this.active >= this.max) throw new LimitError(refusal);
    this.active++;
    let held = true;
    return () => {
      if (held) this.active--;
      held = false;
    };
  }
}

/**
 * Bytes one record takes in a ListImagesResponse, rounded up: the packed floats, the strings, and
 * at most 32 bytes of tags, lengths, the int64 id and the record's own framing.
 */
function encodedSize(record: ImageRecord): number {
  return (
    32 +
    4 * (record.vector?.length ?? 0) +
    Buffer.byteLength(record.url, "utf8") +
    Buffer.byteLength(record.addedAt, "utf8") +
    Buffer.byteLength(record.updatedAt, "utf8")
  );
}

/** The page in order, cut into runs of at most maxBytes encoded bytes (a record larger alone goes alone). */
function splitByBytes(page: ImageRecord[], maxBytes: number): ImageRecord[][] {
  const out: ImageRecord[][] = [];
  let run: ImageRecord[] = [];
  let bytes = 0;
  for (const record of page) {
    const size = encodedSize(record);
    if (run.length > 0 && bytes + size > maxBytes) {
      out.push(run);
      run = [];
      bytes = 0;
    }
    run.push(record);
    bytes += size;
  }
  if (run.length > 0) out.push(run);
  return out;
}

/** Whether timestamp a is after b; a value that is not a time is never later, so it is left alone. */
function later(a: string, b: string): boolean {
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  return Number.isFinite(ta) && Number.isFinite(tb) && ta > tb;
}

function keepFirstFailures(summary: StreamSummary): void {
  summary.failures.sort((a, b) => a.index - b.index);
  summary.failures.length = Math.min(summary.failures.length, MAX_LISTED_FAILURES);
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(errorMessage(e));
}

/** The promise's outcome, or the signal's reason as soon as it aborts (the work itself goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
