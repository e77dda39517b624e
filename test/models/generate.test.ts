/**
 * The random-model generator replaces its output whole, so it must never be
 * pointed at, and replace, a directory it did not write (a real model, say).
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelError } from "../../src/errors.js";
import { generateModel } from "../../src/models/generate.js";
import { python } from "../helpers/models.js";

describe("generateModel", () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), "svgvec-generate-"));
  });
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it("refuses to replace a directory that holds files and no GENERATED.json, and leaves it as it was", async () => {
    const dir = join(scratch, "ViT-B-32__laion2b-s34b-b79k");
    await mkdir(join(dir, "visual"), { recursive: true });
    await writeFile(join(dir, "config.json"), "{}");
    const failure = await generateModel({ preset: "tiny", batch: "1", out: dir, python: python() }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ModelError);
    expect((failure as Error).message).toMatch(/holds files and no GENERATED\.json; model generate replaces only models it wrote itself/);
    expect((await readdir(dir)).sort()).toEqual(["config.json", "visual"]);
  });

  it("writes into a new or empty directory", async () => {
    const dir = join(scratch, "empty");
    await mkdir(dir);
    await generateModel({ preset: "tiny", batch: "1", out: dir, python: python() });
    expect(await readdir(dir)).toContain("GENERATED.json");
  });
});
