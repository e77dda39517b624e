/**
 * Who may call, over what, and how much at once: bearer tokens, TLS,
 * deadlines and cancellation, and the limits that answer RESOURCE_EXHAUSTED.
 */
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { SvgVecClient } from "../helpers/grpc-client.js";
import { createLogger } from "../../src/log.js";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { code, details, failure } from "../helpers/calls.js";
import { type Corpus, startCorpus } from "../helpers/corpus.js";
import { waitFor } from "../helpers/wait.js";
import { grpcurl } from "../helpers/grpcurl.js";
import { type TestCertificate, makeCertificate } from "../helpers/tls.js";

const TOKEN = "test-token-0123456789abcdef";

let corpus: Corpus;
beforeAll(async () => {
  corpus = await startCorpus();
});
afterAll(() => corpus.close());

describe("with SVGVEC_AUTH_TOKENS and TLS", () => {
  let cert: TestCertificate;
  let t: TestApp;
  let tls: grpc.ChannelCredentials;
  const clients: SvgVecClient[] = [];
  const client = (token?: string, credentials = tls) => {
    const c = new SvgVecClient(t.app.address.replace("127.0.0.1", "localhost"), { credentials, ...(token ? { token } : {}) });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cert = await makeCertificate();
    tls = grpc.credentials.createSsl(readFileSync(cert.certFile));
    t = await startTestApp({
      milvusAddress: inject("liteAddress"),
      env: { SVGVEC_AUTH_TOKENS: `other-token-aaaaaaaaaaaa,${TOKEN}`, SVGVEC_TLS_CERT: cert.certFile, SVGVEC_TLS_KEY: cert.keyFile },
      client: { credentials: grpc.credentials.createSsl(readFileSync(cert.certFile)), token: TOKEN },
    });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await t.close();
  });

  it("accepts a call over TLS with a valid token", async () => {
    expect((await t.client.stats()).collectionName).toBe(t.config.milvus.collection);
    expect((await client("other-token-aaaaaaaaaaaa").stats()).collectionName).toBe(t.config.milvus.collection);
    expect(code(await failure(client("not-a-token-of-this-server").stats()))).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("refuses every RPC without a token, with UNAUTHENTICATED and how to send one, writing nothing", async () => {
    const anonymous = client();
    const before = Number((await t.client.stats()).totalImages);
    const calls: Array<Promise<unknown>> = [
      anonymous.stats(),
      anonymous.search({ text: "dog" }),
      anonymous.remove({ id: 1n }),
      anonymous.addImage({ id: 42n, url: corpus.openmoji("1F436") }),
      anonymous.streamAddImages([{ id: 43n, url: corpus.openmoji("1F436") }]),
      (async () => {
        for await (const _ of anonymous.listImages({})) void _;
      })(),
    ];
    for (const call of calls) {
      const err = await failure(call);
      expect(code(err)).toBe(grpc.status.UNAUTHENTICATED);
      expect(details(err)).toMatch(/requires a token: send metadata authorization: Bearer <token>/);
    }
    expect(Number((await t.client.stats()).totalImages)).toBe(before);
  });

  it("refuses a wrong token and a malformed header", async () => {
    expect(details(await failure(client("wrong-token-0123456789").stats()))).toMatch(/not valid for this server/);
    const md = new grpc.Metadata();
    md.set("authorization", TOKEN);
    expect(details(await failure(client().stats({ metadata: md })))).toMatch(/must be "Bearer <token>"/);
  });

  it("answers health checks without a token", async () => {
    const Health = grpc.makeClientConstructor(healthService, "grpc.health.v1.Health");
    const health = new Health(t.app.address.replace("127.0.0.1", "localhost"), tls);
    const res = await new Promise<{ status: string | number }>((resolve, reject) =>
      (health as unknown as { check(req: object, cb: (e: Error | null, r: { status: string | number }) => void): void }).check({ service: "" }, (e, r) =>
        e ? reject(e) : resolve(r),
      ),
    );
    health.close();
    expect(res.status).toBe("SERVING");
  });

  it("refuses a plaintext client", async () => {
    const err = await failure(client(TOKEN, grpc.credentials.createInsecure()).stats({ deadline: new Date(Date.now() + 3_000) }));
    expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(code(err));
  });

  it("works from grpcurl with the CA and the token, and refuses reflection without the token", async () => {
    const address = t.app.address.replace("127.0.0.1", "localhost");
    const ok = await grpcurl(["-cacert", cert.certFile, "-H", `authorization: Bearer ${TOKEN}`, address, "svgvec.v1.SvgVecService/Stats"]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toHaveProperty("collectionName");
    const denied = await grpcurl(["-cacert", cert.certFile, address, "list"]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/Unauthenticated|requires a token/);
  });
});

describe("limits, deadlines and cancellation", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      milvusAddress: inject("liteAddress"),
      env: { SVGVEC_MAX_STREAMS: "1", SVGVEC_MAX_INFLIGHT_ADDS: "2", SVGVEC_FETCH_TIMEOUT_MS: "20000" },
    });
  });
  afterAll(() => t.close());

  it("answers RESOURCE_EXHAUSTED past SVGVEC_MAX_INFLIGHT_ADDS, and serves again once calls finish", async () => {
    const deadline = new Date(Date.now() + 1_500);
    // Two adds hang on a server that never finishes its body; a third is refused at once.
    const hanging = [1n, 2n].map((id) => t.client.addImage({ id, url: `${corpus.base}/slow` }, { deadline }).catch((e: unknown) => e));
    await waitFor(() => corpus.openSlow() >= 2);
    const err = await failure(t.client.addImage({ id: 3n, url: corpus.openmoji("1F436") }));
    expect(code(err)).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(details(err)).toMatch(/2 AddImage calls are already in progress \(SVGVEC_MAX_INFLIGHT_ADDS\)/);
    await Promise.all(hanging);
    expect((await t.client.addImage({ id: 3n, url: corpus.openmoji("1F436") })).image?.id).toBe(3n);
  });

  it("answers RESOURCE_EXHAUSTED for a second stream past SVGVEC_MAX_STREAMS", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    async function* slowItems() {
      yield { id: 10n, url: corpus.openmoji("1F436") };
      await held;
    }
    const first = t.client.streamAddImages(slowItems());
    // The first stream holds its slot once its item is stored; the stream itself stays open.
    await waitFor(async () => (await t.app.store.get(10n)) !== undefined);
    const err = await failure(t.client.streamAddImages([{ id: 11n, url: corpus.openmoji("1F431") }]));
    expect(code(err)).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(details(err)).toMatch(/1 StreamAddImages calls are already open \(SVGVEC_MAX_STREAMS\)/);
    release();
    expect(Number((await first).added + (await first).replaced)).toBe(1);
    expect(Number((await t.client.streamAddImages([{ id: 11n, url: corpus.openmoji("1F431") }])).received)).toBe(1);
  });

  it("honours a deadline: DEADLINE_EXCEEDED for the caller, the download stopped, nothing written", async () => {
    const before = Number((await t.client.stats()).totalImages);
    const started = Date.now();
    const err = await failure(t.client.addImage({ id: 20n, url: `${corpus.base}/slow` }, { deadline: new Date(Date.now() + 400) }));
    expect(code(err)).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(5_000);
    // The server dropped its download well before SVGVEC_FETCH_TIMEOUT_MS (20 s).
    await waitFor(() => corpus.openSlow() === 0, 3_000);
    expect(Number((await t.client.stats()).totalImages)).toBe(before);
  });

  it("stops a cancelled stream's downloads", async () => {
    const slowUrls = Array.from({ length: 5 }, (_, i) => ({ id: BigInt(30 + i), url: `${corpus.base}/slow` }));
    async function* items() {
      yield* slowUrls;
      await new Promise(() => undefined);
    }
    const call = t.client.streamAddImages(items(), { deadline: new Date(Date.now() + 600) });
    await waitFor(() => corpus.openSlow() >= 5);
    expect(code(await failure(call))).toBe(grpc.status.DEADLINE_EXCEEDED);
    await waitFor(() => corpus.openSlow() === 0, 3_000);
  });
});

describe("listening beyond loopback", () => {
  const started = async (env: Record<string, string>) => {
    const lines: string[] = [];
    const t = await startTestApp({ milvusAddress: inject("liteAddress"), env: { SVGVEC_LISTEN: "0.0.0.0:0", ...env }, log: createLogger("warn", (l) => lines.push(l)) });
    await t.close();
    return lines.join("");
  };

  it("warns that tokens travel in plaintext without TLS", async () => {
    expect(await started({ SVGVEC_AUTH_TOKENS: TOKEN })).toMatch(/"level":"warn","msg":"bearer tokens travel in plaintext.*SVGVEC_TLS_CERT/);
  });

  it("warns about an HTTP port beyond loopback the same way", async () => {
    const httpOnly = { SVGVEC_LISTEN: "127.0.0.1:0", SVGVEC_HTTP_LISTEN: "0.0.0.0:0" };
    expect(await started({ ...httpOnly, SVGVEC_AUTH_TOKENS: TOKEN })).toMatch(/"level":"warn","msg":"bearer tokens travel in plaintext[^"]*","listen":"0\.0\.0\.0:0"/);
    expect(await started({ ...httpOnly, SVGVEC_ALLOW_UNAUTHENTICATED: "true" })).toMatch(/"msg":"serving without authentication beyond loopback.*"listen":"0\.0\.0\.0:0"/);
  });

  it("warns when told to serve without authentication, and says nothing with tokens and TLS", async () => {
    expect(await started({ SVGVEC_ALLOW_UNAUTHENTICATED: "true" })).toMatch(/"level":"warn","msg":"serving without authentication beyond loopback/);
    const cert = await makeCertificate();
    expect(await started({ SVGVEC_AUTH_TOKENS: TOKEN, SVGVEC_TLS_CERT: cert.certFile, SVGVEC_TLS_KEY: cert.keyFile })).not.toMatch(/"level":"warn"/);
  });
});
