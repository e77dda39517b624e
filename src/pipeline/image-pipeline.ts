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
import { Batcher } from "./batcher.js";
import { type ClipModel, MAX_DYNAMIC_BATCH } from "./clip.js";
import { fetchSvg } from "./fetch.js";
import { toTensor } from "./preprocess.js";
import { RenderPool } from "./render.js";

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

export class ImagePipeline {
  private readonly encoder: Batcher<Float32Array, Float32Array>;
  private readonly byContent: LRUCache<string, Float32Array> | undefined;
  private readonly inFlight = new Map<string, Promise<Float32Array>>();
  private readonly renderer: RenderPool;
  readonly times: StageTimes = { fetchMs: 0, renderMs: 0, encodeMs: 0, fetched: 0, rendered: 0, encoded: 0, cacheHits: 0 };

  constructor(
    private readonly model: ClipModel,
    private readonly fetchConfig: FetchConfig,
    private readonly renderConfig: RenderConfig,
    embedCacheSize: number,
  ) {
    // One run at a time: concurrent runs of one session only split the same cores.
    this.encoder = new Batcher((tensors) => model.embedImages(tensors), {
      maxBatch: model.info.visualBatch === undefined ? MAX_DYNAMIC_BATCH : 64,
      concurrency: 1,
    });
    this.byContent = embedCacheSize > 0 ? new LRUCache({ max: embedCacheSize }) : undefined;
    this.renderer = new RenderPool(renderConfig);
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
  async tensorFromSvg(bytes: Uint8Array): Promise<Float32Array> {
    const started = performance.now();
    const pre = this.model.info.preprocess;
    const image = await this.renderer.render(bytes, pre.size, this.renderConfig.background);
    const tensor = new Float32Array(3 * pre.size * pre.size);
    toTensor(image, pre, tensor);
    this.times.renderMs += performance.now() - started;
    this.times.rendered++;
    return tensor;
  }

  /** The embedding of an SVG, computed at most once per content hash while it is remembered. */
  embed(svg: FetchedSvg): Promise<Float32Array> {
    const known = this.byContent?.get(svg.contentHash);
    if (known !== undefined) {
      this.times.cacheHits++;
      return Promise.resolve(known);
    }
    const running = this.inFlight.get(svg.contentHash);
    if (running !== undefined) {
      this.times.cacheHits++;
      return running;
    }
    const work = (async () => {
      const tensor = await this.tensorFromSvg(svg.bytes);
      const started = performance.now();
      const vector = await this.encoder.submit(tensor);
      this.times.encodeMs += performance.now() - started;
      this.times.encoded++;
      this.byContent?.set(svg.contentHash, vector);
      return vector;
    })().finally(() => this.inFlight.delete(svg.contentHash));
    this.inFlight.set(svg.contentHash, work);
    return work;
  }

  /** Items per encoder run so far (the first 100,000 runs). */
  get encoderBatchSizes(): readonly number[] {
    return this.encoder.runSizes;
  }
}
