import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readModelDir } from "../../src/models/model-dir.js";
import { ClipModel } from "../../src/clip/clip.js";
import { toTensor } from "../../src/clip/preprocess.js";
import { RenderPool } from "../../src/render/render.js";
import { OPENMOJI_DIR } from "../helpers/corpus.js";
import { TINY_DYNAMIC_MODEL_DIR, TINY_MODEL_DIR } from "../helpers/models.js";

const modelConfig = (dir: string) => ({ dir, name: "", pretrained: "", intraOpThreads: 1 });
const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

const pool = new RenderPool({ workers: 1, timeoutMs: 10_000, maxMemoryMb: 256, maxQueue: 1024 });
afterAll(() => pool.close());

async function tensorOf(model: ClipModel, hex: string): Promise<Float32Array> {
  const pre = model.info.preprocess;
  const img = await pool.render(readFileSync(join(OPENMOJI_DIR, `${hex}.svg`)), pre.size, [255, 255, 255]);
  const t = new Float32Array(3 * pre.size * pre.size);
  toTensor(img, pre, t);
  return t;
}

describe("ClipModel", () => {
  let fixed: ClipModel;
  let dynamic: ClipModel;
  beforeAll(async () => {
    fixed = await ClipModel.load(await readModelDir(modelConfig(TINY_MODEL_DIR)), 1);
    dynamic = await ClipModel.load(await readModelDir(modelConfig(TINY_DYNAMIC_MODEL_DIR)), 1);
  });
  afterAll(async () => {
    await fixed.release();
    await dynamic.release();
  });

  it("reads the batch axis from the file: fixed at 1 (Immich's exports) or dynamic", () => {
    expect(fixed.info.visualBatch).toBe(1);
    expect(fixed.info.textDynamicLength).toBe(false);
    expect([fixed.info.textBatch, fixed.info.textLength]).toEqual([1, 77]);
    expect(dynamic.info.visualBatch).toBeUndefined();
    expect(dynamic.info.textDynamicLength).toBe(true);
    expect([dynamic.info.textBatch, dynamic.info.textLength]).toEqual([undefined, undefined]);
    expect(fixed.info.embedDim).toBe(512);
    // Immich's folder naming gives the model's name and pretrained tag.
    expect(fixed.info.name).toBe("ViT-B-32");
    expect(fixed.info.pretrained).toBe("tiny_random");
  });

  it("embeds images into distinct unit vectors, the same every time", async () => {
    const tensors = await Promise.all(["1F436", "2764", "1F431"].map((h) => tensorOf(fixed, h)));
    const a = await fixed.embedImages(tensors);
    const b = await fixed.embedImages(tensors);
    expect(a).toHaveLength(3);
    for (const v of a) {
      expect(v).toHaveLength(512);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    expect(Array.from(a[0]!)).toEqual(Array.from(b[0]!));
    expect(dot(a[0]!, a[1]!)).toBeLessThan(0.9999);
  });

  it("gives the same embeddings one at a time (batch-1 file) and batched (dynamic file)", async () => {
    const tensors = await Promise.all(["1F436", "2764", "1F431", "1F600"].map((h) => tensorOf(fixed, h)));
    const one = await fixed.embedImages(tensors);
    const batched = await dynamic.embedImages(tensors);
    one.forEach((v, i) => expect(dot(v, batched[i]!)).toBeCloseTo(1, 4));
  });

  it("embeds text into unit vectors; a dynamic-length model on unpadded tokens agrees with the padded one", async () => {
    const a = await fixed.embedText("a red heart");
    const b = await dynamic.embedText("a red heart");
    expect(norm(a)).toBeCloseTo(1, 5);
    expect(dot(a, b)).toBeCloseTo(1, 4);
    const other = await fixed.embedText("download arrow");
    expect(dot(a, other)).toBeLessThan(0.9999);
  });

  it("runs concurrent queries on several text sessions side by side, with the answers of one session", async () => {
    const two = await ClipModel.load(await readModelDir(modelConfig(TINY_MODEL_DIR)), 1, 2);
    try {
      expect(two.info.textSessions).toBe(2);
      const texts = Array.from({ length: 8 }, (_, i) => `query ${i}`);
      const together = await Promise.all(texts.map((t) => two.embedText(t)));
      const [a = 0, b = 0] = two.textSessionRuns;
      // Each run goes to the idle session: eight queries at once share out between the two.
      expect([a + b, a > 0, b > 0]).toEqual([8, true, true]);
      for (const [i, t] of texts.entries()) expect(dot(together[i]!, await fixed.embedText(t))).toBeCloseTo(1, 5);
      // A session whose worker is restarting is passed over while another is up.
      await two.crashWorkerForTest("text");
      expect(two.ready).toBe(false);
      expect(dot(await two.embedText("while one restarts"), await fixed.embedText("while one restarts"))).toBeCloseTo(1, 5);
    } finally {
      await two.release();
    }
  });
});
