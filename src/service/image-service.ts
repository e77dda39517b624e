/**
 * What svgvec does, independent of how it is called: add (upsert) images by
 * URL, stream many adds, list, search by text, describe and remove. The gRPC
 * edge validates input and maps errors; everything else lives here.
 */
import { SvgVecError, errorMessage } from "../errors.js";
import type { ClipModel, ClipModelInfo } from "../pipeline/clip.js";
import type { ImagePipeline } from "../pipeline/image-pipeline.js";
import type { ImageRecord, MilvusStore, SearchHit, StoreInfo } from "../store/milvus-store.js";
import { KeyedLock } from "./keyed-lock.js";

export type AddOutcome = "added" | "replaced";

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
  failures: ItemFailure[];
}

export interface Stats {
  totalImages: number;
  store: StoreInfo;
  model: ClipModelInfo;
}

export interface ImageServiceOptions {
  /** Clusters probed per IVF search. */
  nprobe: number;
  /** Items of one stream processed at once. */
  streamConcurrency: number;
}

export class ImageService {
  private readonly locks = new KeyedLock<bigint>();

  constructor(
    private readonly pipeline: ImagePipeline,
    private readonly model: ClipModel,
    private readonly store: MilvusStore,
    private readonly options: ImageServiceOptions,
  ) {}

  /** Embeds the SVG at url and upserts it under id. Nothing is written unless the embedding succeeded. */
  async add(id: bigint, url: string, opts: { includeVector?: boolean; signal?: AbortSignal } = {}): Promise<AddResult> {
    const vector = await this.pipeline.embedUrl(url, opts.signal);
    return this.locks.run(id, async () => {
      const existing = (await this.store.addedAt([id])).get(id);
      const now = new Date().toISOString();
      const row = { id, url, vector, addedAt: existing ?? now, updatedAt: now };
      await this.store.upsert([row]);
      const record: ImageRecord = { id, url, addedAt: row.addedAt, updatedAt: now };
      if (opts.includeVector === true) record.vector = Array.from(vector);
      return { record, outcome: existing === undefined ? "added" : "replaced" };
    });
  }

  /**
   * Adds items as they arrive, a bounded number at a time: the next item is
   * pulled only when a slot is free, so a fast client meets flow control.
   */
  async addStream(items: AsyncIterable<StreamItem>, signal?: AbortSignal): Promise<StreamSummary> {
    const summary: StreamSummary = { received: 0, added: 0, replaced: 0, failures: [] };
    const running = new Set<Promise<void>>();
    const process = async (item: StreamItem): Promise<void> => {
      if ("invalid" in item) {
        summary.failures.push({ index: item.index, id: item.id, url: item.url, error: item.invalid });
        return;
      }
      try {
        const { outcome } = await this.add(item.id, item.url, signal ? { signal } : {});
        if (outcome === "added") summary.added++;
        else summary.replaced++;
      } catch (e) {
        summary.failures.push({ index: item.index, id: item.id, url: item.url, error: asError(e) });
      }
    };
    for await (const item of items) {
      summary.received++;
      const p = process(item).finally(() => running.delete(p));
      running.add(p);
      if (running.size >= this.options.streamConcurrency) await Promise.race(running);
    }
    await Promise.all(running);
    summary.failures.sort((a, b) => a.index - b.index);
    return summary;
  }

  list(opts: { includeVectors: boolean; limit: number; pageSize: number }): AsyncGenerator<ImageRecord[]> {
    return this.store.list(opts);
  }

  async search(text: string, k: number): Promise<SearchHit[]> {
    const vector = await this.model.embedText(text);
    return this.store.search(vector, k, this.options.nprobe);
  }

  async stats(): Promise<Stats> {
    const [totalImages, store] = await Promise.all([this.store.count(), this.store.info()]);
    return { totalImages, store, model: this.model.info };
  }

  async remove(id: bigint): Promise<boolean> {
    return this.locks.run(id, () => this.store.remove(id));
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(errorMessage(e));
}
