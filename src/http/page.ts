/**
 * The search page: a fixed set of static files from web/, served on the HTTP port under a strict
 * Content-Security-Policy. The page holds no data (it asks svgvec.v1 for everything, with the
 * caller's token), so its files need no token.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sendError, type HttpRequest, type HttpResponse } from "./respond.js";
import type { HttpRoute } from "./server.js";

/** web/ beside src/ and dist/: this module sits two levels below the package root in both. */
export const WEB_DIR = fileURLToPath(new URL("../../web/", import.meta.url));

/**
 * SVGs are shown only as <img> from their own URLs, so img-src is the one directive that reaches
 * beyond svgvec; everything else is svgvec's own files and nothing inline.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src http: https:",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** URL path to file in web/ and its content type: the only paths this route answers. */
const FILES: ReadonlyMap<string, { file: string; type: string }> = new Map([
  ["/", { file: "index.html", type: "text/html; charset=utf-8" }],
  ["/page.js", { file: "page.js", type: "text/javascript; charset=utf-8" }],
  ["/page.css", { file: "page.css", type: "text/css; charset=utf-8" }],
  ["/favicon.svg", { file: "favicon.svg", type: "image/svg+xml" }],
]);

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

/** Reads the page's files once, so a missing file fails the start instead of a request. */
export async function pageRoute(dir: string = WEB_DIR): Promise<HttpRoute> {
  const files = new Map<string, StaticFile>();
  for (const [path, { file, type }] of FILES) {
    const body = await readFile(join(dir, file)).catch((err: unknown) => {
      throw new Error(`the search page's file ${file} cannot be read from ${dir} (${String(err)}); reinstall svgvec`);
    });
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
    files.set(path, { body, type, etag });
  }
  return (req, res, url) => {
    const file = files.get(url.pathname);
    if (file === undefined) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      sendError(res, 405, "unimplemented", `${url.pathname} answers GET and HEAD only`);
      return true;
    }
    sendFile(req, res, file);
    return true;
  };
}

function sendFile(req: HttpRequest, res: HttpResponse, file: StaticFile): void {
  const headers: Record<string, string> = {
    "content-security-policy": PAGE_CSP,
    // The files are not fingerprinted: a browser keeps them, but asks (cheaply, by ETag) whether they changed.
    "cache-control": "no-cache",
    etag: file.etag,
  };
  if (matchesEtag(req.headers["if-none-match"], file.etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, "content-type": file.type, "content-length": String(file.body.length) });
  if (req.method === "HEAD") res.end();
  else res.end(file.body);
}

/** If-None-Match compares weakly (RFC 9110 13.1.2): a W/ prefix does not matter. */
function matchesEtag(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const value = Array.isArray(header) ? header.join(",") : header;
  return value.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t.replace(/^W\//, "") === etag;
  });
}
