/**
 * The built command line, as the README runs it.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SvgVecClient } from "../../src/edge/client.js";
import { REPO_ROOT } from "../../src/models/generate.js";
import { probeMilvus } from "../../src/store/milvus-lite.js";
import { type Corpus, startCorpus } from "../helpers/corpus.js";
import { TINY_MODEL_DIR } from "../helpers/models.js";

const execFileAsync = promisify(execFile);
const CLI = join(REPO_ROOT, "dist/cli/main.js");

describe("svgvec CLI", () => {
  let dataDir: string;
  let corpus: Corpus;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "svgvec-cli-"));
    corpus = await startCorpus();
  });
  afterAll(async () => {
    await corpus.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("says how to get the model when it is missing, and exits 1", async () => {
    const err = await execFileAsync("node", [CLI, "serve"], {
      env: { ...process.env, SVGVEC_MODEL_DIR: join(dataDir, "no-model"), SVGVEC_DATA_DIR: dataDir },
    }).catch((e: unknown) => e as { code: number; stderr: string });
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toMatch(/missing config\.json.*model pull immich-app\/ViT-B-32__laion2b-s34b-b79k/);
  });

  it("rejects invalid configuration before starting anything", async () => {
    const err = await execFileAsync("node", [CLI, "serve"], { env: { ...process.env, SVGVEC_LISTEN: "everywhere" } }).catch(
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toMatch(/invalid configuration:\n {2}- SVGVEC_LISTEN=everywhere must be host:port/);
  });

  it("serves on the embedded default, answers calls, and on SIGTERM stops Milvus Lite and exits 0", async () => {
    const child: ChildProcess = spawn("node", [CLI, "serve"], {
      env: {
        ...process.env,
        SVGVEC_LISTEN: "127.0.0.1:0",
        SVGVEC_MODEL_DIR: TINY_MODEL_DIR,
        SVGVEC_DATA_DIR: dataDir,
        SVGVEC_FETCH_ALLOW_PRIVATE: "true",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    const address = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout?.on("data", (c: Buffer) => {
        out += c.toString();
        const m = /svgvec listening on (\S+)/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      child.once("exit", (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    const milvus = /"msg":"Milvus Lite started","address":"([^"]+)"/.exec(stderr)?.[1];
    expect(milvus).toBeDefined();
    const client = new SvgVecClient(address);
    try {
      await client.addImage({ id: 7n, url: corpus.openmoji("1F436") });
      expect((await client.stats()).totalImages).toBe(1n);
    } finally {
      client.close();
    }
    const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
    expect(stderr).toMatch(/"msg":"svgvec stopped"/);
    expect(await probeMilvus(milvus!, 1000)).not.toBe(true);
  });
});
