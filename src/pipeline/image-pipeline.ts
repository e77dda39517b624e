/**
 * URL in, embedding out, as a pipeline: downloads and renders run concurrently
 * (renders in a pool of worker threads), images are batched into the encoder's
 * worker, and nothing is done twice: the same SVG bytes are embedded once,
 * whatever ids and URLs they arrive under (content hash, bounded LRU, plus
 * sharing of an embedding still in progress).
 */
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { FetchConfig, RenderConfig } from "../config.js";
import type { Logger } from "../log.js";
import { Batcher } from "../batcher.js";
import { type ClipModel, MAX_DYNAMIC_BATCH } from "../clip/clip.js";
import { fetchSvg } from "../fetch/fetch.js";
import { encoderObserver } from "../metrics/metrics.js";
import { toTensor } from "../clip/preprocess.js";
import { RenderPool } from "../render/render.js";

export interface FetchedSvg {
  bytes: Buffer;
  /** sha256 of the (decompressed) SVG bytes. */
  contentHash: string;
}

/** Cumulative time per stage, for benchmarks and logs. */
export interface StageTimes {
  fetchMs: number;
  renderMs: number;
  /** From submitting to the encoder until its vector is back (queueing included). */
  encodeMs: number;
  fetched: number;
  rendered: number;
  encoded: number;
  cacheHits: number;
}

/** One embedding in progress, shared by every caller that wants the same content. */
interface SharedEmbed {
  contentHash: string;
  promise: Promise<Float32Array>;
  /** Aborts the render and the encoder's queue slot once no caller wants the result. */
  controller: AbortController;
  callers: number;
}

export class ImagePipeline {
  private readonly encoder: Batcher<Float32Array, Float32Array>;
  private readonly byContent: LRUCache<string, Float32Array> | undefined;
  private readonly inFlight = new Map<string, SharedEmbed>();
  private readonly renderer: RenderPool;
  readonly times: StageTimes = { fetchMs: 0, renderMs: 0, encodeMs: 0, fetched: 0, rendered: 0, encoded: 0, cacheHits: 0 };

  constructor(
    private readonly model: ClipModel,
    private readonly fetchConfig: FetchConfig,
    private readonly renderConfig: RenderConfig,
    embedCacheSize: number,
    log?: Logger,
  ) {
    // One run at a time: concurrent runs of one session only split the same cores.
    this.encoder = new Batcher((tensors) => model.embedImages(tensors), {
      maxBatch: model.info.visualBatch === undefined ? MAX_DYNAMIC_BATCH : 64,
      concurrency: 1,
      observer: encoderObserver("image"),
    });
    this.byContent = embedCacheSize > 0 ? new LRUCache({ max: embedCacheSize }) : undefined;
    this.renderer = new RenderPool(renderConfig, log);
  }

  close(): Promise<void> {
    return this.renderer.close();
  }

  async fetch(url: string, signal?: AbortSignal): Promise<FetchedSvg> {
    const started = performance.now();
    const file = await fetchSvg(url, this.fetchConfig, signal);
    this.times.fetchMs += performance.now() - started;
    this.times.fetched++;
    return { bytes: file.bytes, contentHash: createHash("sha256").update(file.bytes).digest("hex") };
  }

  /** Renders SVG bytes into the encoder's input tensor. */
  async tensorFromSvg(bytes: Uint8Array, signal?: AbortSignal): Promise<Float32Array> {
    const started = performance.now();
    const pre = this.model.info.preprocess;
    const image = await this.renderer.render(bytes, pre.size, this.renderConfig.background, signal);
    const tensor = new Float32Array(3 * pre.size * pre.size);
    toTensor(image, pre, tensor);
    this.times.renderMs += performance.now() - started;
    this.times.rendered++;
    return tensor;
  }

  /**
   * The embedding of an SVG, computed at most once per content hash while it
   * is remembered. A caller whose signal aborts stops waiting at once; the
   * work itself stops when the last caller that wanted it has gone.
   */
  embed(svg: FetchedSvg, signal?: AbortSignal): Promise<Float32Array> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const known = this.byContent?.get(svg.contentHash);
    if (known !== undefined) {
      this.times.cacheHits++;
      return Promise.resolve(known);
    }
    let shared = this.inFlight.get(svg.contentHash);
    if (shared === undefined) {
      shared = this.startEmbed(svg);
    } else {
      this.times.cacheHits++;
    }
    return this.follow(shared, signal);
  }

  private startEmbed(svg: FetchedSvg): SharedEmbed {
    const controller = new AbortController();
    const work = (async () => {
      const tensor = await this.tensorFromSvg(svg.bytes, controller.signal);
      const started = performance.now();
      const vector = await this.encoder.submit(tensor, controller.signal);
      this.times.encodeMs += performance.now() - started;
      this.times.encoded++;
      this.byContent?.set(svg.contentHash, vector);
      return vector;
    })().finally(() => this.forget(shared));
    // Callers that gave up have already been answered; the abandoned work's own failure is nobody's.
    work.catch(() => undefined);
    const shared: SharedEmbed = { contentHash: svg.contentHash, promise: work, controller, callers: 0 };
    this.inFlight.set(svg.contentHash, shared);
    return shared;
  }

  /** Stops sharing work that ended or was abandoned, so a later caller starts afresh. */
  private forget(shared: SharedEmbed): void {
    if (this.inFlight.get(shared.contentHash) === shared) this.inFlight.delete(shared.contentHash);
  }

  /** Waits for shared work on behalf of one caller, who may leave early. */
  private follow(shared: SharedEmbed, signal?: AbortSignal): Promise<Float32Array> {
    shared.callers++;
    if (signal === undefined) return shared.promise;
    return new Promise<Float32Array>((resolve, reject) => {
      const onAbort = () => {
        reject(signal.reason);
        if (--shared.callers === 0) {
          this.forget(shared);
          shared.controller.abort(signal.reason);
        }
      };
      signal.addEventListener("abort", onAbort, { once: true });
      shared.promise.then(
        (v) => {
          signal.removeEventListener("abort", onAbort);
          resolve(v);
        },
        (e: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      );
    });
  }

  /** SVGs waiting for a render worker, SVGs rendering, and embeddings in progress. */
  get load(): { renderQueued: number; rendering: number; embedding: number } {
    return { renderQueued: this.renderer.queued, rendering: this.renderer.active, embedding: this.inFlight.size };
  }

  /** Items per encoder run so far (the first 100,000 runs). */
  get encoderBatchSizes(): readonly number[] {
    return this.encoder.runSizes;
  }
}
