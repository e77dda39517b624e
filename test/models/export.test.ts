/**
 * `svgvec model export`, run as a user runs it: OpenCLIP's ViT-B-32 with
 * random initialisation (no weights can be downloaded here) through torch and
 * open_clip in the export environment (`npm run setup:export`), checked against
 * OpenCLIP in PyTorch, then served by svgvec.
 */
import { execFile } from "node:child_process";
import { access, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ClipModel } from "../../src/clip/clip.js";
import { EXPORT_VENV, PARITY_MIN_COS, maxCosOther, minCos } from "../../src/models/export.js";
import { REPO_ROOT } from "../../src/models/generate.js";
import { readModelDir } from "../../src/models/model-dir.js";
import { startCorpus, type Corpus } from "../helpers/corpus.js";
import { startTestApp } from "../helpers/app.js";
import { python } from "../helpers/models.js";

const execFileAsync = promisify(execFile);
const SVGVEC = join(REPO_ROOT, "bin", "svgvec.js");
/** One export of ViT-B-32 takes one to three minutes on two cores. */
const EXPORT_MS = 600_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function svgvec(args: string[]): Promise<Run> {
  return execFileAsync("node", [SVGVEC, ...args], { maxBuffer: 64 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

/** The parity line the command prints: least cosines for images and texts. */
function parityOf(stdout: string): { image: number; text: number } {
  const m = /(\d+) images min cos ([\d.]+).*?(\d+) texts min cos ([\d.]+)/.exec(stdout);
  if (m === null) throw new Error(`no parity line in ${stdout}`);
  return { image: Number(m[2]), text: Number(m[4]) };
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "svgvec-export-test-"));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe("svgvec model export, refusals", () => {
  it("leaves a directory that holds anything alone, and says why", async () => {
    const dir = join(scratch, "occupied");
    await mkdir(dir);
    await writeFile(join(dir, "config.json"), "{}");
    const run = await svgvec(["model", "export", "--random-init", "--dir", dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/occupied is not empty; svgvec model export writes only a new directory/);
    expect(await readdir(dir)).toEqual(["config.json"]);
  });

  it("names what a Python without torch lacks, and how to get it", async () => {
    // The project's own venv has onnx and numpy (for model generate), not torch.
    const run = await svgvec(["model", "export", "--random-init", "--dir", join(scratch, "no-torch"), "--python", python()]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot run the exporter \(ModuleNotFoundError: No module named 'torch'\); it needs requirements-export\.txt/);
    expect(await readdir(scratch)).not.toContain("no-torch");
  });

  it("takes only --batch dynamic or 1", async () => {
    const run = await svgvec(["model", "export", "--dir", join(scratch, "x"), "--batch", "8"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--batch must be dynamic or 1, not "8"/);
  });
});

describe("the parity measure", () => {
  const v = (...xs: number[]) => Float32Array.from(xs);
  it("is the least cosine to the same input's reference, and fails on NaN", () => {
    const ref = [v(1, 0), v(0, 1)];
    expect(minCos([v(1, 0), v(0, 2)], ref)).toBeCloseTo(1, 12);
    expect(minCos([v(1, 0), v(1, 1)], ref)).toBeCloseTo(Math.SQRT1_2, 12);
    // Rows come in rounds: the third row is compared with the first reference.
    expect(minCos([v(1, 0), v(0, 1), v(0, 1)], ref)).toBeCloseTo(0, 12);
    expect(minCos([v(0, 0), v(0, 1)], ref)).toBeNaN();
    expect(maxCosOther([v(1, 0), v(1, 1)], ref)).toBeCloseTo(Math.SQRT1_2, 12);
  });
});

describe("svgvec model export of ViT-B-32, random init", () => {
  let corpus: Corpus;
  beforeAll(async () => {
    corpus = await startCorpus();
    await access(join(EXPORT_VENV, "bin", "python")).catch(() => {
      throw new Error(`${EXPORT_VENV} is missing: \`npm run setup:export\` installs torch and open_clip for these tests`);
    });
  });
  afterAll(() => corpus.close());

  it(
    "writes a dynamic-batch, dynamic-length model that matches OpenCLIP, and svgvec serves it",
    async () => {
      const dir = join(scratch, "ViT-B-32__random-init");
      const run = await svgvec(["model", "export", "--random-init", "--dir", dir]);
      expect(run.code, run.stderr.slice(-2000)).toBe(0);
      const parity = parityOf(run.stdout);
      expect(parity.image).toBeGreaterThanOrEqual(PARITY_MIN_COS);
      expect(parity.text).toBeGreaterThanOrEqual(PARITY_MIN_COS);
      const record = JSON.parse(await readFile(join(dir, "EXPORT.json"), "utf8")) as Record<string, unknown>;
      expect(record).toMatchObject({ arch: "ViT-B-32", randomInit: true, batch: "dynamic", textLength: "dynamic" });
      // The check separates inputs: another input's embedding is far from this one's.
      const p = record.parity as { imageMaxCosOther: number; textMaxCosOther: number };
      expect(p.imageMaxCosOther).toBeLessThan(0.999);
      expect(p.textMaxCosOther).toBeLessThan(0.999);
      // Nothing else is left beside it.
      expect((await readdir(scratch)).filter((f) => f.includes("random-init"))).toEqual(["ViT-B-32__random-init"]);

      const model = await ClipModel.load(await readModelDir({ dir, name: "", pretrained: "" }), 0);
      try {
        expect([model.info.visualBatch, model.info.textBatch, model.info.textLength, model.info.embedDim]).toEqual([undefined, undefined, undefined, 512]);
      } finally {
        await model.release();
      }

      const t = await startTestApp({ milvusAddress: inject("liteAddress"), env: { SVGVEC_MODEL_DIR: dir } });
      try {
        const summary = await t.client.streamAddImages(
          ["1F436", "2764", "1F680"].map((hex, i) => ({ id: BigInt(i + 1), url: corpus.openmoji(hex) })),
        );
        expect(summary.added).toBe(3n);
        const stats = await t.client.stats();
        expect(stats.model?.name).toBe("ViT-B-32");
        const found = await t.client.search({ text: "a dog", k: 3 });
        expect(found.hits.map((h) => h.id).sort()).toEqual([1n, 2n, 3n]);
      } finally {
        await t.close();
      }
    },
    EXPORT_MS,
  );

  it(
    "writes Immich's shapes with --batch 1: one image per run, 77 tokens",
    async () => {
      const dir = join(scratch, "ViT-B-32__random-init-fixed");
      const run = await svgvec(["model", "export", "--random-init", "--batch", "1", "--dir", dir]);
      expect(run.code, run.stderr.slice(-2000)).toBe(0);
      const parity = parityOf(run.stdout);
      expect(Math.min(parity.image, parity.text)).toBeGreaterThanOrEqual(PARITY_MIN_COS);
      const model = await ClipModel.load(await readModelDir({ dir, name: "", pretrained: "" }), 0);
      try {
        expect([model.info.visualBatch, model.info.textBatch, model.info.textLength]).toEqual([1, 1, 77]);
      } finally {
        await model.release();
      }
    },
    EXPORT_MS,
  );
});
