/**
 * Which model a benchmark measures, and what kind of file it is. A directory
 * named with --model is only read; without one, a random-weight ViT-B/32 is
 * generated into the project's own .cache/models (never anywhere else).
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { ClipModelInfo } from "../src/clip/clip.js";
import { REPO_ROOT, generateModel } from "../src/models/generate.js";
import { readModelDir } from "../src/models/model-dir.js";
import { python } from "../test/helpers/models.js";

/** The generated full-size models: "1" has Immich's shapes (batch 1, 77 tokens), "dynamic" leaves both free. */
export const GENERATED_MODELS = {
  "1": join(REPO_ROOT, ".cache/models/ViT-B-32__random"),
  dynamic: join(REPO_ROOT, ".cache/models/ViT-B-32__random-dynamic"),
} as const;

export const MODEL_USAGE = "[--model DIR (read only) | --batch dynamic|1 (a generated random-weight ViT-B/32)]";

/** The directory to benchmark: --model as given (checked, never written), else the generated one of --batch. */
export async function benchModelDir(model: string | undefined, batch: string | undefined): Promise<string> {
  if (model !== undefined) {
    const dir = resolve(model);
    await readModelDir({ dir, name: "", pretrained: "" });
    return dir;
  }
  if (batch !== "1" && batch !== "dynamic") throw new Error(`--batch must be dynamic or 1, not "${batch}"`);
  return generateModel({ preset: "vit-b-32", batch, out: GENERATED_MODELS[batch], python: python() });
}

/** One line for a benchmark's header: the file's shapes and where it came from. */
export async function describeModel(dir: string, info: ClipModelInfo): Promise<string> {
  const axis = (n: number | undefined) => (n === undefined ? "dynamic" : String(n));
  return (
    `model ${dir}: image batch ${axis(info.visualBatch)}, text batch ${axis(info.textBatch)}, ` +
    `text length ${axis(info.textLength)}; source: ${await modelSource(dir)}`
  );
}

async function modelSource(dir: string): Promise<string> {
  const json = async (name: string) =>
    readFile(join(dir, name), "utf8").then(
      (t) => JSON.parse(t) as Record<string, unknown>,
      () => undefined,
    );
  const generated = await json("GENERATED.json");
  if (generated !== undefined) {
    return `tools/make_model.py, preset ${String(generated.preset)}, random weights (seed ${String(generated.seed)})`;
  }
  const exported = await json("EXPORT.json");
  if (exported !== undefined) {
    const weights = exported.randomInit === true ? "random init" : `pretrained ${String(exported.pretrained)}`;
    return `svgvec model export of OpenCLIP ${String(exported.arch)} (${weights}; torch ${String(exported.torch)}, open_clip ${String(exported.openClip)})`;
  }
  return "no GENERATED.json or EXPORT.json (a pulled Immich export, or another exporter's)";
}
