/**
 * The Python client (clients/python) against a real svgvec: its own pytest
 * suite runs as a child process, pointed by environment variables at two
 * servers started from the built CLI (plaintext with a token, and TLS with a
 * token) and at SVGs served over loopback.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../src/models/generate.js";
import { type ClientTestServers, startClientTestServers } from "../helpers/client-servers.js";
import { python } from "../helpers/models.js";

const TOKEN = "python-client-token-0123456789abcdef";

interface PytestRun {
  code: number;
  output: string;
}

async function pytest(env: Record<string, string>): Promise<PytestRun> {
  // The project's Python (.venv/bin/python unless SVGVEC_PYTHON names another), where setup:test installs the client.
  const args = ["-m", "pytest", "clients/python/tests", "-q", "-rs", "-p", "no:cacheprovider"];
  try {
    const { stdout, stderr } = await promisify(execFile)(python(), args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 540_000,
    });
    return { code: 0, output: stdout + stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: number | string; message: string };
    const output = `${err.stdout ?? ""}${err.stderr ?? ""}` || err.message;
    if (/No module named (pytest|svgvec_client)/.test(output)) {
      throw new Error(`${python()} lacks the Python client or pytest: run \`npm run setup:test\`\n${output}`);
    }
    return { code: typeof err.code === "number" ? err.code : 1, output };
  }
}

describe("the Python client", () => {
  let servers: ClientTestServers | undefined;
  afterAll(() => servers?.close());

  it("passes its pytest suite against a running server", { timeout: 600_000 }, async () => {
    servers = await startClientTestServers("py", TOKEN);
    const { corpus, plain, tls, cert } = servers;

    const run = await pytest({
      SVGVEC_TEST_ADDRESS: plain.address,
      SVGVEC_TEST_TOKEN: TOKEN,
      SVGVEC_TEST_DOG_URL: corpus.openmoji("1F436"),
      SVGVEC_TEST_CAT_URL: corpus.openmoji("1F431"),
      SVGVEC_TEST_404_URL: `${corpus.base}/status/404`,
      SVGVEC_TEST_SLOW_URL: `${corpus.base}/slow`,
      SVGVEC_TEST_TLS_ADDRESS: tls.address,
      SVGVEC_TEST_CA_FILE: cert.certFile,
    });
    if (run.code !== 0) {
      throw new Error(`pytest exited ${run.code}:\n${run.output}\n--- svgvec stderr ---\n${plain.stderr().slice(-4000)}`);
    }
    // A suite that skipped everything would also exit 0: every test must have run and passed.
    const summary = /^\d+ passed\b.* in [\d.]+s/m.exec(run.output)?.[0];
    expect(summary, run.output).toBeDefined();
    expect(summary, run.output).not.toMatch(/skipped|xfailed|xpassed|deselected|error/);
  });
});
