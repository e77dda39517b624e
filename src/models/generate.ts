/**
 * Runs tools/make_model.py, which writes a random-weight OpenCLIP model in the
 * Immich export layout (see that file), and caches the result: a directory
 * whose GENERATED.json matches the request is reused.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { promisify } from "node:util";
import { ModelError, errorMessage } from "../errors.js";

const execFileAsync = promisify(execFile);

/** The repository root (this file is two folders below it, in src/ or dist/). */
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** CLIP's vocabulary: the shared copy beside the checkout, else the one tools/fetch_vocab.py put in .cache. */
const SHARED_VOCAB = join(REPO_ROOT, "..", "shared", "clip", "bpe_simple_vocab_16e6.txt.gz");
export const DEFAULT_VOCAB = existsSync(SHARED_VOCAB) ? SHARED_VOCAB : join(REPO_ROOT, ".cache", "clip", "bpe_simple_vocab_16e6.txt.gz");

export type Preset = "tiny" | "vit-b-32";

export interface GenerateOptions {
  preset: Preset;
  /** "1" fixes the batch axis as Immich's exports do; "dynamic" leaves batch and text length free. */
  batch: "1" | "dynamic";
  out: string;
  python: string;
  vocab?: string;
  seed?: number;
}

const GENERATOR_VERSION = 1;

export async function generateModel(opts: GenerateOptions): Promise<string> {
  const seed = opts.seed ?? 20261124;
  const marker = await readFile(join(opts.out, "GENERATED.json"), "utf8").then(
    (t) => JSON.parse(t) as Record<string, unknown>,
    () => undefined,
  );
  if (
    marker?.generator === GENERATOR_VERSION &&
    marker.preset === opts.preset &&
    marker.batch === opts.batch &&
    marker.seed === seed
  ) {
    return opts.out;
  }
  // The generator replaces its output whole: never a directory it did not write, such as a real model.
  const entries = await readdir(opts.out).catch(() => []);
  if (marker === undefined && entries.length > 0) {
    throw new ModelError(
      `${opts.out} holds files and no GENERATED.json; model generate replaces only models it wrote itself: choose another --out`,
    );
  }
  const args = [
    join(REPO_ROOT, "tools", "make_model.py"),
    "--preset", opts.preset,
    "--batch", opts.batch,
    "--seed", String(seed),
    "--vocab", opts.vocab ?? DEFAULT_VOCAB,
    "--out", opts.out,
  ];
  try {
    await execFileAsync(opts.python, args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    throw new ModelError(
      `generating the ${opts.preset} model failed: ${errorMessage(e)}. ` +
        `It needs Python with onnx and numpy (\`npm run setup:python\`) and CLIP's vocabulary at ${opts.vocab ?? DEFAULT_VOCAB}.`,
    );
  }
  return opts.out;
}
