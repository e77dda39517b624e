import { createHash } from "node:crypto";
import { readFile, mkdtemp, rm, writeFile, mkdir, access } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ModelError } from "../../src/errors.js";
import { pullModel } from "../../src/models/hub.js";
import { readModelDir } from "../../src/models/model-dir.js";
import { type FakeHub, startFakeHub } from "../helpers/hub.js";
import { TINY_MODEL_DIR } from "../helpers/models.js";

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const REPO = "immich-app/ViT-B-32__laion2b-s34b-b79k";

describe("pullModel", () => {
  let hub: FakeHub;
  let dir: string;
  beforeEach(async () => {
    hub = await startFakeHub(REPO, TINY_MODEL_DIR, {
      "visual/fp16/model.onnx": Buffer.from("fp16 weights svgvec does not use"),
      "textual/model.armnn": Buffer.from("arm nn"),
      "README.md": Buffer.from("# readme"),
    });
    dir = join(await mkdtemp(join(tmpdir(), "svgvec-pull-")), "ViT-B-32__laion2b-s34b-b79k");
  });
  afterEach(async () => {
    await hub.close();
    await rm(join(dir, ".."), { recursive: true, force: true });
  });

  const pull = (events?: Array<{ path: string; action: string }>) =>
    pullModel({ endpoint: hub.endpoint, repo: REPO, revision: "main", dir, progress: false, onFile: (e) => events?.push(e) });

  it("downloads the files svgvec serves, byte for byte, into a directory the server can load", async () => {
    const files = await pull();
    expect(files.map((f) => f.path).sort()).toContain("visual/model.onnx");
    for (const f of ["config.json", "visual/model.onnx", "textual/model.onnx", "textual/tokenizer.json"]) {
      expect(sha256(await readFile(join(dir, f)))).toBe(sha256(await readFile(join(TINY_MODEL_DIR, f))));
    }
    await expect(access(join(dir, "visual/fp16/model.onnx"))).rejects.toThrow();
    await expect(access(join(dir, "textual/model.armnn"))).rejects.toThrow();
    const model = await readModelDir({ dir, name: "", pretrained: "", intraOpThreads: 0 });
    expect([model.name, model.pretrained]).toEqual(["ViT-B-32", "laion2b_s34b_b79k"]);
  });

  it("keeps files that are already complete", async () => {
    await pull();
    const before = hub.downloads.length;
    const events: Array<{ path: string; action: string }> = [];
    await pull(events);
    expect(hub.downloads.length).toBe(before);
    expect(events.every((e) => e.action === "kept")).toBe(true);
  });

  it("resumes a partial download with a Range request", async () => {
    const full = await readFile(join(TINY_MODEL_DIR, "textual/model.onnx"));
    await mkdir(join(dir, "textual"), { recursive: true });
    await writeFile(join(dir, "textual/model.onnx.part"), full.subarray(0, 1000));
    const events: Array<{ path: string; action: string }> = [];
    await pull(events);
    expect(events.find((e) => e.path === "textual/model.onnx")?.action).toBe("resumed");
    expect(hub.downloads.find((d) => d.path === "textual/model.onnx")?.range).toBe("bytes=1000-");
    expect(sha256(await readFile(join(dir, "textual/model.onnx")))).toBe(sha256(full));
  });

  it("finishes a complete .part left by a run that died before the rename, without asking the hub for it", async () => {
    const full = await readFile(join(TINY_MODEL_DIR, "textual/model.onnx"));
    await mkdir(join(dir, "textual"), { recursive: true });
    await writeFile(join(dir, "textual/model.onnx.part"), full);
    const events: Array<{ path: string; action: string }> = [];
    await pull(events);
    expect(events.find((e) => e.path === "textual/model.onnx")?.action).toBe("resumed");
    expect(hub.downloads.filter((d) => d.path === "textual/model.onnx")).toEqual([]);
    expect(sha256(await readFile(join(dir, "textual/model.onnx")))).toBe(sha256(full));
    await expect(access(join(dir, "textual/model.onnx.part"))).rejects.toThrow();
  });

  it("downloads afresh over a .part of full length whose bytes are wrong", async () => {
    const full = await readFile(join(TINY_MODEL_DIR, "textual/model.onnx"));
    await mkdir(join(dir, "textual"), { recursive: true });
    await writeFile(join(dir, "textual/model.onnx.part"), Buffer.alloc(full.length, 7));
    const events: Array<{ path: string; action: string }> = [];
    await pull(events);
    expect(events.find((e) => e.path === "textual/model.onnx")?.action).toBe("downloaded");
    expect(hub.downloads.filter((d) => d.path === "textual/model.onnx")).toEqual([{ path: "textual/model.onnx", range: undefined }]);
    expect(sha256(await readFile(join(dir, "textual/model.onnx")))).toBe(sha256(full));
  });

  it("discards the .part and starts over when the hub refuses its range (416)", async () => {
    const full = await readFile(join(TINY_MODEL_DIR, "textual/model.onnx"));
    await mkdir(join(dir, "textual"), { recursive: true });
    await writeFile(join(dir, "textual/model.onnx.part"), full.subarray(0, 1000));
    hub.refuseNextRange("textual/model.onnx");
    const events: Array<{ path: string; action: string }> = [];
    await pull(events);
    expect(events.find((e) => e.path === "textual/model.onnx")?.action).toBe("downloaded");
    expect(hub.downloads.filter((d) => d.path === "textual/model.onnx").map((d) => d.range)).toEqual(["bytes=1000-", undefined]);
    expect(sha256(await readFile(join(dir, "textual/model.onnx")))).toBe(sha256(full));
  });

  it("refuses a file whose hash does not match and leaves nothing half-written", async () => {
    hub.corrupt("visual/model.onnx");
    const err = await pull().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toMatch(/visual\/model\.onnx failed its check \(sha256/);
    await expect(access(join(dir, "visual/model.onnx"))).rejects.toThrow();
    await expect(access(join(dir, "visual/model.onnx.part"))).rejects.toThrow();
  });

  it("says when the hub is unreachable or the model unknown", async () => {
    await expect(pullModel({ endpoint: hub.endpoint, repo: "nobody/nothing", revision: "main", dir, progress: false })).rejects.toThrow(
      /no model nobody\/nothing/,
    );
    await expect(pullModel({ endpoint: "http://127.0.0.1:9", repo: REPO, revision: "main", dir, progress: false })).rejects.toThrow(
      /cannot reach http:\/\/127\.0\.0\.1:9/,
    );
  });
});
