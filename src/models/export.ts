/**
 * `svgvec model export`: OpenCLIP weights to a model directory in the Immich
 * layout, with a dynamic batch axis and text length by default. The export
 * itself is tools/export_openclip.py (torch and open_clip, in a Python
 * environment this module sets up or is given); before the directory is put in
 * place, OpenCLIP in PyTorch and svgvec's own loader embed the same rendered
 * SVGs and phrases, and the export is refused unless they agree.
 */
import { type ChildProcessByStdio, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, readdir, rename, rm, rmdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { promisify } from "node:util";
import { ClipModel } from "../clip/clip.js";
import { toTensor } from "../clip/preprocess.js";
import { ModelError, errorMessage } from "../errors.js";
import { RenderPool } from "../render/render.js";
import { REPO_ROOT } from "./generate.js";
import { readModelDir } from "./model-dir.js";
import { PARITY_PHRASES, PARITY_SVGS } from "./parity-inputs.js";

const execFileAsync = promisify(execFile);

/** The least cosine similarity between OpenCLIP's embedding and the export's, for images and for texts. */
export const PARITY_MIN_COS = 0.9999;

/** Where svgvec sets up its own export environment when not given one. */
export const EXPORT_VENV = join(REPO_ROOT, ".cache", "export-venv");
const REQUIREMENTS = join(REPO_ROOT, "requirements-export.txt");
const SCRIPT = join(REPO_ROOT, "tools", "export_openclip.py");
/** What the exporter imports; a Python without them is set up (ours) or refused (the caller's). */
const IMPORTS = "import torch, open_clip, onnx, onnxscript";

export interface ExportOptions {
  arch: string;
  pretrained: string;
  /** Seeded random weights instead of downloading `pretrained` (for tests and machines without the hub). */
  randomInit: boolean;
  /** "dynamic" (the default) leaves both towers' batch and the text length free; "1" is Immich's shape. */
  batch: "1" | "dynamic";
  /** The new model directory: must not exist, or be empty. */
  dir: string;
  /** A Python with requirements-export.txt installed; undefined sets up EXPORT_VENV. */
  python?: string;
  /** Progress and the exporter's own output, line by line. */
  log: (line: string) => void;
}

export interface ParityResult {
  images: number;
  texts: number;
  /** Least cosine over the images, each embedded alone and all in one run. */
  imageMinCos: number;
  /** Least cosine over the phrases, each embedded alone and all in one run (padded to the longest). */
  textMinCos: number;
  /**
   * Highest cosine between an image's export row and OpenCLIP's row for another image (and the
   * same for texts): random weights can map every input near one vector, and the check means
   * something only while these stay well below PARITY_MIN_COS.
   */
  imageMaxCosOther: number;
  textMaxCosOther: number;
}

export interface ExportResult {
  dir: string;
  parity: ParityResult;
  torch: string;
  openClip: string;
}

export async function exportModel(opts: ExportOptions): Promise<ExportResult> {
  await refuseOccupied(opts.dir);
  const python = opts.python ?? (await ensureExportVenv(opts.log));
  if (opts.python !== undefined) await checkImports(opts.python);
  // Written beside the target and renamed at the end, so a failed or refused export leaves nothing at dir.
  await mkdir(dirname(opts.dir), { recursive: true });
  const work = await mkdtemp(join(dirname(opts.dir), `.${basename(opts.dir)}.export-`));
  const scratch = await mkdtemp(join(tmpdir(), "svgvec-parity-"));
  let session: ExporterSession | undefined;
  try {
    const child = spawn(
      python,
      [
        SCRIPT,
        "--arch", opts.arch,
        "--pretrained", opts.pretrained,
        "--batch", opts.batch,
        "--out", work,
        ...(opts.randomInit ? ["--random-init"] : []),
      ],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    session = new ExporterSession(child, opts.log);
    const exported = await session.next("exported");
    const model = await readModelDir({ dir: work, name: opts.arch, pretrained: opts.pretrained });
    const tensors = await renderParityImages(model.preprocess);
    const imagesPath = join(scratch, "images.f32");
    await writeFile(imagesPath, concat(tensors));
    session.send({ images: imagesPath, count: tensors.length, texts: PARITY_PHRASES });
    const reference = await session.next("reference");
    await session.exited();
    const parity = await checkParity(work, opts, tensors, {
      images: await readRows(String(reference.images), tensors.length),
      texts: await readRows(String(reference.texts), PARITY_PHRASES.length),
    });
    if (!(parity.imageMinCos >= PARITY_MIN_COS && parity.textMinCos >= PARITY_MIN_COS)) {
      throw new ModelError(
        `the export of ${opts.arch} does not match OpenCLIP: least cosine ${parity.imageMinCos.toFixed(6)} over images and ` +
          `${parity.textMinCos.toFixed(6)} over texts, below ${PARITY_MIN_COS}; nothing was written to ${opts.dir}. ` +
          `Report it with the versions of torch (${String(exported.torch)}) and open_clip (${String(exported.open_clip)}).`,
      );
    }
    const torch = String(exported.torch);
    const openClip = String(exported.open_clip);
    await writeFile(
      join(work, "EXPORT.json"),
      JSON.stringify(
        {
          exporter: "svgvec model export",
          arch: opts.arch,
          pretrained: opts.randomInit ? "" : opts.pretrained,
          randomInit: opts.randomInit,
          batch: opts.batch,
          textLength: opts.batch === "dynamic" ? "dynamic" : Number(exported.context),
          torch,
          openClip,
          parity,
          exportedAt: new Date().toISOString(),
        },
        null,
        2,
      ),
    );
    // mkdtemp made it private; a model directory is read by whoever serves it.
    await chmod(work, 0o755);
    await rmdir(opts.dir).catch(() => undefined);
    await rename(work, opts.dir);
    return { dir: opts.dir, parity, torch, openClip };
  } finally {
    await session?.stop();
    await rm(work, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The exporter writes only a new directory: one that holds anything (a model, say) is left alone. */
async function refuseOccupied(dir: string): Promise<void> {
  const entries = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return [];
    throw new ModelError(`cannot use ${dir} for the export: ${e.message}`);
  });
  if (entries.length > 0) {
    throw new ModelError(`${dir} is not empty; svgvec model export writes only a new directory: remove it or choose another --dir`);
  }
}

/** svgvec's own export environment: created and filled from requirements-export.txt when missing or incomplete. */
async function ensureExportVenv(log: (line: string) => void): Promise<string> {
  const python = join(EXPORT_VENV, "bin", "python");
  if (existsSync(python) && (await checkImports(python).then(() => true, () => false))) return python;
  log(`setting up the export environment in ${EXPORT_VENV} (torch, open_clip_torch, onnx: several GB, some minutes)`);
  try {
    if (!existsSync(python)) await execFileAsync("python3", ["-m", "venv", EXPORT_VENV]);
    await run(python, ["-m", "pip", "install", "--quiet", "-r", REQUIREMENTS], log);
  } catch (e) {
    throw new ModelError(
      `setting up ${EXPORT_VENV} failed: ${errorMessage(e)}. Install requirements-export.txt into a Python yourself and pass it with --python.`,
    );
  }
  await checkImports(python);
  return python;
}

async function checkImports(python: string): Promise<void> {
  try {
    await execFileAsync(python, ["-c", IMPORTS]);
  } catch (e) {
    const detail = errorMessage(e).split("\n").filter((l) => l.trim() !== "").pop() ?? "";
    throw new ModelError(
      `${python} cannot run the exporter (${detail}); it needs requirements-export.txt ` +
        `(\`${python} -m pip install -r ${REQUIREMENTS}\`), or leave out --python and svgvec sets up its own environment`,
    );
  }
}

function run(cmd: string, args: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    for (const s of [child.stdout, child.stderr]) createInterface({ input: s }).on("line", log);
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} exited with code ${code}`))));
  });
}

/**
 * The exporter's protocol: JSON lines on its stdout, one request on its stdin;
 * its stderr is progress, passed to the log and kept for error messages.
 */
class ExporterSession {
  private readonly events: Array<Record<string, unknown>> = [];
  private readonly waiters: Array<() => void> = [];
  private readonly tail: string[] = [];
  private exit: { code: number | null; signal: string | null } | undefined;
  private readonly done: Promise<void>;

  constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, Readable>,
    log: (line: string) => void,
  ) {
    createInterface({ input: child.stderr }).on("line", (line) => {
      this.tail.push(line);
      if (this.tail.length > 20) this.tail.shift();
      log(line);
    });
    createInterface({ input: child.stdout }).on("line", (line) => {
      try {
        this.events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        log(line);
      }
      this.wake();
    });
    this.done = new Promise((resolve) => {
      child.once("error", (e) => {
        this.tail.push(e.message);
        this.exit = { code: null, signal: null };
        this.wake();
        resolve();
      });
      child.once("close", (code, signal) => {
        this.exit ??= { code, signal };
        this.wake();
        resolve();
      });
    });
  }

  /** The next event, which must be of this kind; a crash or exit before it is an error with the exporter's last words. */
  async next(kind: string): Promise<Record<string, unknown>> {
    for (;;) {
      const event = this.events.shift();
      if (event !== undefined) {
        if (event.event !== kind) throw new ModelError(`the exporter said ${JSON.stringify(event)} where "${kind}" was expected`);
        return event;
      }
      if (this.exit !== undefined) throw this.failure(`exited before "${kind}"`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  send(request: Record<string, unknown>): void {
    this.child.stdin.end(`${JSON.stringify(request)}\n`);
  }

  /** Ends the exporter if it still runs (after a failure on this side). */
  async stop(): Promise<void> {
    if (this.exit === undefined) this.child.kill();
    await this.done;
  }

  async exited(): Promise<void> {
    await this.done;
    if (this.exit?.code !== 0) throw this.failure("failed");
  }

  private failure(what: string): ModelError {
    const how = this.exit?.signal ? `signal ${this.exit.signal}` : `code ${this.exit?.code}`;
    return new ModelError(`the exporter (tools/export_openclip.py) ${what} (${how}): ${this.tail.slice(-5).join(" | ")}`);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

async function renderParityImages(pre: { size: number; mean: [number, number, number]; std: [number, number, number] }): Promise<Float32Array[]> {
  const pool = new RenderPool({ workers: 1, timeoutMs: 10_000, maxMemoryMb: 256, maxQueue: PARITY_SVGS.length });
  try {
    const out: Float32Array[] = [];
    for (const svg of PARITY_SVGS) {
      const image = await pool.render(new TextEncoder().encode(svg), pre.size, [255, 255, 255]);
      const t = new Float32Array(3 * pre.size * pre.size);
      toTensor(image, pre, t);
      out.push(t);
    }
    return out;
  } finally {
    await pool.close();
  }
}

/** Embeds the same inputs with svgvec's loader, alone and all in one run, against OpenCLIP's rows. */
async function checkParity(
  dir: string,
  opts: ExportOptions,
  tensors: readonly Float32Array[],
  reference: { images: Float32Array[]; texts: Float32Array[] },
): Promise<ParityResult> {
  const model = await ClipModel.load(await readModelDir({ dir, name: opts.arch, pretrained: opts.pretrained }), 0);
  try {
    const images = [...(await model.embedImages(tensors))];
    for (const t of tensors) images.push(...(await model.embedImages([t])));
    const texts = [...(await model.embedTexts(PARITY_PHRASES))];
    for (const p of PARITY_PHRASES) texts.push(await model.embedText(p));
    return {
      images: tensors.length,
      texts: PARITY_PHRASES.length,
      imageMinCos: minCos(images, reference.images),
      textMinCos: minCos(texts, reference.texts),
      imageMaxCosOther: maxCosOther(images, reference.images),
      textMaxCosOther: maxCosOther(texts, reference.texts),
    };
  } finally {
    await model.release();
  }
}

/** Least cosine of each row against reference row i mod n (rows come in rounds of n). */
export function minCos(rows: readonly Float32Array[], reference: readonly Float32Array[]): number {
  let min = Number.POSITIVE_INFINITY;
  rows.forEach((row, i) => {
    const c = cosine(row, reference[i % reference.length]!);
    // NaN (an all-zero or broken row) must fail the check, and Math.min would let it through as a number.
    min = Number.isNaN(c) || Number.isNaN(min) ? Number.NaN : Math.min(min, c);
  });
  return min;
}

/** Highest cosine of each row against the reference rows of the other inputs. */
export function maxCosOther(rows: readonly Float32Array[], reference: readonly Float32Array[]): number {
  let max = Number.NEGATIVE_INFINITY;
  rows.forEach((row, i) => {
    reference.forEach((ref, j) => {
      if (j !== i % reference.length) max = Math.max(max, cosine(row, ref));
    });
  });
  return max;
}

function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new ModelError(`OpenCLIP gave ${b.length} values where the export gave ${a.length}`);
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let j = 0; j < a.length; j++) {
    dot += a[j]! * b[j]!;
    aa += a[j]! * a[j]!;
    bb += b[j]! * b[j]!;
  }
  return dot / Math.sqrt(aa * bb);
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function readRows(path: string, count: number): Promise<Float32Array[]> {
  const buf = await readFile(path);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const dim = all.length / count;
  return Array.from({ length: count }, (_, i) => all.slice(i * dim, (i + 1) * dim));
}
