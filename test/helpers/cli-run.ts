/**
 * The built `svgvec` bin as a user runs it: a child process with arguments,
 * environment and standard input, its exit code and output collected.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../../src/models/generate.js";

export const BIN = join(REPO_ROOT, "bin/svgvec.js");

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Written to standard input, which is then closed (empty when not given). */
  input?: string;
  env?: Record<string, string>;
  cwd?: string;
}

export function svgvec(args: string[], opts: CliOptions = {}): Promise<CliRun> {
  const child = spawn("node", [BIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    // No address or token from the environment of whoever runs the tests.
    env: { ...process.env, SVGVEC_ADDRESS: "", SVGVEC_TOKEN: "", ...opts.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(opts.input ?? "");
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Each line of stdout parsed as JSON. */
export function jsonLines(run: CliRun): Array<Record<string, unknown>> {
  return run.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
