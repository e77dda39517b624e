/**
 * Downloads a model directory from the Hugging Face hub (for users with the
 * internet; the default is Immich's export of ViT-B-32 laion2b_s34b_b79k).
 * Only the files svgvec serves are fetched (no fp16, ARM NN or RKNN variants).
 * Downloads resume from a .part file, and each file is checked against the
 * hub's own hashes (sha256 for LFS files, the git blob sha1 for the rest)
 * before it is moved into place.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import cliProgress from "cli-progress";
import { ModelError, errorMessage } from "../errors.js";

export interface PullOptions {
  endpoint: string;
  repo: string;
  revision: string;
  dir: string;
  /** Draw a progress bar (when stderr is a terminal). */
  progress: boolean;
  /** Called once per file, for logs and tests. */
  onFile?: (event: { path: string; action: "kept" | "downloaded" | "resumed" }) => void;
}

export interface HubFile {
  path: string;
  size: number;
  /** git blob sha1 of the file (of the LFS pointer, for LFS files). */
  oid: string;
  /** sha256 of the content, for LFS files. */
  sha256?: string;
}

/** The files of an Immich export that svgvec uses. */
const WANTED = /^(config\.json|(visual|textual)\/([^/]+\.(onnx|json|txt)|model\.onnx_data))$/;

export async function pullModel(opts: PullOptions): Promise<HubFile[]> {
  const files = (await listFiles(opts)).filter((f) => WANTED.test(f.path));
  for (const need of ["config.json", "visual/model.onnx", "textual/model.onnx"]) {
    if (!files.some((f) => f.path === need)) {
      throw new ModelError(`${opts.repo} has no ${need}; is it an Immich-style OpenCLIP export?`);
    }
  }
  const total = files.reduce((n, f) => n + f.size, 0);
  const bar = opts.progress
    ? new cliProgress.SingleBar(
        { format: "{bar} {percentage}% | {value}/{total} MB | {file}", hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(Math.ceil(total / 1e6), 0, { file: "" });
  let done = 0;
  try {
    for (const file of files) {
      const action = await fetchFile(opts, file, (bytes) => bar?.update(Math.floor((done + bytes) / 1e6), { file: file.path }));
      done += file.size;
      bar?.update(Math.floor(done / 1e6), { file: file.path });
      opts.onFile?.({ path: file.path, action });
    }
  } finally {
    bar?.stop();
  }
  return files;
}

async function listFiles(opts: PullOptions): Promise<HubFile[]> {
  const out: HubFile[] = [];
  let url: string | undefined =
    `${opts.endpoint}/api/models/${opts.repo}/tree/${encodeURIComponent(opts.revision)}?recursive=true`;
  while (url !== undefined) {
    const res = await get(url, {});
    if (res.status === 404) throw new ModelError(`the hub has no model ${opts.repo} at revision ${opts.revision}`);
    if (!res.ok) throw new ModelError(`listing ${opts.repo} answered HTTP ${res.status}`);
    const entries = (await res.json()) as Array<{ type: string; path: string; size: number; oid: string; lfs?: { oid: string; size: number } }>;
    for (const e of entries) {
      if (e.type !== "file") continue;
      out.push({ path: e.path, size: e.lfs?.size ?? e.size, oid: e.oid, ...(e.lfs ? { sha256: e.lfs.oid } : {}) });
    }
    // The hub pages long listings with a Link header.
    url = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") ?? "")?.[1];
  }
  return out;
}

async function fetchFile(opts: PullOptions, file: HubFile, onBytes: (n: number) => void): Promise<"kept" | "downloaded" | "resumed"> {
  const dest = join(opts.dir, file.path);
  if (!dest.startsWith(join(opts.dir, "/")) || file.path.includes("..")) throw new ModelError(`refusing hub path ${file.path}`);
  if ((await sizeOf(dest)) === file.size && (await verify(dest, file)) === undefined) return "kept";
  await mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  let have = await sizeOf(part);
  if (have !== undefined && have > file.size) {
    await rm(part);
    have = undefined;
  }
  // A run that died after the last byte but before the rename leaves a
  // complete .part; a Range from its end would only be refused (416).
  if (have === file.size) {
    if ((await verify(part, file)) === undefined) {
      await rename(part, dest);
      return "resumed";
    }
    await rm(part);
    have = undefined;
  }
  const url = `${opts.endpoint}/${opts.repo}/resolve/${encodeURIComponent(opts.revision)}/${file.path}`;
  let res = await get(url, have ? { range: `bytes=${have}-` } : {});
  if (res.status === 416 && have) {
    // The hub's copy is not the one the listing describes, so the .part is
    // no prefix of it: start over.
    await res.body?.cancel();
    await rm(part, { force: true });
    have = undefined;
    res = await get(url, {});
  }
  const resumed = res.status === 206 && have !== undefined;
  if (!(res.ok || res.status === 206) || res.body === null) throw new ModelError(`downloading ${file.path} answered HTTP ${res.status}`);
  let received = resumed ? have! : 0;
  const counted = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  counted.on("data", (chunk: Buffer) => {
    received += chunk.length;
    onBytes(received);
  });
  await pipeline(counted, createWriteStream(part, { flags: resumed ? "a" : "w" }));
  const problem = await verify(part, file);
  if (problem !== undefined) {
    await rm(part, { force: true });
    throw new ModelError(`${file.path} failed its check (${problem}); the partial file was removed, run the pull again`);
  }
  await rename(part, dest);
  return resumed ? "resumed" : "downloaded";
}

/** undefined when the file matches the hub's size and hash; otherwise what is wrong. */
async function verify(path: string, file: HubFile): Promise<string | undefined> {
  const size = await sizeOf(path);
  if (size !== file.size) return `size ${size} instead of ${file.size}`;
  const sha256 = createHash("sha256");
  const blob = createHash("sha1").update(`blob ${file.size}\0`);
  for await (const chunk of createReadStream(path)) {
    sha256.update(chunk as Buffer);
    blob.update(chunk as Buffer);
  }
  if (file.sha256 !== undefined) {
    const got = sha256.digest("hex");
    return got === file.sha256 ? undefined : `sha256 ${got} instead of ${file.sha256}`;
  }
  const got = blob.digest("hex");
  return got === file.oid ? undefined : `git blob sha1 ${got} instead of ${file.oid}`;
}

async function sizeOf(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => s.size,
    () => undefined,
  );
}

async function get(url: string, headers: Record<string, string>): Promise<Response> {
  const token = process.env.HF_TOKEN;
  try {
    return await fetch(url, {
      headers: { ...headers, "user-agent": "svgvec-model-pull", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      redirect: "follow",
    });
  } catch (e) {
    const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : "";
    throw new ModelError(
      `cannot reach ${new URL(url).origin}: ${errorMessage(e)}${cause} (is this machine online?). ` +
        `Set SVGVEC_HF_ENDPOINT to a mirror, copy a model directory over and point SVGVEC_MODEL_DIR at it, ` +
        `or, to try svgvec without the real weights, run \`npm run model:tiny\``,
    );
  }
}
