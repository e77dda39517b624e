/**
 * The TypeScript client (src/client, through the package entry src/index.ts)
 * against a real svgvec server in-process: every RPC, errors as ConnectError
 * codes, tokens, TLS, deadlines, retries of UNAVAILABLE, and exact int64 ids.
 */
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import type { Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  AddOutcome,
  Code,
  ConnectError,
  ServingStatus,
  SvgVecClientOptionsError,
  createSvgVecClient,
  type Image,
  type SvgVecClient,
} from "../../src/index.js";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { type Corpus, startCorpus } from "../helpers/corpus.js";
import { type TestCertificate, makeCertificate } from "../helpers/tls.js";
import { waitFor } from "../helpers/wait.js";

const TOKEN = "client-token-0123456789abcdef";

/** The ConnectError a call failed with; throws when it succeeded or failed otherwise. */
async function connectFailure(p: Promise<unknown>): Promise<ConnectError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (e === undefined) throw new Error("expected the call to fail");
  if (!(e instanceof ConnectError)) throw new Error(`expected a ConnectError, got ${String(e)}`);
  return e;
}

async function listAll(client: SvgVecClient, req: { includeVectors?: boolean; limit?: bigint; pageSize?: number } = {}): Promise<Image[][]> {
  const pages: Image[][] = [];
  for await (const page of client.listImages(req)) pages.push(page.images);
  return pages;
}

/** A loopback port that nothing listens on (it was free a moment ago). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** An interceptor that counts the tries that reach the transport. */
function counter(): { interceptor: Interceptor; tries: () => number } {
  let n = 0;
  return {
    interceptor: (next) => (req) => {
      n++;
      return next(req);
    },
    tries: () => n,
  };
}

let corpus: Corpus;
const clients: SvgVecClient[] = [];
const track = (c: SvgVecClient): SvgVecClient => {
  clients.push(c);
  return c;
};

beforeAll(async () => {
  corpus = await startCorpus();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await corpus.close();
});

describe("createSvgVecClient against a plaintext server", () => {
  let t: TestApp;
  let client: SvgVecClient;

  beforeAll(async () => {
    t = await startTestApp({ milvusAddress: inject("liteAddress") });
    client = track(createSvgVecClient(t.app.address));
  });
  afterAll(() => t.close());

  it("calls every RPC: health, stats, add, stream add, list, search, remove", async () => {
    expect(await client.health()).toBe(ServingStatus.SERVING);
    expect(await client.health("svgvec.v1.SvgVecService")).toBe(ServingStatus.SERVING);

    const stats = await client.stats();
    expect(stats.totalImages).toBe(0n);
    expect(stats.collectionName).toBe(t.config.milvus.collection);

    const dog = await client.addImage({ id: 101n, url: corpus.openmoji("1F436"), includeVector: true });
    expect(dog.outcome).toBe(AddOutcome.ADDED);
    expect(dog.image?.vector).toHaveLength(512);
    expect((await client.addImage({ id: 101n, url: corpus.openmoji("1F436") })).outcome).toBe(AddOutcome.UNCHANGED);

    // A plain array and an async generator both feed the client stream.
    const summary = await client.streamAddImages([
      { id: 102n, url: corpus.openmoji("1F431") },
      { id: 103n, url: `${corpus.base}/status/404` },
    ]);
    expect(summary).toMatchObject({ received: 2n, added: 1n, failed: 1n });
    expect(summary.failures[0]).toMatchObject({ id: 103n, code: "FAILED_PRECONDITION", index: 1n });
    async function* more() {
      yield { id: 104n, url: corpus.openmoji("1F436") };
      yield { id: 101n, url: corpus.openmoji("1F431") };
    }
    expect(await client.streamAddImages(more())).toMatchObject({ received: 2n, added: 1n, replaced: 1n, failed: 0n });

    const pages = await listAll(client, { pageSize: 2 });
    expect(pages.map((p) => p.length)).toEqual([2, 1]);
    expect(pages.flat().map((i) => i.id)).toEqual([101n, 102n, 104n]);
    expect(pages.flat().every((i) => i.vector.length === 0)).toBe(true);
    expect((await listAll(client, { includeVectors: true, limit: 1n })).flat()[0]?.vector).toHaveLength(512);

    const { hits } = await client.search({ text: "dog", k: 2 });
    expect(hits).toHaveLength(2);
    expect(hits[0]!.similarity).toBeGreaterThanOrEqual(hits[1]!.similarity);

    expect((await client.remove({ id: 104n })).removed).toBe(true);
    expect((await client.remove({ id: 104n })).removed).toBe(false);
    expect((await client.stats()).totalImages).toBe(2n);
  });

  it("fails with ConnectError codes: INVALID_ARGUMENT, FAILED_PRECONDITION, with the server's reason", async () => {
    const noText = await connectFailure(client.search({ text: "" }));
    expect(noText.code).toBe(Code.InvalidArgument);
    expect(noText.rawMessage).toMatch(/text/);

    const noId = await connectFailure(client.addImage({ url: corpus.openmoji("1F436") }));
    expect(noId.code).toBe(Code.InvalidArgument);
    expect(noId.rawMessage).toMatch(/id/);

    const missing = await connectFailure(client.addImage({ id: 7n, url: `${corpus.base}/status/404` }));
    expect(missing.code).toBe(Code.FailedPrecondition);
    expect(missing.rawMessage).toMatch(/404/);
  });

  it("gives up at the deadline with DEADLINE_EXCEEDED, per call and by default", async () => {
    const perCall = await connectFailure(client.addImage({ id: 8n, url: `${corpus.base}/slow` }, { timeoutMs: 300 }));
    expect(perCall.code).toBe(Code.DeadlineExceeded);

    const impatient = track(createSvgVecClient(t.app.address, { timeoutMs: 300 }));
    const started = Date.now();
    const byDefault = await connectFailure(impatient.addImage({ id: 8n, url: `${corpus.base}/slow` }));
    expect(byDefault.code).toBe(Code.DeadlineExceeded);
    // The slow URL never finishes: without the deadline this call would wait for the server's fetch timeout.
    expect(Date.now() - started).toBeLessThan(5_000);
    // The server stops the work: the download is closed and nothing is written.
    await waitFor(() => corpus.openSlow() === 0);
    expect((await client.remove({ id: 8n })).removed).toBe(false);
  });

  it("rejects unusable options before sending anything, saying what to give", () => {
    expect(() => createSvgVecClient("localhost")).toThrow(/has no port/);
    expect(() => createSvgVecClient("ftp://localhost:1")).toThrow(SvgVecClientOptionsError);
    expect(() => createSvgVecClient("127.0.0.1:1", { timeoutMs: 0 })).toThrow(/timeoutMs must be a positive/);
    expect(() => createSvgVecClient("127.0.0.1:1", { retry: { maxAttempts: 0 } })).toThrow(/maxAttempts/);
    expect(() => createSvgVecClient("127.0.0.1:1", { token: "two words" })).toThrow(/token must be printable/);
    expect(() => createSvgVecClient("127.0.0.1:1", { tls: { caFile: "/nonexistent/ca.pem" } })).toThrow(/cannot read the TLS CA file/);
  });
});

describe.each(["liteAddress", "standaloneAddress"] as const)("ids through createSvgVecClient on %s", (key) => {
  let t: TestApp;
  let client: SvgVecClient;

  beforeAll(async () => {
    t = await startTestApp({ milvusAddress: inject(key) });
    client = track(createSvgVecClient(t.app.address));
  });
  afterAll(() => t.close());

    it("round-trips int64 ids exactly, beyond 2^53 and at both extremes", async () => {
      // -9223372036854775807 too, and before the smallest: Milvus reads the literal -9223372036854775808 as
      // its neighbour, and its query iterator starts above both. The largest int64 only on Milvus Lite:
      // Milvus 2.3.5 standalone acknowledges a row with that id (insert or upsert alike) and never returns it.
      const ids = [9007199254740993n, -1n, -9223372036854775807n, -9223372036854775808n, ...(key === "liteAddress" ? [9223372036854775807n] : [])];
      for (const id of ids) {
        const res = await client.addImage({ id, url: corpus.openmoji("1F436") });
        expect([res.image?.id, res.outcome]).toEqual([id, AddOutcome.ADDED]);
      }
      const listed = (await listAll(client)).flat().map((i) => i.id);
      for (const id of ids) expect(listed).toContain(id);
      // 9007199254740993 would read back as ...992 through a JS number; the neighbour was never stored.
      expect(listed).not.toContain(9007199254740992n);
      const { hits } = await client.search({ text: "dog", k: 100 });
      expect(hits.map((h) => h.id).filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());
      const failed = await client.streamAddImages([{ id: 9223372036854775807n, url: `${corpus.base}/status/404` }]);
      expect(failed.failures[0]?.id).toBe(9223372036854775807n);
      const removed: Array<[bigint, boolean]> = [];
      for (const id of ids) removed.push([id, (await client.remove({ id })).removed]);
      expect((await listAll(client)).flat().map((i) => i.id).filter((id) => ids.includes(id))).toEqual([]);
      expect(removed).toEqual(ids.map((id) => [id, true]));
    });
});

describe("createSvgVecClient with a token and TLS", () => {
  let cert: TestCertificate;
  let t: TestApp;

  beforeAll(async () => {
    cert = await makeCertificate();
    t = await startTestApp({
      milvusAddress: inject("liteAddress"),
      env: { SVGVEC_AUTH_TOKENS: TOKEN, SVGVEC_TLS_CERT: cert.certFile, SVGVEC_TLS_KEY: cert.keyFile },
    });
  });
  afterAll(() => t.close());

  it("calls over TLS trusting the CA file, with the bearer token", async () => {
    const client = track(createSvgVecClient(t.app.address, { tls: { caFile: cert.certFile }, token: TOKEN }));
    expect((await client.stats()).collectionName).toBe(t.config.milvus.collection);
    expect((await client.addImage({ id: 1n, url: corpus.openmoji("1F436") })).outcome).toBe(AddOutcome.ADDED);
    const https = track(createSvgVecClient(`https://localhost:${t.app.port}`, { tls: { caFile: cert.certFile }, token: TOKEN }));
    expect((await https.stats()).totalImages).toBe(1n);
  });

  it("is UNAUTHENTICATED without the token, or with another", async () => {
    const anonymous = track(createSvgVecClient(t.app.address, { tls: { caFile: cert.certFile } }));
    const err = await connectFailure(anonymous.stats());
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.rawMessage).toMatch(/authorization: Bearer/);
    const wrong = track(createSvgVecClient(t.app.address, { tls: { caFile: cert.certFile }, token: "not-the-token-of-this-server" }));
    expect((await connectFailure(wrong.stats())).code).toBe(Code.Unauthenticated);
    // Health is open to probes without credentials.
    expect(await anonymous.health()).toBe(ServingStatus.SERVING);
  });

  it("refuses the server's certificate without the CA, and cannot speak plaintext to it", async () => {
    const untrusting = track(createSvgVecClient(t.app.address, { tls: true, token: TOKEN, retry: { maxAttempts: 1 } }));
    expect((await connectFailure(untrusting.stats())).rawMessage).toMatch(/certificate/i);
    const plaintext = track(createSvgVecClient(t.app.address, { token: TOKEN, retry: { maxAttempts: 1 }, timeoutMs: 5_000 }));
    await connectFailure(plaintext.stats());
  });
});

describe("retries of UNAVAILABLE", () => {
  it("retries a unary call until the server comes up on its port", async () => {
    const port = await freePort();
    const tries = counter();
    const client = track(
      createSvgVecClient(`127.0.0.1:${port}`, { retry: { maxAttempts: 100, initialBackoffMs: 50, maxBackoffMs: 200 }, interceptors: [tries.interceptor] }),
    );
    const stats = client.stats();
    await waitFor(() => tries.tries() >= 2);
    const t = await startTestApp({ milvusAddress: inject("liteAddress"), env: { SVGVEC_LISTEN: `127.0.0.1:${port}` } });
    try {
      expect((await stats).collectionName).toBe(t.config.milvus.collection);
      expect(tries.tries()).toBeGreaterThanOrEqual(3);
    } finally {
      await t.close();
    }
  });

  it("stops after maxAttempts with UNAVAILABLE, and never retries a stream", async () => {
    const port = await freePort();
    const unary = counter();
    const client = track(createSvgVecClient(`127.0.0.1:${port}`, { retry: { maxAttempts: 3, initialBackoffMs: 10 }, interceptors: [unary.interceptor] }));
    expect((await connectFailure(client.stats())).code).toBe(Code.Unavailable);
    expect(unary.tries()).toBe(3);

    const streams = counter();
    const streaming = track(createSvgVecClient(`127.0.0.1:${port}`, { retry: { maxAttempts: 3, initialBackoffMs: 10 }, interceptors: [streams.interceptor] }));
    expect((await connectFailure(streaming.streamAddImages([{ id: 1n, url: corpus.openmoji("1F436") }]))).code).toBe(Code.Unavailable);
    const pages = streaming.listImages();
    expect((await connectFailure((async () => { for await (const _ of pages) void _; })())).code).toBe(Code.Unavailable);
    expect(streams.tries()).toBe(2);

    const once = counter();
    const noRetry = track(createSvgVecClient(`127.0.0.1:${port}`, { retry: { maxAttempts: 1 }, interceptors: [once.interceptor] }));
    await connectFailure(noRetry.stats());
    expect(once.tries()).toBe(1);
  });

  it("ends at the deadline with the UNAVAILABLE that kept it waiting, not a bare DEADLINE_EXCEEDED", async () => {
    const port = await freePort();
    const tries = counter();
    const client = track(
      createSvgVecClient(`127.0.0.1:${port}`, { timeoutMs: 400, retry: { maxAttempts: 100, initialBackoffMs: 100 }, interceptors: [tries.interceptor] }),
    );
    const failure = await connectFailure(client.stats());
    // The deadline passed while waiting to try again: the reason is that nothing listens on the port.
    expect(failure.code).toBe(Code.Unavailable);
    expect(failure.rawMessage).toMatch(/ECONNREFUSED/);
    expect(tries.tries()).toBeGreaterThanOrEqual(2);
  });
});
