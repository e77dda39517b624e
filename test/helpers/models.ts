/**
 * The generated test models (random weights, real layout and vocabulary),
 * built once per machine into .cache/models and reused.
 */
import { join } from "node:path";
import { loadConfig } from "../../src/config.js";
import { REPO_ROOT, generateModel } from "../../src/models/generate.js";

export const TINY_MODEL_DIR = join(REPO_ROOT, ".cache/models/ViT-B-32__tiny-random");
export const TINY_DYNAMIC_MODEL_DIR = join(REPO_ROOT, ".cache/models/ViT-B-32__tiny-random-dynamic");

export function python(): string {
  return loadConfig({ ...process.env }, REPO_ROOT).milvus.python;
}

/** Generates both tiny variants if they are not cached yet. */
export async function ensureTinyModels(): Promise<void> {
  await generateModel({ preset: "tiny", batch: "1", out: TINY_MODEL_DIR, python: python() });
  await generateModel({ preset: "tiny", batch: "dynamic", out: TINY_DYNAMIC_MODEL_DIR, python: python() });
}
