/**
 * Input checks for every RPC. Each failure names the field and says what to send instead.
 */
import { InvalidArgumentError } from "../errors.js";
import { MAX_WINDOW, URL_MAX_LENGTH } from "../store/milvus-store.js";

export const TEXT_MAX_LENGTH = 1000;
export const DEFAULT_K = 10;
export const DEFAULT_PAGE_SIZE = 1000;

export function requireId(id: bigint | undefined, field = "id"): bigint {
  if (id === undefined) throw new InvalidArgumentError(field, "is required; send the image's int64 id");
  return id;
}

export function requireUrl(url: string, field = "url"): string {
  if (url === "") throw new InvalidArgumentError(field, "is required; send the http(s) URL of an SVG file");
  // Milvus measures a VARCHAR in UTF-8 bytes, so each non-ASCII character takes 2 to 4 of them.
  const bytes = Buffer.byteLength(url, "utf8");
  if (bytes > URL_MAX_LENGTH) {
    throw new InvalidArgumentError(
      field,
      `is ${bytes} bytes of UTF-8; at most ${URL_MAX_LENGTH} bytes fit the store (non-ASCII characters take 2 to 4 bytes each), so send a shorter URL`,
    );
  }
  if (url.trim() !== url) throw new InvalidArgumentError(field, "has leading or trailing whitespace; send the URL alone");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError(field, `"${clip(url)}" is not an absolute URL; send e.g. https://example.com/icon.svg`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new InvalidArgumentError(field, `scheme ${parsed.protocol} is not supported; use http or https`);
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new InvalidArgumentError(
      field,
      "carries credentials (user:password@); svgvec stores URLs and fetches public files, so send a URL without them",
    );
  }
  return url;
}

export function requireText(text: string, field = "text"): string {
  if (text.trim() === "") throw new InvalidArgumentError(field, "is empty; send the words to search for, e.g. \"red heart\"");
  if (text.length > TEXT_MAX_LENGTH) {
    throw new InvalidArgumentError(field, `is ${text.length} characters; send at most ${TEXT_MAX_LENGTH}`);
  }
  return text;
}

export function requireK(k: number | undefined, field = "k"): number {
  if (k === undefined) return DEFAULT_K;
  if (!Number.isInteger(k) || k < 1 || k > MAX_WINDOW) {
    throw new InvalidArgumentError(field, `is ${k}; send a number from 1 to ${MAX_WINDOW}, or leave it out for ${DEFAULT_K}`);
  }
  return k;
}

export function requirePageSize(size: number, field = "page_size"): number {
  if (size === 0) return DEFAULT_PAGE_SIZE;
  if (size > MAX_WINDOW) throw new InvalidArgumentError(field, `is ${size}; send 1 to ${MAX_WINDOW}, or 0 for ${DEFAULT_PAGE_SIZE}`);
  return size;
}

export function requireLimit(limit: bigint, field = "limit"): number {
  if (limit > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidArgumentError(field, `is too large; send 0 for all records`);
  return Number(limit);
}

/** The start of s, cut between characters (never inside a surrogate pair). */
function clip(s: string): string {
  const chars = Array.from(s);
  return chars.length > 80 ? `${chars.slice(0, 77).join("")}...` : s;
}

export const MAX_NPROBE = 65_536;

export function requireNprobe(nprobe: number | undefined, field = "nprobe"): number | undefined {
  if (nprobe === undefined) return undefined;
  if (nprobe < 1 || nprobe > MAX_NPROBE) {
    throw new InvalidArgumentError(field, `is ${nprobe}; send 1 to ${MAX_NPROBE} (clusters probed), or leave it out for the server default`);
  }
  return nprobe;
}
