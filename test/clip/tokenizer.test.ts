import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Tokenizer } from "@huggingface/tokenizers";
import fc from "fast-check";
import { ClipTokenizer, clean } from "../../src/clip/tokenizer.js";
import { readJson } from "../../src/models/model-dir.js";
import { REPO_ROOT } from "../../src/models/generate.js";
import { TINY_MODEL_DIR } from "../helpers/models.js";

interface Reference {
  source: string;
  cases: Array<{ text: string; ids: number[] }>;
}

// Ids from OpenCLIP's own SimpleTokenizer (tools/reference_tokens.py), same vocabulary.
const reference = JSON.parse(readFileSync(join(REPO_ROOT, "test/fixtures/tokenizer-reference.json"), "utf8")) as Reference;

describe("ClipTokenizer", () => {
  let tokenizer: ClipTokenizer;
  beforeAll(async () => {
    tokenizer = await ClipTokenizer.fromModelDir(TINY_MODEL_DIR, 77);
  });

  it.each(reference.cases.map((c) => [c.text.slice(0, 50), c] as const))("matches OpenCLIP on %j", (_label, c) => {
    expect(Array.from(tokenizer.encode(c.text))).toEqual(c.ids);
  });

  it("gives the ids of the whole text while encoding words in parts and stopping at the context", async () => {
    // The reference: the same tokenizer.json run over the whole cleaned text at once, then cut to 77.
    const whole = new Tokenizer(await readJson(join(TINY_MODEL_DIR, "textual/tokenizer.json")), await readJson(join(TINY_MODEL_DIR, "textual/tokenizer_config.json")));
    const expected = (text: string): number[] => {
      const ids = whole.encode(clean(text)).ids;
      if (ids.length <= 77) return ids;
      const cut = ids.slice(0, 77);
      cut[76] = tokenizer.endId;
      return cut;
    };
    const pieces = ["1", "0", "a", "ab", "!", "'s", "é", "e\u0301", "\u{1D7CF}", "\u0661", "Σ", "İ", " ", "<|endoftext|>", "\u00bd", "x", "dog"];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 400 }), (parts) => {
        const text = parts.join("").slice(0, 1000);
        expect(tokenizer.ids(text)).toEqual(expected(text));
      }),
      { numRuns: 2_000, seed: 77 },
    );
  });

  it("covers the cases the reference was made for", () => {
    const texts = reference.cases.map((c) => c.text);
    expect(texts.some((t) => /\p{Extended_Pictographic}/u.test(t))).toBe(true);
    expect(texts.some((t) => /\p{Script=Han}/u.test(t))).toBe(true);
    expect(reference.cases.some((c) => c.ids.filter((i) => i !== 0).length === 77)).toBe(true);
  });

  it("frames every input with start and end tokens and pads with zeros", () => {
    const ids = Array.from(tokenizer.encode("dog"));
    expect(ids).toHaveLength(77);
    expect(ids.slice(0, 3)).toEqual([49406, 1929, 49407]);
    expect(ids.slice(3).every((i) => i === 0)).toBe(true);
  });

  it("truncates long input to 77 tokens and keeps the end token last", () => {
    const ids = Array.from(tokenizer.encode("cat ".repeat(500)));
    expect(ids).toHaveLength(77);
    expect(ids[0]).toBe(49406);
    expect(ids[76]).toBe(49407);
    expect(tokenizer.ids("cat ".repeat(500))).toHaveLength(77);
  });

  it("gives unpadded ids for dynamic-length models", () => {
    expect(tokenizer.ids("red heart")).toEqual([49406, 736, 1936, 49407]);
  });
});
