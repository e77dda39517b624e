/**
 * Rasterises an SVG with resvg onto a square canvas: the image keeps its
 * aspect ratio, is centred, and is composited onto an opaque background (the
 * seed dropped alpha, so transparent icons landed on black and black strokes
 * vanished; a white background keeps them visible).
 */
import { renderAsync, type ResvgRenderOptions } from "@resvg/resvg-js";
import { RenderError, errorMessage } from "../errors.js";

export interface RenderedRgb {
  /** size x size x 3 bytes, row-major RGB. */
  rgb: Uint8Array;
  size: number;
}

const BASE_OPTIONS: ResvgRenderOptions = {
  // System fonts take tens of milliseconds to load per render and make output machine-dependent.
  font: { loadSystemFonts: false },
  logLevel: "off",
};

const SVG_ROOT = /^(?:\uFEFF)?\s*(?:<\?xml[^>]*\?>\s*)?(?:(?:<!--[\s\S]*?-->|<!DOCTYPE[^>[]*(?:\[[\s\S]*?\])?\s*>)\s*)*<(?:[A-Za-z_][\w.-]*:)?svg[\s>/]/;

/** True when bytes look like an SVG document (an <svg> root after any prolog). */
export function looksLikeSvg(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 4096)).toString("utf8");
  return SVG_ROOT.test(head);
}

export function describeNonSvg(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 64));
  if (bytes.length === 0) return "the file is empty";
  if (b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return "the file is a PNG image";
  if (b[0] === 0xff && b[1] === 0xd8) return "the file is a JPEG image";
  if (b.subarray(0, 4).toString("latin1") === "GIF8") return "the file is a GIF image";
  const text = b.toString("utf8").trimStart().toLowerCase();
  if (text.startsWith("<!doctype html") || text.startsWith("<html")) return "the file is an HTML page";
  if (text.startsWith("{") || text.startsWith("[")) return "the file is JSON";
  return "the file has no <svg> root element";
}

export async function renderSvg(
  bytes: Uint8Array,
  size: number,
  background: readonly [number, number, number],
): Promise<RenderedRgb> {
  if (!looksLikeSvg(bytes)) throw new RenderError(`not an SVG: ${describeNonSvg(bytes)}`);
  const svg = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const [r, g, b] = background;
  const options = { ...BASE_OPTIONS, background: `rgb(${r}, ${g}, ${b})` };
  // Parsing and drawing happen on libuv's thread pool (renderAsync), never on the main thread.
  // Fit the width first; only a portrait image, which then comes out too tall, is drawn again by height.
  let image = await renderOffThread(svg, { ...options, fitTo: { mode: "width", value: size } });
  if (image.height > size) image = await renderOffThread(svg, { ...options, fitTo: { mode: "height", value: size } });
  if (image.width === 0 || image.height === 0) throw new RenderError(`the SVG has no drawable size`);
  return { rgb: letterbox(image.pixels, image.width, image.height, size, background), size };
}

async function renderOffThread(svg: Buffer, options: ResvgRenderOptions) {
  try {
    return await renderAsync(svg, options);
  } catch (e) {
    const why = errorMessage(e);
    throw new RenderError(/parse|xml|svg/i.test(why) ? `the SVG cannot be parsed: ${why}` : `the SVG cannot be rendered: ${why}`);
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
