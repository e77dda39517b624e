/**
 * svgvec.v1 on the HTTP port: every RPC over Connect JSON with a plain HTTP client (fetch and curl),
 * gRPC-Web with Connect's own client, and the same answers, codes and messages as the gRPC port.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { SvgVecService } from "../../src/gen/svgvec/v1/svgvec_pb.js";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { code, details, failure } from "../helpers/calls.js";
import { type Corpus, startCorpus } from "../helpers/corpus.js";
import { type TestCertificate, makeCertificate } from "../helpers/tls.js";

const PREFIX = "/svgvec.v1.SvgVecService/";

/** One message of a Connect streaming body: a flags byte, a 4-byte big-endian length, the JSON. */
function envelope(message: unknown, flags = 0): Buffer {
  const json = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(json.length, 1);
  return Buffer.concat([head, json]);
}

interface Enveloped {
  flags: number;
  body: Record<string, unknown>;
}

function unenvelope(buf: Buffer): Enveloped[] {
  const out: Enveloped[] = [];
  for (let at = 0; at < buf.length; ) {
    const flags = buf.readUInt8(at);
    const length = buf.readUInt32BE(at + 1);
    out.push({ flags, body: JSON.parse(buf.subarray(at + 5, at + 5 + length).toString("utf8")) as Record<string, unknown> });
    at += 5 + length;
  }
  return out;
}

describe("svgvec.v1 over HTTP", () => {
  let corpus: Corpus;
  let t: TestApp;
  let base: string;
  const call = async (method: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${PREFIX}${method}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    corpus = await startCorpus();
    t = await startTestApp({ milvusAddress: inject("liteAddress"), env: { SVGVEC_HTTP_LISTEN: "127.0.0.1:0" } });
    base = `http://${t.app.httpAddress}`;
  });
  afterAll(async () => {
    await t?.close();
    await corpus?.close();
  });

  it("serves every unary RPC as Connect JSON: AddImage, Search, Stats, Remove", async () => {
    const dog = await call("AddImage", { id: "101", url: corpus.openmoji("1F436") });
    expect(dog.status).toBe(200);
    expect(dog.body).toMatchObject({ outcome: "ADD_OUTCOME_ADDED", image: { id: "101", url: corpus.openmoji("1F436") } });
    const again = await call("AddImage", { id: 101, url: corpus.openmoji("1F436") });
    expect(again.body.outcome).toBe("ADD_OUTCOME_UNCHANGED");
    await call("AddImage", { id: "102", url: corpus.openmoji("1F431") });

    const stats = await call("Stats", {});
    expect(stats.body).toMatchObject({ totalImages: "2", metricType: "IP", model: { dimension: 512 }, index: { type: "IVF_FLAT" } });

    const search = await call("Search", { text: "dog", k: 5 });
    expect(search.status).toBe(200);
    const hits = search.body.hits as { id: string; url: string; similarity: number }[];
    expect(hits.map((h) => h.id).sort()).toEqual(["101", "102"]);
    expect(hits[0]!.similarity).toBeGreaterThanOrEqual(hits[1]!.similarity);
    // The same search over gRPC finds the same records, in the same order, with the same scores.
    const viaGrpc = await t.client.search({ text: "dog", k: 5 });
    expect(viaGrpc.hits.map((h) => [String(h.id), h.url, h.similarity])).toEqual(hits.map((h) => [h.id, h.url, h.similarity]));

    // Search by a stored record, and by an SVG's URL, over the same endpoint.
    const like = await call("Search", { likeId: "101", includeSelf: true, k: 2 });
    expect((like.body.hits as { id: string; similarity: number }[])[0]).toMatchObject({ id: "101", similarity: expect.closeTo(1, 3) });
    const byUrl = await call("Search", { likeUrl: corpus.openmoji("1F436"), k: 1 });
    expect((byUrl.body.hits as { id: string }[]).map((h) => h.id)).toEqual(["101"]);
    const missing = await call("Search", { likeId: "999999" });
    expect([missing.status, missing.body.code]).toEqual([404, "not_found"]);

    expect((await call("Remove", { id: "102" })).body).toEqual({ removed: true });
    expect((await call("Remove", { id: "102" })).body).toEqual({ removed: false });
    expect((await call("Stats", {})).body.totalImages).toBe("1");
  });

  it("answers the README's curl line", async () => {
    const { stdout } = await promisify(execFile)("curl", [
      "-sS", "-H", "content-type: application/json", "-d", '{"text":"dog","k":5}', `${base}${PREFIX}Search`,
    ]);
    const body = JSON.parse(stdout) as { hits: { id: string }[] };
    expect(body.hits.map((h) => h.id)).toContain("101");
  });

  it("streams ListImages as enveloped JSON messages, one per page, then the end of the stream", async () => {
    for (let i = 0; i < 5; i++) await call("AddImage", { id: String(200 + i), url: corpus.openmoji("1F436") });
    const res = await fetch(`${base}${PREFIX}ListImages`, {
      method: "POST",
      headers: { "content-type": "application/connect+json" },
      body: new Uint8Array(envelope({ pageSize: 2, includeVectors: true })),
    });
    expect(res.status).toBe(200);
    const messages = unenvelope(Buffer.from(await res.arrayBuffer()));
    const end = messages.pop()!;
    expect(end).toEqual({ flags: 2, body: {} });
    const pages = messages.map((m) => m.body.images as { id: string; vector: number[] }[]);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 2]);
    expect(pages.flat().map((r) => r.id).sort()).toEqual(["101", "200", "201", "202", "203", "204"]);
    expect(pages.flat().every((r) => r.vector.length === 512)).toBe(true);
  });

  it("takes a StreamAddImages client stream as enveloped JSON messages and answers one summary", async () => {
    const items = [
      { id: "301", url: corpus.openmoji("1F431") },
      { id: "302", url: "ftp://example.com/x.svg" },
      { id: "303", url: corpus.openmoji("2764") },
    ];
    const res = await fetch(`${base}${PREFIX}StreamAddImages`, {
      method: "POST",
      headers: { "content-type": "application/connect+json" },
      body: new Uint8Array(Buffer.concat(items.map((item) => envelope(item)))),
    });
    const [summary, end] = unenvelope(Buffer.from(await res.arrayBuffer()));
    expect(end).toEqual({ flags: 2, body: {} });
    expect(summary!.body).toMatchObject({ received: "3", added: "2", failed: "1" });
    expect(summary!.body.failures).toEqual([
      { id: "302", url: "ftp://example.com/x.svg", code: "INVALID_ARGUMENT", reason: expect.stringMatching(/scheme ftp: is not supported/), index: "1" },
    ]);
  });

  it("answers bad input with gRPC's code and message, as Connect JSON with the matching HTTP status", async () => {
    const cases: [string, Record<string, unknown>, number, string][] = [
      ["AddImage", { id: "1", url: "not a url" }, 400, "invalid_argument"],
      ["AddImage", { id: "1", url: `${corpus.base}/missing.svg` }, 400, "failed_precondition"],
      ["Search", { text: "" }, 400, "invalid_argument"],
      ["Search", { text: "dog", k: 0 }, 400, "invalid_argument"],
    ];
    for (const [method, body, status, name] of cases) {
      const http = await call(method, body);
      expect([method, http.status, http.body.code]).toEqual([method, status, name]);
      const grpcCall = method === "AddImage" ? t.client.addImage({ id: 1n, url: body.url as string }) : t.client.search(body);
      const err = await failure(grpcCall);
      expect(name.toUpperCase()).toBe(grpc.status[code(err)]);
      expect(http.body.message).toBe(details(err));
    }
  });

  it("refuses what it cannot decode, naming the problem: bad JSON, a misspelt field, a wrong type, an unknown method", async () => {
    const bad = await call("Search", '{"text":');
    expect([bad.status, bad.body.code]).toEqual([400, "invalid_argument"]);
    expect(bad.body.message).toMatch(/cannot decode message svgvec\.v1\.SearchRequest from JSON/);
    const typo = await call("Search", { txt: "dog" });
    expect([typo.status, typo.body.message]).toEqual([400, expect.stringMatching(/key "txt" is unknown/)]);
    const type = await call("Search", { text: "dog", k: "many" });
    expect(type.status).toBe(400);
    const res = await fetch(`${base}${PREFIX}Frobnicate`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect([res.status, ((await res.json()) as { error: { message: string } }).error.message]).toEqual([
      404,
      "svgvec.v1.SvgVecService has no method Frobnicate; it has AddImage, StreamAddImages, ListImages, Search, Stats, Remove",
    ]);
  });

  it("says what to send instead of an empty answer: the HTTP method, and the content type for unary and streaming calls", async () => {
    const get = await fetch(`${base}${PREFIX}Search`);
    expect([get.status, get.headers.get("allow")]).toEqual([405, "POST"]);
    expect(((await get.json()) as { error: { message: string } }).error.message).toBe("svgvec.v1 methods are called with POST, not GET");
    const untyped = await fetch(`${base}${PREFIX}Search`, { method: "POST", body: '{"text":"dog"}' });
    expect(untyped.status).toBe(415);
    expect(((await untyped.json()) as { error: { message: string } }).error.message).toMatch(/^Search over HTTP takes content-type: application\/json .*the request had (no content-type|content-type text\/plain)/);
    const unenveloped = await fetch(`${base}${PREFIX}ListImages`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(unenveloped.status).toBe(415);
    expect(((await unenveloped.json()) as { error: { message: string } }).error.message).toMatch(/application\/connect\+json .*enveloped, since ListImages streams/);
    // With a charset parameter, JSON is still JSON.
    const charset = await call("Stats", {}, { "content-type": "application/json; charset=utf-8" });
    expect(charset.status).toBe(200);
  });

  it("serves gRPC-Web, streaming ListImages to a gRPC-Web client", async () => {
    const client = createClient(SvgVecService, createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" }));
    const search = await client.search({ text: "dog", k: 3 });
    expect(search.hits.length).toBe(3);
    let records = 0;
    let pages = 0;
    for await (const page of client.listImages({ pageSize: 3 })) {
      pages++;
      records += page.images.length;
    }
    expect([pages, records]).toEqual([Math.ceil(records / 3), Number((await t.client.stats()).totalImages)]);
    await expect(client.search({ text: "" })).rejects.toThrow(/text: is empty/);
  });
});

describe("the HTTP port with tokens and TLS", () => {
  const TOKEN = "http-test-token-0123456789";
  let t: TestApp;
  let cert: TestCertificate;

  beforeAll(async () => {
    cert = await makeCertificate();
    t = await startTestApp({
      milvusAddress: inject("liteAddress"),
      env: { SVGVEC_HTTP_LISTEN: "127.0.0.1:0", SVGVEC_AUTH_TOKENS: TOKEN, SVGVEC_TLS_CERT: cert.certFile, SVGVEC_TLS_KEY: cert.keyFile },
      client: { token: TOKEN, credentials: grpc.credentials.createSsl(readFileSync(cert.certFile)) },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (path: string, body: string, headers: Record<string, string>) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Record<string, unknown> }>((resolve, reject) => {
      const req = httpsRequest(
        `https://localhost:${t.app.httpAddress.split(":").pop()}${path}`,
        { method: "POST", ca: readFileSync(cert.certFile), headers: { "content-type": "application/json", ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });

  it("serves HTTPS with the gRPC port's certificate, and needs the same bearer token", async () => {
    const denied = await post(`${PREFIX}Stats`, "{}", {});
    expect([denied.status, denied.body.code]).toEqual([401, "unauthenticated"]);
    expect(denied.body.message).toMatch(/requires a token: send header authorization: Bearer <token>/);
    expect(denied.headers["www-authenticate"]).toBe('Bearer realm="svgvec"');
    const wrong = await post(`${PREFIX}Stats`, "{}", { authorization: "Bearer not-the-token-at-all" });
    expect([wrong.status, wrong.body.message]).toEqual([401, "the bearer token is not valid for this server"]);
    const ok = await post(`${PREFIX}Stats`, "{}", { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.body.collectionName).toBe(t.config.milvus.collection);
  });

  it("refuses plaintext HTTP on the TLS port", async () => {
    await expect(fetch(`http://${t.app.httpAddress}${PREFIX}Stats`, { method: "POST", body: "{}" })).rejects.toThrow();
  });
});
