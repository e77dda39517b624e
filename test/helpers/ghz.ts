/**
 * ghz, the gRPC load generator (installed by `npm run setup:test` with go install),
 * for the load test and the search benchmark.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { goBinary } from "./go-bin.js";

const execFileAsync = promisify(execFile);

export function ghzPath(): string {
  return goBinary("ghz", "GHZ", "go install github.com/bojand/ghz/cmd/ghz@v0.120.0");
}

export interface GhzRun {
  /** Full method name, e.g. svgvec.v1.SvgVecService/Search. */
  call: string;
  /** Request JSON; ghz fills in {{.RequestNumber}} and friends. */
  data: string;
  requests: number;
  concurrency: number;
  /** Per-request timeout. */
  timeout?: string;
  /** Whole-run limit, after which ghz is killed. */
  limitMs?: number;
}

export interface GhzReport {
  count: number;
  rps: number;
  latencyDistribution: Array<{ percentage: number; latency: number }> | null;
  statusCodeDistribution: Record<string, number>;
  errorDistribution: Record<string, number> | null;
}

export async function ghz(address: string, run: GhzRun): Promise<GhzReport> {
  const { stdout } = await execFileAsync(
    ghzPath(),
    [
      "--insecure",
      "--call", run.call,
      "-d", run.data,
      "-n", String(run.requests),
      "-c", String(run.concurrency),
      "--timeout", run.timeout ?? "30s",
      "-O", "json",
      address,
    ],
    { maxBuffer: 64 * 1024 * 1024, timeout: run.limitMs ?? 300_000 },
  );
  return JSON.parse(stdout) as GhzReport;
}
