/**
 * A loopback server that answers the Hugging Face hub's model API (tree
 * listing with LFS hashes, resolve with redirects and Range requests) for a
 * model directory on disk, so `svgvec model pull` runs its real code path.
 */
import { createHash } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative } from "node:path";

export interface FakeHub {
  endpoint: string;
  /** Requests to resolve/, with their Range header. */
  downloads: Array<{ path: string; range: string | undefined }>;
  /** Replace the bytes served for a path (the listing keeps the true hash). */
  corrupt(path: string): void;
  /** Answer the next Range request for a path with 416, as a store whose copy differs from the listing would. */
  refuseNextRange(path: string): void;
  close(): Promise<void>;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

export async function startFakeHub(repo: string, modelDir: string, extra: Record<string, Buffer> = {}): Promise<FakeHub> {
  const files = new Map<string, Buffer>();
  for (const p of await walk(modelDir)) files.set(relative(modelDir, p), await readFile(p));
  for (const [p, b] of Object.entries(extra)) files.set(p, b);
  const corrupted = new Set<string>();
  const refuseRange = new Set<string>();
  const downloads: FakeHub["downloads"] = [];
  const listing = [...files].map(([path, bytes]) => {
    const lfs = path.endsWith(".onnx");
    const blob = createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
    return {
      type: "file",
      path,
      size: lfs ? 134 : bytes.length,
      oid: lfs ? "0".repeat(40) : blob,
      ...(lfs ? { lfs: { oid: createHash("sha256").update(bytes).digest("hex"), size: bytes.length, pointerSize: 134 } } : {}),
    };
  });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === `/api/models/${repo}/tree/main`) {
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(JSON.stringify([{ type: "directory", path: "visual", oid: "x", size: 0 }, ...listing]));
    }
    const prefix = `/${repo}/resolve/main/`;
    if (url.pathname.startsWith(prefix)) {
      // The hub answers with a redirect to its file store.
      res.writeHead(302, { location: `/cdn/${url.pathname.slice(prefix.length)}` });
      return void res.end();
    }
    if (url.pathname.startsWith("/cdn/")) {
      const path = decodeURIComponent(url.pathname.slice(5));
      downloads.push({ path, range: req.headers.range });
      let body = files.get(path);
      if (body === undefined) return void res.writeHead(404).end();
      if (corrupted.has(path)) body = Buffer.from(body.map((b) => b ^ 0xff));
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
      if (m) {
        const start = Number(m[1]);
        // As HTTP servers do, a range that starts at or past the end is not satisfiable.
        if (start >= body.length || refuseRange.delete(path)) {
          return void res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
        }
        res.writeHead(206, { "content-range": `bytes ${start}-${body.length - 1}/${body.length}`, "content-length": body.length - start });
        return void res.end(body.subarray(start));
      }
      res.writeHead(200, { "content-length": body.length });
      return void res.end(body);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    downloads,
    corrupt: (p) => corrupted.add(p),
    refuseNextRange: (p) => refuseRange.add(p),
    close: () => new Promise((r) => server.close(() => r())),
  };
}
