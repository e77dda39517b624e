import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { workerFile } from "../src/worker-file.js";

describe("workerFile", () => {
  let root = "";
  afterEach(() => rm(root, { recursive: true, force: true }));

  /** src/render/ with a caller and a worker source, and dist/render/ with or without the build. */
  async function layout(built: "fresh" | "stale" | "missing"): Promise<string> {
    root = await mkdtemp(join(tmpdir(), "svgvec-worker-file-"));
    await mkdir(join(root, "src/render"), { recursive: true });
    await mkdir(join(root, "dist/render"), { recursive: true });
    for (const f of ["render.ts", "x-worker.ts", "helper.ts"]) await writeFile(join(root, "src/render", f), "");
    const old = new Date(Date.now() - 60_000);
    if (built !== "missing") await writeFile(join(root, "dist/render/x-worker.js"), "");
    if (built === "fresh") {
      for (const f of ["render.ts", "x-worker.ts", "helper.ts"]) await utimes(join(root, "src/render", f), old, old);
    } else if (built === "stale") {
      await utimes(join(root, "dist/render/x-worker.js"), old, old);
    }
    return pathToFileURL(join(root, "src/render/render.ts")).href;
  }

  it("uses the build in dist/ when only the source sits beside the caller, and it is current", async () => {
    const caller = await layout("fresh");
    expect(workerFile(caller, "x-worker", "../../dist/render/").pathname).toBe(join(root, "dist/render/x-worker.js"));
  });

  it("refuses a build older than the sources beside the caller, saying to build", async () => {
    const caller = await layout("stale");
    expect(() => workerFile(caller, "x-worker", "../../dist/render/")).toThrow(/x-worker\.js is older than .*render\.ts.*run `npm run build`/);
  });

  it("refuses a missing build, saying to build", async () => {
    const caller = await layout("missing");
    expect(() => workerFile(caller, "x-worker", "../../dist/render/")).toThrow(/x-worker\.js is missing: run `npm run build`/);
  });

  it("takes the compiled worker beside a compiled caller", async () => {
    const caller = await layout("stale");
    await writeFile(join(root, "src/render/x-worker.js"), "");
    expect(workerFile(caller, "x-worker", "../../dist/render/").pathname).toBe(join(root, "src/render/x-worker.js"));
  });
});
