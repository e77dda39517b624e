import { describe, expect, it } from "vitest";
import { toTensor } from "../../src/clip/preprocess.js";

describe("toTensor", () => {
  const cfg = { size: 2, mean: [0.5, 0.25, 0.0] as [number, number, number], std: [0.5, 0.25, 1.0] as [number, number, number] };

  it("normalises with mean and std into planar channels", () => {
    // 2x2 image: pixel 0 white, pixel 1 black, pixel 2 (255, 0, 51), pixel 3 (0, 255, 102)
    const rgb = Uint8Array.from([255, 255, 255, 0, 0, 0, 255, 0, 51, 0, 255, 102]);
    const out = new Float32Array(12);
    toTensor({ rgb, size: 2 }, cfg, out);
    const expected = [
      // R: (v/255 - 0.5) / 0.5
      1, -1, 1, -1,
      // G: (v/255 - 0.25) / 0.25
      3, -1, -1, 3,
      // B: v/255
      1, 0, 0.2, 0.4,
    ];
    expected.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 5));
  });

  it("writes at an offset, for batches", () => {
    const out = new Float32Array(24).fill(9);
    toTensor({ rgb: new Uint8Array(12), size: 2 }, cfg, out, 12);
    expect(Array.from(out.subarray(0, 12)).every((v) => v === 9)).toBe(true);
    expect(out[12]).toBeCloseTo(-1, 5);
  });

  it("refuses an image of the wrong size", () => {
    expect(() => toTensor({ rgb: new Uint8Array(27), size: 3 }, cfg, new Float32Array(27))).toThrow(/wants 2px/);
  });
});
