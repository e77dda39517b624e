/**
 * Every function that scans input a stranger controls, as a target for the
 * linear-time property tests (test/helpers/linear.ts runs them in a worker
 * thread, so a target that hangs fails its test instead of freezing the run).
 */
import { bearerToken } from "../../src/rpc/auth.js";
import { requireText, requireUrl } from "../../src/rpc/validate.js";
import { addressRange } from "../../src/fetch/addresses.js";
import { parseHosts } from "../../src/fetch/resolve.js";
import { ClipTokenizer, clean } from "../../src/clip/tokenizer.js";
import { describeNonSvg, looksLikeSvg } from "../../src/render/sniff.js";
import { TINY_MODEL_DIR } from "./models.js";

const tokenizer = await ClipTokenizer.fromModelDir(TINY_MODEL_DIR, 77);

/** Runs fn and ignores the domain error a bad input is meant to get. */
function tolerant(fn: (s: string) => unknown): (s: string) => void {
  return (s) => {
    try {
      fn(s);
    } catch {
      // Refusing bad input is the expected outcome; only the time it takes matters here.
    }
  };
}

export const TARGETS = {
  looksLikeSvg: (s: string) => looksLikeSvg(Buffer.from(s, "utf8")),
  describeNonSvg: (s: string) => describeNonSvg(Buffer.from(s, "utf8")),
  clean: (s: string) => clean(s),
  tokenize: (s: string) => tokenizer.ids(s.slice(0, 1000)),
  requireUrl: tolerant(requireUrl),
  requireText: tolerant(requireText),
  bearerToken: (s: string) => bearerToken(`Bearer ${s}`),
  addressRange: tolerant(addressRange),
  parseHosts: (s: string) => parseHosts(s),
} satisfies Record<string, (s: string) => unknown>;

export type TargetName = keyof typeof TARGETS;
