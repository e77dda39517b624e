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
 * Inputs are at most 4 KiB: a linear scan of that takes microseconds (the tokenizer's BPE about
 * 2 ms for the longest query allowed), a backtracking one seconds to forever.
 */
const PER_CALL_MS = 10;
const RUNS = 10_000;

const CHECKS: Array<[TargetName, ArbitraryName]> = [
  ["looksLikeSvg", "prolog"],
  ["describeNonSvg", "prolog"],
  ["clean", "text"],
  ["tokenize", "text"],
  ["requireText", "text"],
  ["requireUrl", "url"],
  ["bearerToken", "text"],
  ["addressRange", "url"],
  ["parseHosts", "url"],
];

describe("linear time on hostile input", () => {
  for (const [target, arbitrary] of CHECKS) {
    it(`${target}: ${RUNS} ${arbitrary} inputs, each call under ${PER_CALL_MS} ms`, async () => {
      const report = await runLinearCheck({ target, arbitrary, runs: RUNS, seed: 20261126, perCallMs: PER_CALL_MS, budgetMs: 40_000 });
      expect(report.calls).toBe(RUNS);
      expect(report.worst.ms, `slowest: input #${report.worst.index} (${report.worst.length} chars)`).toBeLessThan(PER_CALL_MS);
    }, 60_000);
  }
});
