/**
 * The grpcurl binary (installed by .ci/run with `go install`), for testing
 * the service the way operators use it.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export function grpcurlPath(): string {
  const candidates = [
    process.env.GRPCURL,
    process.env.GOBIN && join(process.env.GOBIN, "grpcurl"),
    join(process.env.GOPATH ?? join(homedir(), "go"), "bin", "grpcurl"),
    ...(process.env.PATH ?? "").split(":").map((d) => join(d, "grpcurl")),
  ];
  const found = candidates.find((c): c is string => typeof c === "string" && c !== "" && existsSync(c));
  if (found === undefined) {
    throw new Error("grpcurl not found: install it with `go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3`");
  }
  return found;
}

export async function grpcurl(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await execFileAsync(grpcurlPath(), args, { timeout: 30_000 });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: number };
    return { stdout: err.stdout ?? "", stderr: err.stderr ?? "", code: err.code ?? 1 };
  }
}
