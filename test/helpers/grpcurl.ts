/**
 * The grpcurl binary (installed by .ci/run with `go install`), for testing
 * the service the way operators use it.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { goBinary } from "./go-bin.js";

const execFileAsync = promisify(execFile);

export function grpcurlPath(): string {
  return goBinary("grpcurl", "GRPCURL", "go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3");
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
