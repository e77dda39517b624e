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
  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly contextLength: number,
    readonly padId: number,
    readonly endId: number,
  ) {}

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

  /** Token ids with start and end tokens, truncated to the context, not padded. */
  ids(text: string): number[] {
    const ids = this.tokenizer.encode(clean(text)).ids;
    if (ids.length <= this.contextLength) return ids;
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

/**
 * OpenCLIP's basic_clean + whitespace_clean: ftfy's default fixes that change
 * well-formed text (full-width forms, curly quotes, Latin ligatures, control
 * characters), HTML entities undone twice, whitespace collapsed. ftfy's repair
 * of mis-decoded text (mojibake) is not replicated: it does not change text
 * that was decoded correctly, which a gRPC string always is.
 */
export function clean(text: string): string {
  const fixed = text
    .replace(WIDTH_FORMS, (c) => (c === "\u3000" ? " " : c.normalize("NFKC")))
    .replace(LIGATURES, (c) => c.normalize("NFKC"))
    .replace(SINGLE_QUOTES, "'")
    .replace(DOUBLE_QUOTES, '"')
    .replace(CONTROL_CHARS, "")
    .normalize("NFC");
  const unescaped = he.decode(he.decode(fixed));
  return unescaped.split(/\s+/u).filter((w) => w !== "").join(" ");
}

// The character classes of ftfy 6 (chardata.py and fixes.py).
const WIDTH_FORMS = /[\u3000\uff01-\uffef]/gu;
const LIGATURES = /[\u0132\u0133\u0149\u01c5\u01c6\u01c8\u01c9\u01cb\u01cc\ufb00-\ufb06]/gu;
const SINGLE_QUOTES = /[\u02bc\u2018-\u201b]/gu;
const DOUBLE_QUOTES = /[\u201c-\u201f]/gu;
const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000e-\u001f\u007f\u206a-\u206f\ufeff\ufff9-\ufffc]/gu;
