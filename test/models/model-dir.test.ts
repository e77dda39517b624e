import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelError } from "../../src/errors.js";
import { readModelDir } from "../../src/models/model-dir.js";
import { TINY_MODEL_DIR } from "../helpers/models.js";

const cfg = (dir: string) => ({ dir, name: "", pretrained: "", intraOpThreads: 0 });

describe("readModelDir", () => {
  it("reads the Immich layout: dimensions, context and preprocessing", async () => {
    const m = await readModelDir(cfg(TINY_MODEL_DIR));
    expect(m.embedDim).toBe(512);
    expect(m.contextLength).toBe(77);
    expect(m.preprocess.size).toBe(224);
    expect(m.preprocess.mean[0]).toBeCloseTo(0.48145466);
    expect(m.preprocess.std[2]).toBeCloseTo(0.27577711);
    expect(m.visualPath).toBe(join(TINY_MODEL_DIR, "visual/model.onnx"));
  });

  it("says which files are missing and how to get the model", async () => {
    const err = await readModelDir(cfg("/nonexistent/ViT-B-32__laion2b-s34b-b79k")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toMatch(/missing config\.json, visual\/model\.onnx/);
    expect((err as Error).message).toMatch(/model pull immich-app\/ViT-B-32__laion2b-s34b-b79k/);
  });

  it("names a single missing file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "svgvec-model-"));
    try {
      await cp(TINY_MODEL_DIR, dir, { recursive: true });
      await rm(join(dir, "textual/tokenizer.json"));
      await expect(readModelDir(cfg(dir))).rejects.toThrow(/is missing textual\/tokenizer\.json\./);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("takes the name and pretrained tag from the configuration when given", async () => {
    const m = await readModelDir({ ...cfg(TINY_MODEL_DIR), name: "ViT-X", pretrained: "custom" });
    expect([m.name, m.pretrained]).toEqual(["ViT-X", "custom"]);
  });
});
