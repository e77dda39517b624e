/**
 * CLIP's byte-pair tokenizer, giving the ids OpenCLIP's SimpleTokenizer gives:
 * HTML entities undone, whitespace cleaned, lower case, start 49406, end 49407,
 * zero padding to the context length, and truncation that keeps the end token.
 *
 * The BPE itself is Hugging Face's tokenizer.json (the file Immich ships beside
 * textual/model.onnx) run by @huggingface/tokenizers; OpenCLIP's text cleaning,
 * which that file does not carry, is done here first.
 */
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import he from "he";
import { ModelError } from "../errors.js";
import { readJson } from "../models/model-dir.js";

export class ClipTokenizer {
  /** What the tokenizer puts before the text (the start token). */
  private readonly startIds: number[];

  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly contextLength: number,
    readonly padId: number,
    readonly endId: number,
  ) {
    const empty = tokenizer.encode("").ids;
    this.startIds = empty.slice(0, empty.lastIndexOf(endId));
  }

  /** Loads textual/tokenizer.json and textual/tokenizer_config.json from a model directory. */
  static async fromModelDir(modelDir: string, contextLength: number): Promise<ClipTokenizer> {
    const textual = join(modelDir, "textual");
    const json = await readJson(join(textual, "tokenizer.json"));
    const config = await readJson(join(textual, "tokenizer_config.json"));
    const tokenizer = new Tokenizer(json, config);
    const padToken = typeof config.pad_token === "string" ? config.pad_token : "!";
    const eosToken = typeof config.eos_token === "string" ? config.eos_token : "<|endoftext|>";
    const padId = tokenizer.token_to_id(padToken);
    const endId = tokenizer.token_to_id(eosToken);
    if (padId === undefined || endId === undefined) {
      throw new ModelError(`${textual}/tokenizer.json lacks the pad token "${padToken}" or end token "${eosToken}"`);
    }
    return new ClipTokenizer(tokenizer, contextLength, padId, endId);
  }

  /**
   * Token ids with start and end tokens, truncated to the context, not padded.
   * Words are encoded one at a time and only until the context is full: CLIP's
   * pre-tokenizer never joins across whitespace, so the ids are the ones the
   * whole text gives, and a long query costs the tokens it keeps, not its length.
   */
  ids(text: string): number[] {
    const ids = [...this.startIds];
    words: for (const word of clean(text).split(" ")) {
      for (const part of parts(word)) {
        ids.push(...this.tokenizer.encode(part, { add_special_tokens: false }).ids);
        if (ids.length >= this.contextLength) break words;
      }
    }
    if (ids.length < this.contextLength) {
      ids.push(this.endId);
      return ids;
    }
    const cut = ids.slice(0, this.contextLength);
    cut[cut.length - 1] = this.endId;
    return cut;
  }


  /** The model input: ids padded with the pad id to the context length. */
  encode(text: string): Int32Array {
    const out = new Int32Array(this.contextLength).fill(this.padId);
    out.set(this.ids(text));
    return out;
  }
}

/** Past this length a word is encoded in parts, so a long one costs the tokens it keeps. */
const PART_LENGTH = 32;
const NUMBER = /^\p{N}$/u;

/**
 * A word cut into parts that tokenize as the whole word does. CLIP's
 * pre-tokenizer makes every number character a piece of its own, so a cut
 * just before or after one never splits a piece (nor, since a number is no
 * combining mark and not cased, changes what normalising does); a word with no
 * numbers to cut beside stays whole. (A run of 1,000 digits is 1,000 pieces.)
 * Numbers outside the BMP are not cut beside: the tokenizer does not make
 * them pieces of their own.
 */
function* parts(word: string): Generator<string> {
  let start = 0;
  while (word.length - start > PART_LENGTH) {
    let cut = start + PART_LENGTH;
    while (cut < word.length && !(isBmpNumber(word.charCodeAt(cut - 1)) || isBmpNumber(word.charCodeAt(cut)))) cut++;
    if (cut >= word.length) break;
    yield word.slice(start, cut);
    start = cut;
  }
  if (start < word.length) yield word.slice(start);
}

/** Whether a UTF-16 unit is a number in the BMP (outside it, pieces follow other rules: no cut). */
function isBmpNumber(unit: number): boolean {
  // A surrogate is half of a character outside the BMP, never a number on its own.
  if (Number.isNaN(unit) || (unit >= 0xd800 && unit <= 0xdfff)) return false;
  return NUMBER.test(String.fromCharCode(unit));
}

/**
 * OpenCLIP's basic_clean + whitespace_clean: ftfy.fix_text, then Python's
 * html.unescape twice, then whitespace collapsed (lower-casing is left to
 * tokenizer.json's normalizer).
 */
export function clean(text: string): string {
  return htmlUnescape(htmlUnescape(fixText(text)))
    .split(PY_WHITESPACE)
    .filter((w) => w !== "")
    .join(" ");
}

/**
 * ftfy.fix_text with its default settings. ftfy works line by line and repeats
 * its fixes on a line until nothing changes, so nested entities
 * (&amp;amp;amp;) unwind completely and a curly quote written as &rsquo; is
 * still straightened. Its repair of mis-decoded text (mojibake) is not
 * replicated: it does not change text that was decoded correctly, which a gRPC
 * string always is. (The one visible difference: ftfy re-decodes a Latin-1
 * letter followed by Windows-1252 punctuation or a C1 control when their bytes
 * form UTF-8, e.g. "é\u009b\u0081" as "雁"; svgvec keeps such text as sent.)
 */
function fixText(text: string): string {
  let out = "";
  // ftfy leaves entities alone on a line that holds "<" (it may be HTML) and,
  // as ftfy.fix_text carries that choice forward, on every line after it.
  let unescape = true;
  for (let pos = 0; pos < text.length; ) {
    const end = text.indexOf("\n", pos) + 1 || text.length;
    const line = text.slice(pos, end);
    if (unescape && line.includes("<")) unescape = false;
    out += fixLine(line, unescape);
    pos = end;
  }
  return out;
}

/** ftfy's fixes in ftfy's order (fix_and_explain), until the line stops changing. */
function fixLine(line: string, unescape: boolean): string {
  for (;;) {
    let fixed = unescape ? line.replace(FTFY_ENTITY, ftfyEntity) : line;
    fixed = fixed
      .replace(C1_CONTROLS, (c) => windows1252(c.codePointAt(0) ?? 0))
      // ftfy keeps the long s of U+FB05 (ﬅ), which NFKC would make a plain s.
      .replace(LIGATURES, (c) => (c === "\ufb05" ? "\u017ft" : c.normalize("NFKC")))
      .replace(WIDTH_FORMS, (c) => (c === "\u3000" ? " " : c.normalize("NFKC")))
      .replace(SINGLE_QUOTES, "'")
      .replace(DOUBLE_QUOTES, '"')
      .replace(LINE_BREAKS, "\n")
      .replace(TERMINAL_ESCAPES, "")
      .replace(CONTROL_CHARS, "")
      .normalize("NFC");
    if (fixed === line) return fixed;
    line = fixed;
  }
}

/**
 * ftfy's unescape_html: only entities that end in a semicolon, numeric ones
 * only when html.unescape consumes the semicolon, plus upper-cased names of
 * lower-case entities (&EACUTE; as É) that html.unescape does not read.
 */
function ftfyEntity(entity: string): string {
  if (entity.startsWith("&#")) {
    const char = htmlUnescape(entity);
    return char.includes(";") ? entity : char;
  }
  const exact = namedEntity(entity);
  if (exact !== undefined) return exact;
  const lower = entity.toLowerCase();
  if (entity !== lower.toUpperCase() || htmlUnescape(entity) !== entity) return entity;
  return namedEntity(lower)?.toUpperCase() ?? entity;
}

/** The character of an HTML5 named reference written in full ("&name;"), else undefined. */
function namedEntity(entity: string): string | undefined {
  try {
    // Strict mode rejects every reading of entity but the full name: a legacy
    // prefix (&ampx;) or an unknown name.
    const char = he.decode(entity, { strict: true });
    return char === entity ? undefined : char;
  } catch {
    return undefined;
  }
}

/** Python's html.unescape, which differs from an HTML parser on numeric references. */
function htmlUnescape(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(CHAR_REF, (ref: string) => {
    if (ref[1] !== "#") {
      // he reads names as html.unescape does: the HTML5 table, and the longest
      // legacy name (&amp, &not) that starts a reference not in the table.
      return he.decode(ref);
    }
    const hex = ref[2] === "x" || ref[2] === "X";
    const num = Number.parseInt(ref.slice(hex ? 3 : 2), hex ? 16 : 10);
    if (num === 0) return "\ufffd";
    if (num === 0x0d) return "\r";
    if (num >= 0x80 && num <= 0x9f) return windows1252(num);
    if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return "\ufffd";
    if (isNonCharacterOrControl(num)) return "";
    return String.fromCodePoint(num);
  });
}

/** html.unescape's _invalid_codepoints, the references it drops. */
function isNonCharacterOrControl(num: number): boolean {
  return (
    (num >= 0x01 && num <= 0x08) ||
    num === 0x0b ||
    (num >= 0x0e && num <= 0x1f) ||
    (num >= 0x7f && num <= 0x9f) ||
    (num >= 0xfdd0 && num <= 0xfdef) ||
    (num & 0xfffe) === 0xfffe
  );
}

/** A C1 code point read as Windows-1252, as browsers, ftfy and html.unescape do; the 5 unassigned stay. */
function windows1252(num: number): string {
  return WINDOWS_1252_C1[num - 0x80] ?? String.fromCodePoint(num);
}

const WINDOWS_1252_C1 =
  "\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f" +
  "\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178";

// The patterns of ftfy 6 (chardata.py, fixes.py) and Python's html module.
const FTFY_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;
const CHAR_REF = /&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;
const C1_CONTROLS = /[\u0080-\u009f]/gu;
const LIGATURES = /[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/gu;
const WIDTH_FORMS = /[\u3000\uff01-\uffef]/gu;
const SINGLE_QUOTES = /[\u02bc\u2018-\u201b]/gu;
const DOUBLE_QUOTES = /[\u201c-\u201f]/gu;
const LINE_BREAKS = /\r\n|[\r\u2028\u2029\u0085]/gu;
// Python's \d is any Unicode decimal digit.
const TERMINAL_ESCAPES = /\u001b\[[\p{Nd};]*[a-zA-Z]/gu;
const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000e-\u001f\u007f\u206a-\u206f\ufeff\ufff9-\ufffc]/gu;
// Python's str.split(): unlike JavaScript's \s it splits on U+001C..U+001F and U+0085, not on U+FEFF.
const PY_WHITESPACE = /[\t-\r\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;
