/**
 * The built command line, as the README runs it.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AddressInfo, createServer } from "node:net";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SvgVecClient } from "../helpers/grpc-client.js";
import { freePort, probeMilvus } from "../../src/store/milvus-lite.js";
import { type Corpus, startCorpus } from "../helpers/corpus.js";
import { waitFor } from "../helpers/wait.js";
import { TINY_MODEL_DIR } from "../helpers/models.js";
import { CLI, startServerProcess } from "../helpers/server-process.js";

const execFileAsync = promisify(execFile);

describe("svgvec CLI", () => {
  let dataDir: string;
  let corpus: Corpus;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "svgvec-cli-"));
    corpus = await startCorpus();
  });
  afterAll(async () => {
    await corpus.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("says how to get the model when it is missing, and exits 1", async () => {
    const err = await execFileAsync("node", [CLI, "serve"], {
      env: { ...process.env, SVGVEC_MODEL_DIR: join(dataDir, "no-model"), SVGVEC_DATA_DIR: dataDir },
    }).catch((e: unknown) => e as { code: number; stderr: string });
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toMatch(/missing config\.json.*model pull immich-app\/ViT-B-32__laion2b-s34b-b79k/);
  });

  it("rejects invalid configuration before starting anything", async () => {
    const err = await execFileAsync("node", [CLI, "serve"], { env: { ...process.env, SVGVEC_LISTEN: "everywhere" } }).catch(
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toMatch(/invalid configuration:\n {2}- SVGVEC_LISTEN=everywhere must be host:port/);
  });

  it("model pull --if-missing keeps a complete model without asking the hub; offline, a pull says what to do instead", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const env = { ...process.env, SVGVEC_HF_ENDPOINT: closed };
    const kept = await execFileAsync("node", [CLI, "model", "pull", "--if-missing", "--dir", TINY_MODEL_DIR], { env });
    expect(kept.stdout).toBe(`model already in ${TINY_MODEL_DIR}\n`);
    const offline = await execFileAsync("node", [CLI, "model", "pull", "--if-missing", "--dir", join(dataDir, "empty-model")], { env }).catch(
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(offline).toMatchObject({ code: 1 });
    expect((offline as { stderr: string }).stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+: fetch failed: .*ECONNREFUSED.*SVGVEC_HF_ENDPOINT.*npm run model:tiny/);
  });

  it("says what to check when the configured Milvus is down, or the gRPC port is taken, and exits 1", async () => {
    const run = (env: Record<string, string>) =>
      execFileAsync("node", [CLI, "serve"], { env: { ...process.env, SVGVEC_MODEL_DIR: TINY_MODEL_DIR, SVGVEC_DATA_DIR: dataDir, ...env } }).catch(
        (e: unknown) => e as { code: number; stderr: string },
      );
    const down = await run({ SVGVEC_MILVUS_ADDRESS: `127.0.0.1:${await freePort()}` });
    expect(down).toMatchObject({ code: 1 });
    expect((down as { stderr: string }).stderr).toMatch(/cannot use Milvus at 127\.0\.0\.1:\d+ at start-up \(.*ECONNREFUSED.*\): check SVGVEC_MILVUS_ADDRESS/);
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
    try {
      const listen = `127.0.0.1:${(holder.address() as AddressInfo).port}`;
      const taken = await run({ SVGVEC_LISTEN: listen });
      expect(taken).toMatchObject({ code: 1 });
      expect((taken as { stderr: string }).stderr).toContain(`SVGVEC_LISTEN=${listen}: the address is in use by another process`);
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });

  it("refuses to serve beyond loopback without a token, saying what to set", async () => {
    const err = await execFileAsync("node", [CLI, "serve"], { env: { ...process.env, SVGVEC_LISTEN: "0.0.0.0:0" } }).catch(
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toMatch(/SVGVEC_LISTEN=0\.0\.0\.0:0 accepts calls from other machines.*Set SVGVEC_AUTH_TOKENS/);
  });

  it("serves on the embedded default, answers calls, and on SIGTERM stops Milvus Lite and exits 0", async () => {
    const server = await startServerProcess({ SVGVEC_DATA_DIR: dataDir });
    const { address, milvusAddress: milvus } = server;
    expect(milvus).toBeDefined();
    const client = new SvgVecClient(address);
    try {
      await client.addImage({ id: 7n, url: corpus.openmoji("1F436") });
      expect((await client.stats()).totalImages).toBe(1n);
    } finally {
      client.close();
    }
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toMatch(/"msg":"svgvec stopped"/);
    expect(await probeMilvus(milvus!, 1000)).not.toBe(true);
  });

  it("on SIGTERM refuses new calls, cancels running ones after the grace period, and exits 0", async () => {
    const server = await startServerProcess({ SVGVEC_DATA_DIR: dataDir, SVGVEC_SHUTDOWN_GRACE_MS: "1000", SVGVEC_FETCH_TIMEOUT_MS: "60000" });
    const client = new SvgVecClient(server.address);
    try {
      // Downloads that would take a minute; the shutdown must not wait for them.
      const running = client.streamAddImages(Array.from({ length: 4 }, (_, i) => ({ id: BigInt(100 + i), url: `${corpus.base}/slow` }))).catch((e: unknown) => e);
      await waitFor(() => corpus.openSlow() >= 4);
      const started = Date.now();
      server.child.kill("SIGTERM");
      await waitFor(() => server.stderr().includes('"msg":"shutting down"'));
      const late = new SvgVecClient(server.address);
      const refused = await late.stats({ deadline: new Date(Date.now() + 2_000) }).catch((e: unknown) => e as { code: number });
      late.close();
      expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain((refused as { code: number }).code);
      const err = (await running) as { code: number };
      expect([grpc.status.UNAVAILABLE, grpc.status.CANCELLED]).toContain(err.code);
      expect(await server.exited).toBe(0);
      expect(Date.now() - started).toBeLessThan(8_000);
      await waitFor(() => corpus.openSlow() === 0);
      expect(await probeMilvus(server.milvusAddress!, 1000)).not.toBe(true);
    } finally {
      client.close();
    }
  });
});
