/**
 * Reads a model directory in the layout of Immich's ONNX exports of OpenCLIP
 * (config.json, visual/model.onnx + preprocess_cfg.json, textual/model.onnx +
 * tokenizer files) and says exactly what is missing when it is incomplete.
 */
import { access, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { ModelConfig } from "../config.js";
import { DEFAULT_MODEL } from "../config.js";
import { ModelError } from "../errors.js";
import type { PreprocessConfig } from "../clip/preprocess.js";

export interface ModelDir {
  dir: string;
  name: string;
  pretrained: string;
  embedDim: number;
  contextLength: number;
  visualPath: string;
  textualPath: string;
  preprocess: PreprocessConfig;
}

export const REQUIRED_FILES = [
  "config.json",
  "visual/model.onnx",
  "visual/preprocess_cfg.json",
  "textual/model.onnx",
  "textual/tokenizer.json",
  "textual/tokenizer_config.json",
] as const;

export async function readModelDir(cfg: Pick<ModelConfig, "dir" | "name" | "pretrained"> & Partial<ModelConfig>): Promise<ModelDir> {
  const missing: string[] = [];
  for (const f of REQUIRED_FILES) {
    await access(join(cfg.dir, f)).catch(() => missing.push(f));
  }
  if (missing.length > 0) {
    throw new ModelError(
      `the model directory ${cfg.dir} is missing ${missing.join(", ")}. ` +
        `Download it with \`node dist/cli/main.js model pull ${DEFAULT_MODEL} --dir ${cfg.dir}\` ` +
        `(\`npm run model:pull\` for the default directory), ` +
        `or point SVGVEC_MODEL_DIR at a directory in the Immich export layout.`,
    );
  }
  const config = await readJson(join(cfg.dir, "config.json"));
  const pre = await readJson(join(cfg.dir, "visual/preprocess_cfg.json"));
  const embedDim = num(config.embed_dim, "config.json embed_dim");
  const textCfg = (config.text_cfg ?? {}) as Record<string, unknown>;
  const contextLength = textCfg.context_length === undefined ? 77 : num(textCfg.context_length, "text_cfg.context_length");
  const size = Array.isArray(pre.size) ? num(pre.size[0], "preprocess size") : num(pre.size, "preprocess size");
  const triple = (v: unknown, what: string): [number, number, number] => {
    if (!Array.isArray(v) || v.length !== 3) throw new ModelError(`visual/preprocess_cfg.json: ${what} must be 3 numbers`);
    return [num(v[0], what), num(v[1], what), num(v[2], what)];
  };
  // Immich names folders ARCH__PRETRAINED with '-' for '_' in the tag.
  const [arch, tag] = basename(cfg.dir).split("__");
  return {
    dir: cfg.dir,
    name: cfg.name || arch || "unknown",
    pretrained: cfg.pretrained || (tag ?? "").replaceAll("-", "_"),
    embedDim,
    contextLength,
    visualPath: join(cfg.dir, "visual/model.onnx"),
    textualPath: join(cfg.dir, "textual/model.onnx"),
    preprocess: { size, mean: triple(pre.mean, "mean"), std: triple(pre.std, "std") },
  };
}

/** A JSON file of the model directory; a missing or malformed one is a ModelError naming it. */
export async function readJson(path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new ModelError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

function num(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new ModelError(`${what} must be a positive number`);
  return v;
}
