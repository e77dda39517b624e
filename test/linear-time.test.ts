/**
 * Every function that scans input a stranger controls (SVG bytes, URLs, query
 * text, the tokenizer's cleaning, the authorization header, URL hosts and the hosts file) costs time linear
 * in its input: 10,000 adversarial inputs each, every call within a few
 * milliseconds. The calls run in a worker thread (test/helpers/linear.ts), so
 * a pattern that backtracks fails its test rather than freezing the run.
 */
import { describe, expect, it } from "vitest";
import type { ArbitraryName } from "./helpers/adversarial.js";
import type { TargetName } from "./helpers/linear-targets.js";
import { runLinearCheck } from "./helpers/linear.js";

/**
 * Inputs are at most 4 KiB: a linear scan of that takes microseconds, a backtracking one seconds to
 * forever. The tokenizer's byte-level BPE is the one costly step: up to about 7 ms here for the
 * longest query allowed (1,000 characters of one non-letter symbol, warm), so it gets 25 ms.
 */
const PER_CALL_MS = 10;
const TOKENIZE_MS = 25;
const RUNS = 10_000;

const CHECKS: Array<[TargetName, ArbitraryName, number]> = [
  ["looksLikeSvg", "prolog", PER_CALL_MS],
  ["describeNonSvg", "prolog", PER_CALL_MS],
  ["clean", "text", PER_CALL_MS],
  ["tokenize", "text", TOKENIZE_MS],
  ["requireText", "text", PER_CALL_MS],
  ["requireUrl", "url", PER_CALL_MS],
  ["bearerToken", "text", PER_CALL_MS],
  ["addressRange", "url", PER_CALL_MS],
  ["parseHosts", "url", PER_CALL_MS],
];

describe("linear time on hostile input", () => {
  for (const [target, arbitrary, perCallMs] of CHECKS) {
    it(`${target}: ${RUNS} ${arbitrary} inputs, each call under ${perCallMs} ms`, async () => {
      const report = await runLinearCheck({ target, arbitrary, runs: RUNS, seed: 20261126, perCallMs, budgetMs: 40_000 });
      expect(report.calls).toBe(RUNS);
      expect(report.worst.ms, `slowest: input #${report.worst.index} (${report.worst.length} chars)`).toBeLessThan(perCallMs);
    }, 60_000);
  }
});
