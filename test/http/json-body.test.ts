/**
 * jsonSyntaxError, which says where a REST body stops being JSON: it must call exactly the texts
 * JSON.parse refuses invalid, and point at the right place.
 */
import { describe, expect, it } from "vitest";
import { jsonSyntaxError } from "../../src/http/json-body.js";

const VALID = [
  "{}",
  "[]",
  '{"id": 1, "url": "https://example.com/a.svg"}',
  ' \t\r\n{"a": [1, -2.5e-3, 0, 1E+2, true, false, null, "x\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"]} ',
  '{"images": [{"id": "9007199254740993", "url": "u"}, {"id": 2, "url": "v"}]}',
  '"text"',
  "0",
  "-0.0",
  '[[[[{"a": {"b": []}}]]]]',
];

/** A small seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("jsonSyntaxError", () => {
  it("finds nothing wrong in valid JSON", () => {
    for (const text of VALID) expect(jsonSyntaxError(text), text).toBeUndefined();
  });

  it("points at the line and column where the text stops being JSON", () => {
    expect(jsonSyntaxError('{"k": }')).toBe('line 1, column 7: expected a value (object, array, string, number, true, false or null), found "}"');
    expect(jsonSyntaxError('{\n  "a": 1,\n}')).toBe('line 3, column 1: expected a member name in double quotes, found "}"');
    expect(jsonSyntaxError("[1, 2")).toBe("line 1, column 6: expected ',' or ']', found the end of the body");
    expect(jsonSyntaxError('{"a" 1}')).toBe("line 1, column 6: expected ':' after the member name, found \"1\"");
    expect(jsonSyntaxError("[01]")).toBe("line 1, column 3: expected ',' or ']', found \"1\"");
    expect(jsonSyntaxError('"a\\x"')).toMatch(/^line 1, column 4: expected an escape .*found "x"$/);
    expect(jsonSyntaxError('"tab\there"')).toMatch(/^line 1, column 5: expected no control character/);
    expect(jsonSyntaxError("{} {}")).toBe('line 1, column 4: expected the end of the body after the JSON value, found "{"');
    expect(jsonSyntaxError("")).toMatch(/^line 1, column 1: expected a value .* found the end of the body$/);
    expect(jsonSyntaxError("[1.]")).toMatch(/^line 1, column 4: expected a digit after the decimal point/);
    expect(jsonSyntaxError("'a'")).toMatch(/^line 1, column 1: expected a value/);
  });

  it("agrees with JSON.parse on thousands of mutated documents", () => {
    const next = random(20261126);
    const alphabet = ['"', "{", "}", "[", "]", ",", ":", " ", "\n", "\\", "u", "0", "1", "-", ".", "e", "t", "n", "x"];
    let invalid = 0;
    for (let n = 0; n < 5000; n++) {
      const chars = [...VALID[Math.floor(next() * VALID.length)]!];
      for (let edits = 1 + Math.floor(next() * 3); edits > 0; edits--) {
        const at = Math.floor(next() * (chars.length + 1));
        const op = next();
        const c = alphabet[Math.floor(next() * alphabet.length)]!;
        if (op < 0.4) chars.splice(at, 1);
        else if (op < 0.7) chars.splice(at, 0, c);
        else chars[Math.min(at, chars.length - 1)] = c;
      }
      const text = chars.join("");
      let parses = true;
      try {
        JSON.parse(text);
      } catch {
        parses = false;
      }
      const problem = jsonSyntaxError(text);
      expect(problem === undefined, JSON.stringify(text)).toBe(parses);
      if (!parses) invalid++;
    }
    expect(invalid).toBeGreaterThan(1000);
  });

  it("handles deep nesting without recursion", () => {
    const depth = 1_000_000;
    expect(jsonSyntaxError("[".repeat(depth) + "]".repeat(depth))).toBeUndefined();
    expect(jsonSyntaxError("[".repeat(depth) + "]".repeat(depth - 1) + "}")).toMatch(/expected ',' or '\]', found "\}"/);
  });
});
