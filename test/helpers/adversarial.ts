/**
 * Hostile inputs for the linear-time property tests: the shapes that make
 * pattern matchers and hand-written scanners go quadratic or exponential
 * (repeated prolog fragments, nested and unbalanced brackets, long runs of one
 * character, almost-matches cut off by one wrong byte), each at most
 * MAX_INPUT characters.
 */
import fc from "fast-check";

/** The sniffer reads at most this much of a body; longer inputs only cost the test time. */
export const MAX_INPUT = 4096;

const PROLOG_FRAGMENTS = [
  "<!---->", "<!--", "-->", "--", "-", "<!-- x -->", "<?xml", "?>", "<?", "<?xml version=\"1.0\"?>",
  "<!DOCTYPE", "<!DOCTYPE svg", "[", "]", "<!ENTITY", "<!ENTITY a \"", "\"", "'", ">", "<", "<!", "!",
  "<svg", "svg", ":", "a:", "<a:svg", " ", "\n", "\t", "\r", "\uFEFF", "x", "&amp;", "&", ";", "#",
];

const TEXT_FRAGMENTS = [
  "&amp;", "&amp;amp;", "&", "amp;", "&#", "&#x", "&#x41;", "&#65;", ";", "&lt;", "&quot", "\u3000", "\uff21", "\u201c",
  "\u2018", "\ufb01", "\u0000", "\u0085", "\u009b", "\u001b[", "\u001b]", "\u0007", "m", " ", "\t", "\n", "'s", "'",
  "a", "A", "1", ".", "-", "\u00e9", "e\u0301", "\ud83d\udc36", "\u200b", "<|endoftext|>", "<|", "|>",
];

const URL_FRAGMENTS = [
  "http://", "https://", "//", "/", ":", "@", "[", "]", "::", "%", "%2", "%25", "?", "#", "&", "=", ".", "..",
  "a", "0", "127.0.0.1", "[::1]", "\u00e9", "\u4e2d", " ", "\\", "xn--", "-", "~",
];

const capped = (s: string): string => (s.length > MAX_INPUT ? s.slice(0, MAX_INPUT) : s);

function fragments(pool: readonly string[]): fc.Arbitrary<string> {
  return fc.array(fc.constantFrom(...pool), { maxLength: 1200 }).map((parts) => capped(parts.join("")));
}

/** One fragment repeated many times, then one byte that spoils the match. */
function repeated(pool: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...pool), fc.integer({ min: 1, max: MAX_INPUT }), fc.constantFrom("", "x", "<", ">", "-", "]", "\u0000"))
    .map(([fragment, times, tail]) => capped(fragment.repeat(Math.ceil(times / fragment.length))) + tail);
}

/** A long run of one character, optionally between a prefix and a suffix. */
function runs(pool: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom("", ...pool), fc.string({ minLength: 1, maxLength: 1 }), fc.integer({ min: 1, max: MAX_INPUT }), fc.constantFrom("", ...pool))
    .map(([pre, c, n, post]) => capped(pre + c.repeat(n) + post));
}

/** Brackets nested deep, or left open. */
const brackets: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom("[", "<", "(", "<!--", "<![CDATA[", "\"", "'"), fc.constantFrom("]", ">", ")", "-->", "]]>", ""), fc.integer({ min: 1, max: 1500 }))
  .map(([open, close, depth]) => capped(open.repeat(depth) + close.repeat(Math.floor(depth / 2))));

function hostile(pool: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(fragments(pool), repeated(pool), runs(pool), brackets, fc.string({ unit: "binary", maxLength: MAX_INPUT }));
}

export type ArbitraryName = "prolog" | "text" | "url";

export const ARBITRARIES: Record<ArbitraryName, fc.Arbitrary<string>> = {
  prolog: hostile(PROLOG_FRAGMENTS),
  text: hostile(TEXT_FRAGMENTS),
  url: fc.oneof(hostile(URL_FRAGMENTS), fragments(URL_FRAGMENTS).map((s) => `http://a/${s}`)),
};
