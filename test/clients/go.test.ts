/**
 * The Go client (clients/go) against a real svgvec: its own `go test` suite
 * runs as a child process, pointed by environment variables at two servers
 * started from the built CLI (plaintext with a token, and TLS with a token)
 * and at SVGs served over loopback.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../src/models/generate.js";
import { type ClientTestServers, startClientTestServers } from "../helpers/client-servers.js";

const TOKEN = "go-client-token-0123456789abcdef";
const GO_TESTS = ["TestRoundTrip", "TestStatusCodes", "TestCallTimeout", "TestToken", "TestTLS", "TestOptionErrors", "TestSearchByImage"];

interface GoRun {
  code: number;
  output: string;
}

async function goTest(env: Record<string, string>): Promise<GoRun> {
  try {
    // -count=1: the result depends on the servers, so Go's test cache must not answer for them.
    const { stdout, stderr } = await promisify(execFile)("go", ["test", "-count=1", "-v", "./..."], {
      cwd: join(REPO_ROOT, "clients/go"),
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 540_000,
    });
    return { code: 0, output: stdout + stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: number | string; message: string };
    const output = `${err.stdout ?? ""}${err.stderr ?? ""}`;
    if (err.code === "ENOENT") throw new Error("go is not on PATH: install Go (1.25 or later) to test clients/go");
    return { code: typeof err.code === "number" ? err.code : 1, output: output || err.message };
  }
}

describe("the Go client", () => {
  let servers: ClientTestServers | undefined;
  afterAll(() => servers?.close());

  it("passes its go test suite against a running server", { timeout: 600_000 }, async () => {
    servers = await startClientTestServers("go", TOKEN);
    const { corpus, plain, tls, cert } = servers;

    const run = await goTest({
      SVGVEC_TEST_ADDRESS: plain.address,
      SVGVEC_TEST_TOKEN: TOKEN,
      SVGVEC_TEST_DOG_URL: corpus.openmoji("1F436"),
      SVGVEC_TEST_CAT_URL: corpus.openmoji("1F431"),
      SVGVEC_TEST_HEART_URL: corpus.openmoji("2764"),
      SVGVEC_TEST_BAD_URL: `${corpus.base}/status/404`,
      SVGVEC_TEST_SLOW_URL: `${corpus.base}/slow`,
      SVGVEC_TEST_TLS_ADDRESS: tls.address,
      SVGVEC_TEST_CA_FILE: cert.certFile,
    });
    if (run.code !== 0) {
      throw new Error(`go test exited ${run.code}:\n${run.output}\n--- svgvec stderr ---\n${plain.stderr().slice(-4000)}`);
    }
    // A suite that skipped everything would also exit 0: each test must have run and passed.
    for (const name of GO_TESTS) expect(run.output, run.output).toContain(`--- PASS: ${name} `);
    expect(run.output).not.toContain("--- SKIP");
  });
});
