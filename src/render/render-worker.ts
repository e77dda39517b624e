/**
 * Runs in a render worker thread (see render.ts). resvg is the WebAssembly
 * build on purpose: WebAssembly has no file system and no network, so no SVG
 * can make the renderer read a local file (the native build loads `<image
 * href="/etc/...">` from disk) or open a connection; and a worker running
 * WebAssembly can be terminated mid-render, which a native call cannot.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { getHeapStatistics } from "node:v8";
import { threadId } from "node:worker_threads";
import { Resvg, initWasm, type ResvgRenderOptions } from "@resvg/resvg-wasm";
import { workerData } from "piscina";
import { capWasmMemory } from "./wasm-memory.js";

export interface RenderTask {
  svg: Uint8Array;
  size: number;
  background: readonly [number, number, number];
}

export interface RenderWorkerData {
  /** Most bytes the renderer's WebAssembly memory may grow to. */
  maxMemoryBytes: number;
}

export type RenderResult =
  | { ok: true; rgb: Uint8Array }
  /**
   * retire: this thread's renderer trapped, so its state is undefined and the
   * thread must go; retry: it trapped on an earlier SVG and did not try this one.
   */
  | { ok: false; error: string; retire?: number; retry?: true };

const require = createRequire(import.meta.url);
const data = workerData as RenderWorkerData | undefined;
const MAX_MEMORY_BYTES = data?.maxMemoryBytes;
const wasm = await readFile(require.resolve("@resvg/resvg-wasm/index_bg.wasm"));
await initWasm(MAX_MEMORY_BYTES === undefined ? wasm : capWasmMemory(wasm, MAX_MEMORY_BYTES));
// The WebAssembly memory is this thread's external memory, so growth past the start is what renders used.
const BASELINE_BYTES = getHeapStatistics().external_memory;
let trapped = false;

const BASE_OPTIONS: ResvgRenderOptions = {
  // No fonts at all: system fonts cost time per render and make output machine-dependent.
  font: { loadSystemFonts: false },
};

/** Draws the SVG fitted into a size x size square, centred on the background. */
export function render({ svg, size, background }: RenderTask): RenderResult {
  // The pool may hand this thread one more SVG before it retires it.
  if (trapped) return { ok: false, error: "the renderer was being replaced", retire: threadId, retry: true };
  const [r, g, b] = background;
  const options: ResvgRenderOptions = { ...BASE_OPTIONS, background: `rgb(${r}, ${g}, ${b})` };
  try {
    // Fit the width first; only a portrait image, which then comes out too tall, is drawn again by height.
    let image = draw(svg, { ...options, fitTo: { mode: "width", value: size } });
    if (image.height > size) image = draw(svg, { ...options, fitTo: { mode: "height", value: size } });
    if (image.width === 0 || image.height === 0) return { ok: false, error: "the SVG has no drawable size" };
    return { ok: true, rgb: letterbox(image.pixels, image.width, image.height, size, background) };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    // WebAssembly.RuntimeError: a trap (Rust's out-of-memory abort and panics end in one).
    if (e instanceof Error && e.name === "RuntimeError") {
      trapped = true;
      return { ok: false, error: trapMessage(why), retire: threadId };
    }
    if (/utf-8/i.test(why)) return { ok: false, error: "the SVG is not UTF-8 text; save it as UTF-8" };
    return { ok: false, error: /parse|xml|svg/i.test(why) ? `the SVG cannot be parsed: ${why}` : `the SVG cannot be rendered: ${why}` };
  }
}

/** A trap leaves the renderer's state undefined; say whether the memory cap is the likely cause. */
function trapMessage(why: string): string {
  if (MAX_MEMORY_BYTES === undefined) return `the SVG crashed the renderer (${why})`;
  const mib = Math.round(MAX_MEMORY_BYTES / 2 ** 20);
  const used = getHeapStatistics().external_memory - BASELINE_BYTES;
  // Memory grows step by step, so a render stopped by the cap has used most of it.
  if (used >= MAX_MEMORY_BYTES / 2) {
    return `the SVG needs more than ${mib} MiB of memory to render and was abandoned; simplify it or raise SVGVEC_RENDER_MAX_MEMORY_MB`;
  }
  return `the SVG crashed the renderer (${why}); if it needs more than ${mib} MiB of memory, raise SVGVEC_RENDER_MAX_MEMORY_MB`;
}

function draw(svg: Uint8Array, options: ResvgRenderOptions): { pixels: Uint8Array; width: number; height: number } {
  const resvg = new Resvg(svg, options);
  return freeAfter(resvg, () => {
    const image = resvg.render();
    return freeAfter(image, () => ({ pixels: image.pixels, width: image.width, height: image.height }));
  });
}

/** Runs use, then frees obj; when use throws, its error is the one that surfaces. */
function freeAfter<T>(obj: { free(): void }, use: () => T): T {
  let result: T;
  try {
    result = use();
  } catch (e) {
    try {
      obj.free();
    } catch {
      // After a trap the object stays borrowed and free() throws too; the trap is what matters.
    }
    throw e;
  }
  obj.free();
  return result;
}

/** Centres an opaque RGBA image on a size x size canvas filled with the background. */
function letterbox(
  rgba: Uint8Array,
  w: number,
  h: number,
  size: number,
  [r, g, b]: readonly [number, number, number],
): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  for (let i = 0; i < out.length; i += 3) {
    out[i] = r;
    out[i + 1] = g;
    out[i + 2] = b;
  }
  const cw = Math.min(w, size);
  const ch = Math.min(h, size);
  const ox = Math.floor((size - cw) / 2);
  const oy = Math.floor((size - ch) / 2);
  for (let y = 0; y < ch; y++) {
    let src = y * w * 4;
    let dst = ((oy + y) * size + ox) * 3;
    for (let x = 0; x < cw; x++, src += 4, dst += 3) {
      out[dst] = rgba[src]!;
      out[dst + 1] = rgba[src + 1]!;
      out[dst + 2] = rgba[src + 2]!;
    }
  }
  return out;
}
