/**
 * Rasterises an SVG with resvg onto a square canvas: the image keeps its
 * aspect ratio, is centred, and is composited onto an opaque background (the
 * seed dropped alpha, so transparent icons landed on black and black strokes
 * vanished; a white background keeps them visible).
 */
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import { LimitError, RenderError, errorMessage } from "../errors.js";
import { workerFile } from "../worker-file.js";
import { type Logger, createLogger } from "../log.js";
import { type RenderFailureReason, countRenderFailure } from "../metrics/metrics.js";
import type { RenderResult, RenderTask, RenderWorkerData } from "./render-worker.js";
import { describeNonSvg, looksLikeSvg } from "./sniff.js";

export interface RenderedRgb {
  /** size x size x 3 bytes, row-major RGB. */
  rgb: Uint8Array;
  size: number;
}

export interface RenderPoolOptions {
  /** Worker threads, each rendering one SVG at a time. */
  workers: number;
  /** Time one SVG may take; past it, its worker is terminated and replaced. */
  timeoutMs: number;
  /** Memory each worker's renderer may grow to; an SVG that needs more fails and its worker is replaced. */
  maxMemoryMb: number;
  /** SVGs that may wait for a free worker; one more is refused rather than queued. */
  maxQueue: number;
}

/**
 * Rasterises SVGs in a pool of worker threads running resvg's WebAssembly
 * build (see render-worker.ts for why WebAssembly), so rendering never blocks
 * the main thread and a hostile SVG that renders for minutes is abandoned at
 * the time limit, its worker terminated and replaced.
 */
export class RenderPool {
  private readonly pool: Piscina<RenderTask, RenderResult>;
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly options: RenderPoolOptions,
    log: Logger = createLogger("error"),
  ) {
    this.pool = new Piscina({
      filename: fileURLToPath(workerFile(import.meta.url, "render-worker", "../../dist/render/")),
      name: "render",
      minThreads: options.workers,
      maxThreads: options.workers,
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData: { maxMemoryBytes: options.maxMemoryMb * 2 ** 20 } satisfies RenderWorkerData,
      // The renderer's memory is WebAssembly memory, capped above; this bounds the thread's JavaScript side.
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 },
    });
    // A thread that fails with no task to fail makes the pool emit 'error', which unheard would end the
    // process; piscina has already dropped that thread and started another.
    this.pool.on("error", (e: unknown) => {
      log.error("a render thread failed; the pool replaces it", { error: e instanceof Error ? e.stack : String(e) });
    });
  }

  get threads(): number {
    return this.pool.threads.length;
  }

  /** SVGs waiting for a free worker. */
  get queued(): number {
    return this.waiting.length;
  }

  /** SVGs being rendered now. */
  get active(): number {
    return this.running;
  }

  async render(bytes: Uint8Array, size: number, background: readonly [number, number, number], signal?: AbortSignal): Promise<RenderedRgb> {
    if (!looksLikeSvg(bytes)) throw renderFailure("not_svg", `not an SVG: ${describeNonSvg(bytes)}`);
    // The time limit is for rendering, not for waiting: hand the pool at most one SVG per worker.
    await this.acquire(signal);
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const both = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    let result: RenderResult;
    try {
      result = await this.runOnSoundThread({ svg: bytes, size, background }, both);
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) {
        throw renderFailure(
          "timeout",
          `the SVG took longer than ${this.options.timeoutMs} ms to render and was abandoned; simplify it or raise SVGVEC_RENDER_TIMEOUT_MS`,
        );
      }
      throw renderFailure("unrenderable", `the SVG cannot be rendered: ${errorMessage(e)}`);
    } finally {
      this.release();
    }
    if (!result.ok) throw renderFailure("unrenderable", result.error);
    return { rgb: result.rgb, size };
  }

  /** Runs the task, retiring any thread whose renderer trapped; a task such a thread turned away runs again. */
  private async runOnSoundThread(task: RenderTask, signal: AbortSignal): Promise<RenderResult> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.pool.run(task, { name: "render", signal });
      if (result.ok || result.retire === undefined) return result;
      // A trapped renderer's state is undefined: retire its thread (the pool starts a fresh one).
      await this.pool.threads.find((t) => t.threadId === result.retire)?.terminate();
      if (result.retry !== true || attempt === 3) return result;
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.running < this.options.workers) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.options.maxQueue) {
      return Promise.reject(
        new LimitError(
          `${this.options.maxQueue} SVGs are already waiting to render (SVGVEC_RENDER_QUEUE); retry with backoff, or send fewer at once`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** Hands the slot straight to the next waiter, if any. */
  private release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.running--;
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}


/** A render failure, counted in svgvec_render_failures_total as it is made. */
function renderFailure(reason: RenderFailureReason, message: string): RenderError {
  countRenderFailure(reason);
  return new RenderError(message);
}
