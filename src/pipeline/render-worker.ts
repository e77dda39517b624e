/**
 * Runs in a render worker thread (see render.ts). resvg is the WebAssembly
 * build on purpose: WebAssembly has no file system and no network, so no SVG
 * can make the renderer read a local file (the native build loads `<image
 * href="/etc/...">` from disk) or open a connection; and a worker running
 * WebAssembly can be terminated mid-render, which a native call cannot.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { Resvg, initWasm, type ResvgRenderOptions } from "@resvg/resvg-wasm";

export interface RenderTask {
  svg: Uint8Array;
  size: number;
  background: readonly [number, number, number];
}

export type RenderResult = { ok: true; rgb: Uint8Array } | { ok: false; error: string };

const require = createRequire(import.meta.url);
await initWasm(await readFile(require.resolve("@resvg/resvg-wasm/index_bg.wasm")));

const BASE_OPTIONS: ResvgRenderOptions = {
  // No fonts at all: system fonts cost time per render and make output machine-dependent.
  font: { loadSystemFonts: false },
};

/** Draws the SVG fitted into a size x size square, centred on the background. */
export function render({ svg, size, background }: RenderTask): RenderResult {
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
    if (/utf-8/i.test(why)) return { ok: false, error: "the SVG is not UTF-8 text; save it as UTF-8" };
    return { ok: false, error: /parse|xml|svg/i.test(why) ? `the SVG cannot be parsed: ${why}` : `the SVG cannot be rendered: ${why}` };
  }
}

function draw(svg: Uint8Array, options: ResvgRenderOptions): { pixels: Uint8Array; width: number; height: number } {
  const resvg = new Resvg(svg, options);
  try {
    const image = resvg.render();
    try {
      return { pixels: image.pixels, width: image.width, height: image.height };
    } finally {
      image.free();
    }
  } finally {
    resvg.free();
  }
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
