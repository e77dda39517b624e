import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Resvg } from "@resvg/resvg-js";
import { describe, expect, it } from "vitest";
import { RenderError } from "../../src/errors.js";
import { looksLikeSvg, renderSvg } from "../../src/pipeline/render.js";
import { FIXTURES_DIR, OPENMOJI_DIR } from "../helpers/corpus.js";

const WHITE = [255, 255, 255] as const;
const fixture = (name: string) => readFileSync(join(FIXTURES_DIR, name));
const pixel = (rgb: Uint8Array, size: number, x: number, y: number) => Array.from(rgb.subarray((y * size + x) * 3, (y * size + x) * 3 + 3));

describe("renderSvg", () => {
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
    const png = new Resvg(fixture("wide-red.svg")).render().asPng();
    await expect(renderSvg(png, 224, WHITE)).rejects.toThrow(/PNG/);
    await expect(renderSvg(Buffer.from('{"svg": true}'), 224, WHITE)).rejects.toThrow(/JSON/);
  });

  it("sniffs SVG roots", () => {
    expect(looksLikeSvg(Buffer.from("<svg/>"))).toBe(true);
    expect(looksLikeSvg(Buffer.from('<svg:svg xmlns:svg="http://www.w3.org/2000/svg"/>'))).toBe(true);
    expect(looksLikeSvg(Buffer.from("<svgx/>"))).toBe(false);
    expect(looksLikeSvg(Buffer.from("<html><svg/></html>"))).toBe(false);
  });
});
