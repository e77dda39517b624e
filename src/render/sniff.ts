/**
 * Tells whether downloaded bytes are an SVG document before they reach the
 * renderer, and if not, what they look like instead. The bytes come from any
 * server on the internet, so this is a single forward scan: every byte is
 * looked at a bounded number of times, whatever the input (a regular
 * expression over the prolog backtracked exponentially on a 300-byte body of
 * repeated comments and blocked the whole process).
 */

/** How much of the body the scan reads: a prolog longer than this is not worth rendering. */
export const SNIFF_BYTES = 64 * 1024;

const LT = 0x3c; // <
const GT = 0x3e; // >
const BANG = 0x21; // !
const QUESTION = 0x3f; // ?
const DASH = 0x2d; // -
const COLON = 0x3a; // :
const SLASH = 0x2f; // /
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const QUOTE = 0x22; // "
const APOSTROPHE = 0x27; // '

const COMMENT_OPEN = Buffer.from("<!--");
const COMMENT_CLOSE = Buffer.from("-->");
const PI_CLOSE = Buffer.from("?>");
const DOCTYPE = Buffer.from("<!DOCTYPE");
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * True when the bytes hold an `<svg>` (or `<prefix:svg>`) root element after
 * an optional BOM and a prolog of whitespace, processing instructions (the XML
 * declaration among them), comments and a doctype with its internal subset.
 */
export function looksLikeSvg(bytes: Uint8Array): boolean {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, SNIFF_BYTES));
  let i = startsWith(b, 0, BOM) ? BOM.length : 0;
  for (;;) {
    i = skipSpace(b, i);
    if (b[i] !== LT) return false;
    if (b[i + 1] === QUESTION) {
      i = after(b, i + 2, PI_CLOSE);
    } else if (startsWith(b, i, COMMENT_OPEN)) {
      i = after(b, i + COMMENT_OPEN.length, COMMENT_CLOSE);
    } else if (startsWith(b, i, DOCTYPE)) {
      i = afterDoctype(b, i + DOCTYPE.length);
    } else if (b[i + 1] === BANG) {
      return false;
    } else {
      return isSvgStartTag(b, i + 1);
    }
    if (i < 0) return false;
  }
}

/** What the bytes are instead of an SVG, in words for the caller. */
export function describeNonSvg(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 64));
  if (bytes.length === 0) return "the file is empty";
  if (b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return "the file is a PNG image";
  if (b[0] === 0xff && b[1] === 0xd8) return "the file is a JPEG image";
  if ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff)) return "the file is UTF-16 text; save it as UTF-8";
  if (b.subarray(0, 4).toString("latin1") === "GIF8") return "the file is a GIF image";
  const text = b.toString("utf8").trimStart().toLowerCase();
  if (text.startsWith("<!doctype html") || text.startsWith("<html")) return "the file is an HTML page";
  if (text.startsWith("{") || text.startsWith("[")) return "the file is JSON";
  if (bytes.length > SNIFF_BYTES && startsLikeXml(b)) {
    return `the file has no <svg> root element in its first ${SNIFF_BYTES / 1024} KiB; shorten the prolog (comments, doctype)`;
  }
  return "the file has no <svg> root element";
}

function startsLikeXml(b: Buffer): boolean {
  const i = skipSpace(b, startsWith(b, 0, BOM) ? BOM.length : 0);
  return b[i] === LT;
}

function startsWith(b: Buffer, at: number, prefix: Buffer): boolean {
  if (at + prefix.length > b.length) return false;
  for (let k = 0; k < prefix.length; k++) if (b[at + k] !== prefix[k]) return false;
  return true;
}

/** XML's whitespace: space, tab, CR, LF. */
function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function skipSpace(b: Buffer, i: number): number {
  while (isSpace(b[i])) i++;
  return i;
}

/** The index just past the next `close` at or after from, or -1 if there is none. */
function after(b: Buffer, from: number, close: Buffer): number {
  const at = b.indexOf(close, from);
  return at < 0 ? -1 : at + close.length;
}

/**
 * The index just past a doctype's closing `>`: quoted literals and the
 * internal subset (with its comments and declarations) may hold `>` too.
 */
function afterDoctype(b: Buffer, i: number): number {
  let inSubset = false;
  while (i < b.length) {
    const c = b[i]!;
    if (c === QUOTE || c === APOSTROPHE) {
      const end = b.indexOf(c, i + 1);
      if (end < 0) return -1;
      i = end + 1;
    } else if (inSubset && startsWith(b, i, COMMENT_OPEN)) {
      i = after(b, i + COMMENT_OPEN.length, COMMENT_CLOSE);
      if (i < 0) return -1;
    } else if (inSubset && c === LT && b[i + 1] === QUESTION) {
      i = after(b, i + 2, PI_CLOSE);
      if (i < 0) return -1;
    } else if (c === OPEN_BRACKET && !inSubset) {
      inSubset = true;
      i++;
    } else if (c === CLOSE_BRACKET && inSubset) {
      inSubset = false;
      i++;
    } else if (c === GT && !inSubset) {
      return i + 1;
    } else {
      i++;
    }
  }
  return -1;
}

/** Whether the tag name at i is `svg` or `prefix:svg`, followed by whitespace, `>` or `/`. */
function isSvgStartTag(b: Buffer, i: number): boolean {
  const nameStart = i;
  if (!isNameStart(b[i])) return false;
  while (isNameChar(b[i])) i++;
  let localStart = nameStart;
  if (b[i] === COLON) {
    localStart = i + 1;
    if (!isNameStart(b[localStart])) return false;
    i = localStart;
    while (isNameChar(b[i])) i++;
  }
  const isSvg = i - localStart === 3 && b[localStart] === 0x73 && b[localStart + 1] === 0x76 && b[localStart + 2] === 0x67;
  const next = b[i];
  return isSvg && (isSpace(next) || next === GT || next === SLASH);
}

function isNameStart(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f);
}

function isNameChar(c: number | undefined): boolean {
  return c !== undefined && (isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === DASH || c === 0x2e);
}
