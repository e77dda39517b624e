import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RenderError } from "../../src/errors.js";
import { type RenderFailureReason, registry } from "../../src/metrics/metrics.js";
import { RenderPool } from "../../src/render/render.js";
import { type Corpus, FIXTURES_DIR, OPENMOJI_DIR, startCorpus } from "../helpers/corpus.js";
import { HOSTILE_CASES, HOSTILE_DIR, hostileSvg } from "../helpers/hostile.js";
import { type Sample, parseMetrics, total } from "../helpers/prometheus.js";

const WHITE = [255, 255, 255] as const;
const renderFailures = async () => parseMetrics(await registry.getSingleMetricAsString("svgvec_render_failures_total"));
const counted = (samples: Sample[], reason?: RenderFailureReason) =>
  total(samples, "svgvec_render_failures_total", reason === undefined ? {} : { reason });
const fixture = (name: string) => readFileSync(join(FIXTURES_DIR, name));
const pixel = (rgb: Uint8Array, size: number, x: number, y: number) => Array.from(rgb.subarray((y * size + x) * 3, (y * size + x) * 3 + 3));

const pool = new RenderPool({ workers: 2, timeoutMs: 10_000, maxMemoryMb: 256, maxQueue: 1024 });
const renderSvg = (bytes: Uint8Array, size: number, bg: readonly [number, number, number]) => pool.render(bytes, size, bg);
/** A 1x1 red PNG. */
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==", "base64");

describe("RenderPool", () => {
  afterAll(() => pool.close());

  it("keeps the aspect ratio of a wide image and centres it on the background", async () => {
    const { rgb, size } = await renderSvg(fixture("wide-red.svg"), 224, WHITE);
    expect(size).toBe(224);
    expect(rgb).toHaveLength(224 * 224 * 3);
    // 200x100 fits as 224x112, centred: rows 56..167 red, the bands above and below background.
    expect(pixel(rgb, 224, 112, 112)).toEqual([255, 0, 0]);
    expect(pixel(rgb, 224, 0, 60)).toEqual([255, 0, 0]);
    expect(pixel(rgb, 224, 112, 20)).toEqual([255, 255, 255]);
    expect(pixel(rgb, 224, 112, 200)).toEqual([255, 255, 255]);
  });

  it("keeps the aspect ratio of a tall image", async () => {
    const { rgb } = await renderSvg(fixture("tall-blue.svg"), 224, WHITE);
    expect(pixel(rgb, 224, 112, 112)).toEqual([0, 0, 255]);
    expect(pixel(rgb, 224, 112, 0)).toEqual([0, 0, 255]);
    expect(pixel(rgb, 224, 10, 112)).toEqual([255, 255, 255]);
    expect(pixel(rgb, 224, 214, 112)).toEqual([255, 255, 255]);
  });

  it("shows black strokes of a transparent icon on the white default background", async () => {
    const { rgb } = await renderSvg(fixture("black-stroke-transparent.svg"), 224, WHITE);
    // The ring passes through (50, 20) in a 100-unit viewBox, i.e. (112, 45) here; the centre is empty.
    expect(pixel(rgb, 224, 112, 45)).toEqual([0, 0, 0]);
    expect(pixel(rgb, 224, 112, 112)).toEqual([255, 255, 255]);
    expect(pixel(rgb, 224, 2, 2)).toEqual([255, 255, 255]);
  });

  it("composites onto a configured background", async () => {
    const { rgb } = await renderSvg(fixture("black-stroke-transparent.svg"), 224, [0, 128, 0]);
    expect(pixel(rgb, 224, 112, 112)).toEqual([0, 128, 0]);
    expect(pixel(rgb, 224, 112, 45)).toEqual([0, 0, 0]);
  });

  it("renders SVGs with only a viewBox, and with a BOM, XML declaration, comment and DOCTYPE", async () => {
    const heart = await renderSvg(fixture("viewbox-only.svg"), 224, WHITE);
    expect(pixel(heart.rgb, 224, 112, 112)).toEqual([238, 0, 0]);
    const prolog = await renderSvg(fixture("prolog.svg"), 224, WHITE);
    expect(pixel(prolog.rgb, 224, 112, 112)).toEqual([0, 128, 0]);
  });

  it("renders a real OpenMoji icon with colour", async () => {
    const { rgb } = await renderSvg(readFileSync(join(OPENMOJI_DIR, "2764.svg")), 224, WHITE);
    const colours = new Set<string>();
    for (let i = 0; i < rgb.length; i += 3 * 97) colours.add(`${rgb[i]},${rgb[i + 1]},${rgb[i + 2]}`);
    expect(colours.size).toBeGreaterThan(2);
  });

  it.each([
    ["empty.svg", /empty/],
    ["page.html", /HTML/],
    ["broken.svg", /cannot be parsed/],
  ])("rejects %s with a reason", async (name, reason) => {
    const err = await renderSvg(fixture(name), 224, WHITE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RenderError);
    expect((err as Error).message).toMatch(reason);
  });

  it("rejects a PNG and JSON with a reason", async () => {
    await expect(renderSvg(PNG, 224, WHITE)).rejects.toThrow(/PNG/);
    await expect(renderSvg(Buffer.from('{"svg": true}'), 224, WHITE)).rejects.toThrow(/JSON/);
  });
});

describe("RenderPool on hostile SVGs", () => {
  // A short limit, so the slow cases are abandoned quickly; the rest render in well under it.
  const hostilePool = new RenderPool({ workers: 2, timeoutMs: 3_000, maxMemoryMb: 256, maxQueue: 1024 });
  let corpus: Corpus;
  beforeAll(async () => {
    corpus = await startCorpus();
  });
  afterAll(async () => {
    await hostilePool.close();
    await corpus.close();
  });
  const redPixels = (rgb: Uint8Array) => {
    let n = 0;
    for (let i = 0; i < rgb.length; i += 3) if (rgb[i]! > 200 && rgb[i + 1]! < 60 && rgb[i + 2]! < 60) n++;
    return n;
  };

  it("detects the red the file-reading cases would show if the file were read", async () => {
    const { rgb } = await hostilePool.render(readFileSync(join(HOSTILE_DIR, "red.svg")), 224, WHITE);
    expect(redPixels(rgb)).toBe(224 * 224);
  });

  it.each(HOSTILE_CASES)("$name: $outcome, reading no file and making no request", async ({ name, outcome }) => {
    const before = await renderFailures();
    const result = await hostilePool.render(hostileSvg(name, corpus.base), 224, WHITE).catch((e: unknown) => e);
    const after = await renderFailures();
    if (outcome === "renders") {
      expect(result).not.toBeInstanceOf(Error);
      const { rgb } = result as { rgb: Uint8Array };
      expect(rgb).toHaveLength(224 * 224 * 3);
      expect(redPixels(rgb)).toBe(0);
      expect(counted(after) - counted(before)).toBe(0);
    } else {
      expect(result).toBeInstanceOf(RenderError);
      expect((result as Error).message).toMatch(outcome === "times out" ? /took longer than 3000 ms to render and was abandoned/ : outcome);
      // Counted once, under its reason.
      const reason = outcome === "times out" ? "timeout" : /not an SVG/.test(outcome.source) ? "not_svg" : "unrenderable";
      expect([counted(after, reason) - counted(before, reason), counted(after) - counted(before)]).toEqual([1, 1]);
    }
    expect(corpus.requests.filter((r) => r.path.startsWith("/canary/"))).toEqual([]);
  });

  it("keeps every worker after abandoning renders, and they still render", async () => {
    const slow = hostileSvg("slow-filters.svg", corpus.base);
    const heart = readFileSync(join(OPENMOJI_DIR, "2764.svg"));
    const results = await Promise.allSettled([slow, slow, heart, heart].map((svg) => hostilePool.render(svg, 224, WHITE)));
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "fulfilled", "fulfilled"]);
    expect(hostilePool.threads).toBe(2);
    const again = await Promise.all([heart, heart, heart].map((svg) => hostilePool.render(svg, 224, WHITE)));
    expect(again.every((r) => r.rgb.length === 224 * 224 * 3)).toBe(true);
  });

  it("stops a render when its caller gives up, without waiting for the time limit", async () => {
    const abort = new AbortController();
    const before = await renderFailures();
    const started = performance.now();
    setTimeout(() => abort.abort(new Error("caller gave up")), 100);
    await expect(hostilePool.render(hostileSvg("slow-filters.svg", corpus.base), 224, WHITE, abort.signal)).rejects.toThrow(/caller gave up/);
    expect(performance.now() - started).toBeLessThan(2_500);
    // A render nobody waits for any more did not fail.
    expect(counted(await renderFailures())).toBe(counted(before));
  });
});

describe("RenderPool memory cap", () => {
  // huge-path.svg renders in about 60 MiB (it renders under the 256 MiB cap above).
  const smallPool = new RenderPool({ workers: 1, timeoutMs: 10_000, maxMemoryMb: 32, maxQueue: 1024 });
  afterAll(() => smallPool.close());

  it("abandons an SVG that needs more memory than the cap, and renders the next one on a fresh renderer", async () => {
    const red = readFileSync(join(HOSTILE_DIR, "red.svg"));
    const huge = hostileSvg("generated/huge-path.svg", "http://127.0.0.1:9");
    const results = await Promise.allSettled([huge, red, huge, red].map((svg) => smallPool.render(svg, 224, WHITE)));
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "rejected", "fulfilled"]);
    for (const r of results) {
      if (r.status === "rejected") {
        expect(r.reason).toBeInstanceOf(RenderError);
        expect((r.reason as Error).message).toMatch(/needs more than 32 MiB of memory to render and was abandoned; .*SVGVEC_RENDER_MAX_MEMORY_MB/);
      } else {
        expect(r.value.rgb.every((v, i) => v === (i % 3 === 0 ? 255 : 0))).toBe(true);
      }
    }
    expect(smallPool.threads).toBe(1);
  });
});

describe("RenderPool under fuzzing", () => {
  const fuzzPool = new RenderPool({ workers: 2, timeoutMs: 5_000, maxMemoryMb: 256, maxQueue: 1024 });
  afterAll(() => fuzzPool.close());

  const num = fc.oneof(fc.integer({ min: -1e9, max: 1e9 }).map(String), fc.double().map(String), fc.constantFrom("1e308", "-0", "NaN", "50%", "1e-300", ""));
  const value = fc.oneof(num, fc.string({ maxLength: 20 }), fc.constantFrom("url(#a)", "url(http://127.0.0.1:9/x)", "#a", "&lol;", "none", "red", "M0 0L10 10Z", "0 0 10 10"));
  const attr = fc.tuple(
    fc.constantFrom("width", "height", "x", "y", "r", "cx", "d", "fill", "stroke", "href", "transform", "viewBox", "stdDeviation", "id", "style", "filter", "points", "font-size"),
    value,
  );
  const tag = fc.constantFrom("g", "rect", "circle", "path", "text", "use", "image", "filter", "feGaussianBlur", "linearGradient", "stop", "mask", "clipPath", "pattern", "polygon", "style", "symbol");
  const escape = (s: string) => s.replace(/[<&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const element = (t: string, attrs: Array<[string, string]>, kids: string[]) =>
    `<${t} ${attrs.map(([k, v]) => `${k}="${escape(v)}"`).join(" ")}>${kids.join("")}</${t}>`;
  const { node } = fc.letrec<{ node: string }>((tie) => ({
    node: fc.oneof(
      { maxDepth: 4, depthIdentifier: "svg" },
      fc.tuple(tag, fc.array(attr, { maxLength: 4 })).map(([t, attrs]) => element(t, attrs, [])),
      fc.tuple(tag, fc.array(attr, { maxLength: 4 }), fc.array(tie("node"), { maxLength: 3 })).map(([t, attrs, kids]) => element(t, attrs, kids)),
    ),
  }));
  const svgDoc = fc.tuple(fc.array(attr, { maxLength: 3 }), fc.array(node, { maxLength: 4 })).map(
    ([attrs, kids]) => `<svg xmlns="http://www.w3.org/2000/svg" ${attrs.map(([k, v]) => `${k}="${escape(v)}"`).join(" ")}>${kids.join("")}</svg>`,
  );
  // Documents that are mostly well-formed, and the same with bytes overwritten.
  const input = fc.oneof(
    svgDoc.map((s) => Buffer.from(s)),
    fc.tuple(svgDoc, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 })).map(([s, edits]) => {
      const b = Buffer.from(s);
      for (const [at, byte] of edits) b[at % b.length] = byte;
      return b;
    }),
  );

  it("renders or refuses with a RenderError, never anything else, and the pool stays whole", async () => {
    await fc.assert(
      fc.asyncProperty(input, async (bytes) => {
        const out = await fuzzPool.render(bytes, 224, WHITE).then(
          (r) => r,
          (e: unknown) => e,
        );
        if (out instanceof Error) {
          expect(out).toBeInstanceOf(RenderError);
          expect(out.message).toMatch(/^(not an SVG|the SVG )/);
        } else {
          expect((out as { rgb: Uint8Array }).rgb).toHaveLength(224 * 224 * 3);
        }
      }),
      { numRuns: 1000, seed: Number(process.env.FUZZ_SEED ?? 20261124) },
    );
    expect(fuzzPool.threads).toBe(2);
  });
});
