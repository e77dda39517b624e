/**
 * GET /metrics on the HTTP port: real calls over gRPC, Connect and gRPC-Web move the right series
 * by the right amounts, the scrape needs the token when tokens are set, and what callers send never
 * becomes a label value.
 */
import { randomBytes } from "node:crypto";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { AddOutcome, SvgVecService } from "../../src/gen/svgvec/v1/svgvec_pb.js";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { code, failure } from "../helpers/calls.js";
import { SvgVecClient } from "../helpers/grpc-client.js";
import { type Corpus, openmojiCatalogue, startCorpus } from "../helpers/corpus.js";
import { type Sample, parseMetrics, scrape, total } from "../helpers/prometheus.js";

const TOKEN = "metrics-token-0123456789abcdef";

let corpus: Corpus;
beforeAll(async () => {
  corpus = await startCorpus();
});
afterAll(() => corpus.close());

function connectClient(t: TestApp, protocol: "connect" | "grpc-web", token?: string): Client<typeof SvgVecService> {
  const interceptors: Interceptor[] =
    token === undefined
      ? []
      : [
          (next) => (req) => {
            req.header.set("authorization", `Bearer ${token}`);
            return next(req);
          },
        ];
  const options = { baseUrl: `http://${t.app.httpAddress}`, httpVersion: "1.1" as const, interceptors };
  return createClient(SvgVecService, protocol === "connect" ? createConnectTransport(options) : createGrpcWebTransport(options));
}

/** What moved between two scrapes, for the samples called name whose labels include match. */
const moved = (before: Sample[], after: Sample[], name: string, match: Record<string, string> = {}) =>
  total(after, name, match) - total(before, name, match);

describe("metrics of an app without tokens", () => {
  let t: TestApp;
  // Distinct SVGs, so each is embedded once and the encoder's batches can be counted.
  const hexcodes = openmojiCatalogue()
    .slice(0, 8)
    .map((e) => e.hexcode);
  const svg = (i: number) => corpus.openmoji(hexcodes[i]!);

  beforeAll(async () => {
    t = await startTestApp({
      milvusAddress: inject("liteAddress"),
      env: {
        SVGVEC_HTTP_LISTEN: "127.0.0.1:0",
        // The corpus is allowed, any other non-public address refused.
        SVGVEC_FETCH_ALLOW_PRIVATE: "false",
        SVGVEC_FETCH_ALLOW_CIDRS: "127.0.0.1/32",
        // Short enough that the slow SVG is abandoned soon; OpenMoji renders in milliseconds.
        SVGVEC_RENDER_TIMEOUT_MS: "2000",
      },
    });
  });
  afterAll(() => t.close());

  it("serves the Prometheus text format at GET /metrics, with the event loop's delay", async () => {
    const res = await fetch(`http://${t.app.httpAddress}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain("# TYPE svgvec_requests_total counter");
    expect(text).toContain("# HELP svgvec_fetch_failures_total Downloads of SVGs that failed");
    const samples = parseMetrics(text);
    expect(samples.some((s) => s.name === "nodejs_eventloop_lag_seconds")).toBe(true);
    expect(samples.some((s) => s.name === "nodejs_eventloop_lag_p99_seconds")).toBe(true);
    expect((await fetch(`http://${t.app.httpAddress}/metrics`, { method: "POST" })).status).toBe(405);
  });

  it("counts requests, imports, fetch and render failures, the text cache, Milvus calls and encoder batches", async () => {
    const connect = connectClient(t, "connect");
    const grpcWeb = connectClient(t, "grpc-web");
    const before = await scrape(t.app.httpAddress);

    // AddImage over gRPC: three added, one unchanged (same id, url and content), one replaced.
    for (let i = 0; i < 3; i++) expect((await t.client.addImage({ id: BigInt(i + 1), url: svg(i) })).outcome).toBe(AddOutcome.ADDED);
    expect((await t.client.addImage({ id: 1n, url: svg(0) })).outcome).toBe(AddOutcome.UNCHANGED);
    expect((await t.client.addImage({ id: 2n, url: svg(3) })).outcome).toBe(AddOutcome.REPLACED);
    // Over Connect, and over gRPC-Web.
    await connect.addImage({ id: 10n, url: svg(4) });
    await grpcWeb.addImage({ id: 11n, url: svg(5) });
    // A refused address, a 404, a body that is no SVG, one that renders too long, and a bad request.
    expect(code(await failure(t.client.addImage({ id: 20n, url: "http://10.255.255.1/icon.svg" })))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(code(await failure(t.client.addImage({ id: 21n, url: `${corpus.base}/status/404` })))).toBe(grpc.status.FAILED_PRECONDITION);
    expect(code(await failure(t.client.addImage({ id: 22n, url: corpus.hostile("png-renamed.svg") })))).toBe(grpc.status.FAILED_PRECONDITION);
    expect(code(await failure(t.client.addImage({ id: 23n, url: `${corpus.base}/slow-render/metrics` })))).toBe(grpc.status.FAILED_PRECONDITION);
    expect(code(await failure(t.client.addImage({ id: 24n, url: "" })))).toBe(grpc.status.INVALID_ARGUMENT);
    const connectRefusal = await connect.addImage({ id: 25n, url: "not a url" }).catch((e: unknown) => e);
    expect(ConnectError.from(connectRefusal).code).toBe(Code.InvalidArgument);
    // The same query twice: the second is the text cache's.
    await t.client.search({ text: "a smiling face", k: 3 });
    await t.client.search({ text: "a smiling face", k: 3 });
    // A stream: two added, one invalid, one 404.
    const summary = await t.client.streamAddImages([
      { id: 30n, url: svg(6) },
      { id: 31n, url: svg(7) },
      { id: 32n, url: "" },
      { id: 33n, url: `${corpus.base}/status/404` },
    ]);
    expect([summary.added, summary.failed]).toEqual([2n, 2n]);
    // A listing streamed over Connect.
    let listed = 0;
    for await (const page of connect.listImages({ pageSize: 2 })) listed += page.images.length;
    expect(listed).toBe(7);

    const after = await scrape(t.app.httpAddress);
    const d = (name: string, match: Record<string, string> = {}) => moved(before, after, name, match);
    const requests = (edge: string, method: string, c: string) => d("svgvec_requests_total", { edge, method, code: c });
    expect(requests("grpc", "AddImage", "OK")).toBe(5);
    expect(requests("grpc", "AddImage", "INVALID_ARGUMENT")).toBe(2);
    expect(requests("grpc", "AddImage", "FAILED_PRECONDITION")).toBe(3);
    expect(requests("connect", "AddImage", "OK")).toBe(1);
    expect(requests("connect", "AddImage", "INVALID_ARGUMENT")).toBe(1);
    expect(requests("grpc-web", "AddImage", "OK")).toBe(1);
    expect(requests("grpc", "Search", "OK")).toBe(2);
    expect(requests("grpc", "StreamAddImages", "OK")).toBe(1);
    expect(requests("connect", "ListImages", "OK")).toBe(1);
    expect(d("svgvec_requests_total")).toBe(17);
    // Every request is timed once, under the same labels.
    expect(d("svgvec_request_duration_seconds_count", { edge: "grpc", method: "AddImage", code: "FAILED_PRECONDITION" })).toBe(3);
    expect(d("svgvec_request_duration_seconds_count")).toBe(17);
    expect(d("svgvec_request_duration_seconds_sum")).toBeGreaterThan(0);

    const imported = (call: string, outcome: string) => d("svgvec_items_imported_total", { call, outcome });
    // The bad request never reached the service; the other four failures did.
    expect([imported("AddImage", "added"), imported("AddImage", "unchanged"), imported("AddImage", "replaced")]).toEqual([5, 1, 1]);
    expect(imported("AddImage", "failed")).toBe(4);
    expect([imported("StreamAddImages", "added"), imported("StreamAddImages", "failed")]).toEqual([2, 2]);

    expect(d("svgvec_fetch_failures_total", { reason: "refused_address" })).toBe(1);
    expect(d("svgvec_fetch_failures_total", { reason: "http_status" })).toBe(2);
    expect(d("svgvec_fetch_failures_total")).toBe(3);
    expect(d("svgvec_render_failures_total", { reason: "not_svg" })).toBe(1);
    expect(d("svgvec_render_failures_total", { reason: "timeout" })).toBe(1);
    expect(d("svgvec_render_failures_total")).toBe(2);

    expect(d("svgvec_text_cache_misses_total")).toBe(1);
    expect(d("svgvec_text_cache_hits_total")).toBe(1);

    expect(d("svgvec_milvus_call_duration_seconds_count", { operation: "search" })).toBe(2);
    expect(d("svgvec_milvus_call_duration_seconds_count", { operation: "upsert" })).toBeGreaterThanOrEqual(1);
    expect(d("svgvec_milvus_call_duration_seconds_count", { operation: "query" })).toBeGreaterThanOrEqual(1);

    // Eight distinct SVGs embedded, in one or more runs; one query text.
    expect(d("svgvec_encoder_batch_size_sum", { encoder: "image" })).toBe(8);
    expect(d("svgvec_encoder_batch_size_count", { encoder: "image" })).toBeGreaterThanOrEqual(1);
    expect(d("svgvec_encoder_batch_size_sum", { encoder: "text" })).toBe(1);
    expect(d("svgvec_encoder_batch_size_count", { encoder: "text" })).toBe(1);
    // Nothing waits for an encoder once every call has been answered.
    for (const encoder of ["image", "text"]) {
      expect(after.some((s) => s.name === "svgvec_encoder_queue_depth" && s.labels.encoder === encoder)).toBe(true);
      expect(total(after, "svgvec_encoder_queue_depth", { encoder })).toBe(0);
    }
  });

  it("counts the REST routes' requests under the svgvec.v1 method each serves", async () => {
    const base = `http://${t.app.httpAddress}/api/milvus`;
    const before = await scrape(t.app.httpAddress);
    const search = await fetch(`${base}/search`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"text":"dog","k":2}' });
    expect(search.status).toBe(200);
    const bad = await fetch(`${base}/add`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"id":1,"url":"ftp://x/y.svg"}' });
    expect(bad.status).toBe(400);
    expect((await fetch(`${base}/stats`)).status).toBe(200);
    const after = await scrape(t.app.httpAddress);
    const requests = (method: string, c: string) =>
      total(after, "svgvec_requests_total", { edge: "rest", method, code: c }) - total(before, "svgvec_requests_total", { edge: "rest", method, code: c });
    expect([requests("Search", "OK"), requests("AddImage", "INVALID_ARGUMENT"), requests("Stats", "OK")]).toEqual([1, 1, 1]);
  });

  it("keeps the number of series bounded however many garbage URLs and ids callers send", async () => {
    const connect = connectClient(t, "connect");
    const sent: string[] = [];
    const garbage = () => {
      const g = randomBytes(6).toString("hex");
      sent.push(g);
      return g;
    };
    const randomId = () => BigInt.asIntN(64, BigInt(`0x${randomBytes(8).toString("hex")}`));
    const settle = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        () => undefined,
      );
    // Each round sends ten requests, one of every kind, with values never sent before.
    const round = async () => {
      await settle(t.client.addImage({ id: randomId(), url: `${garbage()}:/${garbage()}` }));
      await settle(t.client.addImage({ id: randomId(), url: `${corpus.base}/${garbage()}/${garbage()}.svg` }));
      await settle(t.client.addImage({ id: randomId(), url: `http://10.${randomBytes(3).join(".")}/${garbage()}.svg` }));
      await settle(t.client.addImage({ id: randomId(), url: `http://127.0.0.1:1/${garbage()}.svg?${garbage()}` }));
      await settle(connect.addImage({ id: randomId(), url: `https://${garbage()}@127.0.0.1/${garbage()}` }));
      await settle(connect.search({ text: garbage(), k: 1 }));
      await settle(t.client.remove({ id: randomId() }));
      await settle(
        fetch(`http://${t.app.httpAddress}/svgvec.v1.SvgVecService/${garbage()}`, {
          method: "POST",
          body: "{}",
          headers: { "content-type": "application/json" },
        }),
      );
      await settle(fetch(`http://${t.app.httpAddress}/${garbage()}?${garbage()}=${garbage()}`));
      await settle(
        new Promise((resolve) =>
          t.client.raw.makeUnaryRequest(
            `/svgvec.v1.SvgVecService/${garbage()}`,
            (b: Buffer) => b,
            (b: Buffer) => b,
            Buffer.alloc(0),
            resolve,
          ),
        ),
      );
    };
    const series = (samples: Sample[]) => samples.filter((s) => s.name.startsWith("svgvec_")).length;

    // Two rounds meet every kind of answer once; the next eighteen (180 requests) may add none.
    await round();
    await round();
    const early = await scrape(t.app.httpAddress);
    for (let i = 0; i < 18; i++) await round();
    const late = await scrape(t.app.httpAddress);
    // Seven of the ten reach svgvec.v1's implementation; unknown paths and methods are no svgvec.v1 request.
    expect(moved(early, late, "svgvec_requests_total")).toBe(18 * 7);
    expect(series(late)).toBe(series(early));
    const values = new Set(late.flatMap((s) => Object.values(s.labels)));
    expect(sent.filter((g) => [...values].some((v) => v.includes(g)))).toEqual([]);
    expect([...new Set(late.filter((s) => s.name === "svgvec_requests_total").map((s) => s.labels.method))].sort()).toEqual(
      expect.arrayContaining(["AddImage", "Remove", "Search"]),
    );
  });
});

describe("metrics of an app with tokens", () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      milvusAddress: inject("liteAddress"),
      env: { SVGVEC_HTTP_LISTEN: "127.0.0.1:0", SVGVEC_AUTH_TOKENS: TOKEN },
      client: { token: TOKEN },
    });
  });
  afterAll(() => t.close());

  it("answers GET /metrics only with a valid bearer token", async () => {
    const url = `http://${t.app.httpAddress}/metrics`;
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe('Bearer realm="svgvec"');
    expect(((await anonymous.json()) as { error: { code: string; message: string } }).error).toEqual({
      code: "unauthenticated",
      message: "this server requires a token: send header authorization: Bearer <token>",
    });
    const wrong = await fetch(url, { headers: { authorization: "Bearer not-the-token-of-this-server" } });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain("svgvec_");
    const ok = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("svgvec_requests_total");
  });

  it("counts refusals for a missing token as UNAUTHENTICATED on every edge, under bounded method names", async () => {
    const before = await scrape(t.app.httpAddress, TOKEN);
    const anonymous = new SvgVecClient(t.app.address);
    try {
      expect(code(await failure(anonymous.stats()))).toBe(grpc.status.UNAUTHENTICATED);
      expect(code(await failure(anonymous.search({ text: "cat" })))).toBe(grpc.status.UNAUTHENTICATED);
      // A service beside svgvec.v1 (reflection) is refused all the same, and counted as "other".
      const reflection = await new Promise<grpc.ServiceError | null>((resolve) =>
        anonymous.raw.makeUnaryRequest(
          "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.alloc(0),
          resolve,
        ),
      );
      expect(reflection?.code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      anonymous.close();
    }
    for (const protocol of ["connect", "grpc-web"] as const) {
      const refused = await connectClient(t, protocol).stats({}).catch((e: unknown) => e);
      expect(ConnectError.from(refused).code).toBe(Code.Unauthenticated);
    }
    await t.client.stats();
    await connectClient(t, "connect", TOKEN).stats({});

    const after = await scrape(t.app.httpAddress, TOKEN);
    const requests = (edge: string, method: string, c: string) => moved(before, after, "svgvec_requests_total", { edge, method, code: c });
    expect(requests("grpc", "Stats", "UNAUTHENTICATED")).toBe(1);
    expect(requests("grpc", "Search", "UNAUTHENTICATED")).toBe(1);
    expect(requests("grpc", "other", "UNAUTHENTICATED")).toBe(1);
    expect(requests("connect", "Stats", "UNAUTHENTICATED")).toBe(1);
    expect(requests("grpc-web", "Stats", "UNAUTHENTICATED")).toBe(1);
    expect(requests("grpc", "Stats", "OK")).toBe(1);
    expect(requests("connect", "Stats", "OK")).toBe(1);
    expect(moved(before, after, "svgvec_requests_total")).toBe(7);
  });
});
