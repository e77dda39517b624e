/**
 * Input checks for every RPC. Each failure names the field and says what to send instead.
 */
import { InvalidArgumentError } from "../errors.js";
import type { SearchQuery } from "../service/image-service.js";
import { MAX_WINDOW, URL_MAX_LENGTH } from "../store/milvus-store.js";

/** Request messages above this size are refused with RESOURCE_EXHAUSTED, on every edge. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

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

/** The query fields of a SearchRequest, as the generated message carries them. */
export interface QueryFields {
  text: string;
  likeUrl: string;
  likeId?: bigint | undefined;
  includeSelf: boolean;
}

/**
 * Exactly one of text, like_url and like_id. The proto cannot say so without moving text into a
 * oneof, which would change the generated API of every client, so it is checked here.
 */
export function requireQuery(req: QueryFields): SearchQuery {
  const given = [
    req.text !== "" ? "text" : undefined,
    req.likeUrl !== "" ? "like_url" : undefined,
    req.likeId !== undefined ? "like_id" : undefined,
  ].filter((f): f is string => f !== undefined);
  if (given.length > 1) {
    throw new InvalidArgumentError(
      given.join(" and "),
      `are ${given.length === 2 ? "both" : "all"} set; a search takes exactly one of text, like_url and like_id, so send only the one to search by`,
    );
  }
  if (req.includeSelf && req.likeId === undefined) {
    throw new InvalidArgumentError("include_self", "applies only to a search by like_id; leave it out, or send like_id");
  }
  if (req.likeId !== undefined) return { kind: "id", id: req.likeId, includeSelf: req.includeSelf };
  if (req.likeUrl !== "") return { kind: "url", url: requireUrl(req.likeUrl, "like_url") };
  if (req.text.trim() === "") {
    throw new InvalidArgumentError(
      "text",
      "is empty; send the words to search for, e.g. \"red heart\", or search by image with like_url or like_id",
    );
  }
  return { kind: "text", text: requireText(req.text) };
}

export function requireMinSimilarity(min: number | undefined, field = "min_similarity"): number | undefined {
  if (min === undefined) return undefined;
  if (!Number.isFinite(min) || min < -1 || min > 1) {
    throw new InvalidArgumentError(field, `is ${min}; send a cosine similarity from -1 to 1, or leave it out for every hit`);
  }
  return min;
}

/** Most ids one search may exclude: each one lengthens the filter Milvus parses for the call. */
export const MAX_EXCLUDE_IDS = 1024;

export function requireExcludeIds(ids: readonly bigint[], field = "exclude_ids"): readonly bigint[] {
  if (ids.length > MAX_EXCLUDE_IDS) {
    throw new InvalidArgumentError(field, `has ${ids.length} ids; send at most ${MAX_EXCLUDE_IDS}, or narrow the search with min_similarity`);
  }
  return ids;
}
