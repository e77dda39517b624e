/**
 * The seed's REST API on the HTTP port, through a plain HTTP client (fetch), against a real svgvec
 * with the tiny model, a real Milvus and real SVGs over loopback: the seed's demo flow, the answers'
 * shapes, the errors (the same codes and messages as gRPC), bearer tokens, health while an encoder
 * is down, listings released by clients that leave, and no descriptors left behind.
 */
import { cp, mkdtemp, rename, writeFile } from "node:fs/promises";
import { readFileSync, readdirSync } from "node:fs";
import * as http2 from "node:http2";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { MilvusDeployment } from "../../src/gen/svgvec/v1/svgvec_pb.js";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { code, details, failure } from "../helpers/calls.js";
import { type Corpus, startCorpus } from "../helpers/corpus.js";
import { TINY_MODEL_DIR } from "../helpers/models.js";
import { makeCertificate } from "../helpers/tls.js";
import { waitFor } from "../helpers/wait.js";

const TOKEN = "rest-token-0123456789abcdef";
const DOG = "1F436";
const CAT = "1F431";
const PIG = "1F437";
const COW = "1F42E";

interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
}

interface ErrorBody {
  error: { code: string; message: string };
}

interface StoredRecord {
  id: number | string;
  url: string;
  added_at: string;
  updated_at: string;
  vector?: number[];
}

interface AddBody extends StoredRecord {
  success: boolean;
  outcome: string;
}

interface DataBody {
  total: number;
  returned: number;
  data: StoredRecord[];
}

interface SearchBody {
  query: string;
  count: number;
  results: Array<{ id: number | string; url: string; similarity: number }>;
}

interface BatchBody {
  success_count: number;
  total: number;
  added: number;
  replaced: number;
  unchanged: number;
  failed: number;
  failures: Array<{ index: number; id: number | string | null; url: string; code: string; message: string }>;
}

interface StatsBody {
  total_images: number;
  collection_name: string;
  metric_type: string;
  model: { name: string; pretrained: string; dimension: number; path: string; visual_batch: number };
  index: { type: string; metric_type: string; params: { [key: string]: unknown } };
  milvus: { deployment: string; version: string; address: string };
}

interface CollectionBody {
  collection_name: string;
  num_entities: number;
  fields: Array<{ [key: string]: unknown }>;
  index: { field: string; index_type: string; metric_type: string; params: { [key: string]: unknown } };
  metric_type: string;
  milvus: { deployment: string; version: string; address: string };
}

interface RequestOptions {
  /** Sent as JSON with content-type application/json. */
  json?: unknown;
  /** Sent as is. */
  body?: string | Uint8Array<ArrayBuffer>;
  headers?: { [name: string]: string };
  token?: string;
  signal?: AbortSignal;
}

/** A client of one svgvec's REST routes. */
function restClient(httpAddress: string) {
  const base = `http://${httpAddress}`;
  return async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<Answer<T>> {
    const headers: { [name: string]: string } = { ...opts.headers };
    if (opts.json !== undefined) headers["content-type"] ??= "application/json";
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(opts.json !== undefined ? { body: JSON.stringify(opts.json) } : opts.body !== undefined ? { body: opts.body } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text === "" ? undefined : JSON.parse(text)) as T };
  };
}

/** How the REST answers name a deployment: "standalone", or "unknown" for a Milvus svgvec did not start and cannot tell. */
function deploymentName(d: MilvusDeployment): string {
  return d === MilvusDeployment.UNSPECIFIED ? "unknown" : MilvusDeployment[d].toLowerCase();
}

function openDescriptors(): number {
  return readdirSync("/proc/self/fd").length;
}

let corpus: Corpus;
beforeAll(async () => {
  corpus = await startCorpus();
});
afterAll(() => corpus.close());

describe("the seed's REST API", () => {
  let t: TestApp;
  let rest: ReturnType<typeof restClient>;
  beforeAll(async () => {
    t = await startTestApp({
      milvusAddress: inject("liteAddress"),
      // A long fetch timeout, so that only the client's leaving can end a download of /slow.
      env: { SVGVEC_HTTP_LISTEN: "127.0.0.1:0", SVGVEC_FETCH_TIMEOUT_MS: "120000" },
    });
    rest = restClient(t.app.httpAddress);
  });
  afterAll(() => t.close());

  it("runs the seed's demo: health, stats, collection info, add two, data, search 'dog', batch add, delete", async () => {
    const health = await rest<{ [key: string]: unknown }>("GET", "/api/milvus/health");
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ service: "milvus-vector-database-api", status: "healthy" });

    const stats = await rest<StatsBody>("GET", "/api/milvus/stats");
    expect(stats.status).toBe(200);
    const grpcStats = await t.client.stats();
    expect(stats.body).toEqual({
      total_images: 0,
      collection_name: t.config.milvus.collection,
      metric_type: "IP",
      model: {
        name: grpcStats.model!.name,
        pretrained: grpcStats.model!.pretrained,
        dimension: 512,
        path: grpcStats.model!.path,
        visual_batch: grpcStats.model!.visualBatch,
      },
      index: { type: grpcStats.index!.type, metric_type: "IP", params: expect.any(Object) as object },
      milvus: { deployment: deploymentName(grpcStats.milvus!.deployment), version: grpcStats.milvus!.version, address: t.app.milvusAddress },
    });

    const info = await rest<CollectionBody>("GET", "/api/milvus/collection/info");
    expect(info.status).toBe(200);
    expect(info.body.collection_name).toBe(t.config.milvus.collection);
    expect(info.body.num_entities).toBe(0);
    expect(info.body.fields).toEqual([
      { name: "id", type: "INT64", is_primary: true, auto_id: false },
      { name: "url", type: "VARCHAR", max_length: 2000 },
      { name: "vector", type: "FLOAT_VECTOR", dimension: 512 },
      { name: "added_at", type: "VARCHAR", max_length: 50 },
      { name: "updated_at", type: "VARCHAR", max_length: 50 },
    ]);
    expect(info.body.index).toMatchObject({ field: "vector", index_type: grpcStats.index!.type, metric_type: "IP" });
    expect(info.body.metric_type).toBe("IP");
    expect(info.body.milvus).toEqual(stats.body.milvus);

    for (const [id, hex] of [
      [101, DOG],
      [102, CAT],
    ] as const) {
      const added = await rest<AddBody>("POST", "/api/milvus/add", { json: { id, url: corpus.openmoji(hex) } });
      expect(added.status).toBe(200);
      expect(added.body).toEqual({
        success: true,
        outcome: "added",
        id,
        url: corpus.openmoji(hex),
        added_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string,
        updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string,
      });
    }
    const again = await rest<AddBody>("POST", "/api/milvus/add", { json: { id: 101, url: corpus.openmoji(DOG) } });
    expect(again.body.outcome).toBe("unchanged");
    const replaced = await rest<AddBody>("POST", "/api/milvus/add", { json: { id: "102", url: corpus.openmoji(CAT) + "?v=2" } });
    expect(replaced.body).toMatchObject({ success: true, outcome: "replaced", id: 102 });

    const data = await rest<DataBody>("GET", "/api/milvus/data?include_vectors=false&limit=10");
    expect(data.status).toBe(200);
    expect(data.headers.get("content-type")).toMatch(/^application\/json/);
    expect(data.body.total).toBe(2);
    expect(data.body.returned).toBe(2);
    expect(data.body.data.map((r) => [r.id, r.url])).toEqual([
      [101, corpus.openmoji(DOG)],
      [102, corpus.openmoji(CAT) + "?v=2"],
    ]);
    for (const r of data.body.data) {
      expect(Object.keys(r).sort()).toEqual(["added_at", "id", "updated_at", "url"]);
    }

    const search = await rest<SearchBody>("POST", "/api/milvus/search", { json: { text: "dog", k: 5 } });
    expect(search.status).toBe(200);
    expect(search.body.query).toBe("dog");
    expect(search.body.count).toBe(2);
    expect(search.body.results.map((h) => h.id).sort()).toEqual([101, 102]);
    const similarities = search.body.results.map((h) => h.similarity);
    expect(similarities).toEqual([...similarities].sort((a, b) => b - a));
    // The same implementation answers gRPC: same hits, same order, same scores.
    const viaGrpc = await t.client.search({ text: "dog", k: 5 });
    expect(search.body.results).toEqual(viaGrpc.hits.map((h) => ({ id: Number(h.id), url: h.url, similarity: h.similarity })));

    const batch = await rest<BatchBody>("POST", "/api/milvus/batch/add", {
      json: {
        images: [
          { id: 103, url: corpus.openmoji(PIG) },
          { id: "104", url: corpus.openmoji(COW) },
        ],
      },
    });
    expect(batch.status).toBe(200);
    expect(batch.body).toEqual({ success_count: 2, total: 2, added: 2, replaced: 0, unchanged: 0, failed: 0, failures: [] });

    const removed = await rest<{ id: number; removed: boolean }>("DELETE", "/api/milvus/delete", { json: { id: 103 } });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ id: 103, removed: true });
    expect((await rest<{ removed: boolean }>("DELETE", "/api/milvus/delete", { json: { id: 103 } })).body.removed).toBe(false);
    const byQuery = await rest<{ id: number; removed: boolean }>("DELETE", "/api/milvus/delete?id=104");
    expect(byQuery.body).toEqual({ id: 104, removed: true });
    const after = await rest<DataBody>("GET", "/api/milvus/data?limit=0");
    expect(after.body.data.map((r) => r.id)).toEqual([101, 102]);
    expect((await rest<StatsBody>("GET", "/api/milvus/stats")).body.total_images).toBe(2);
  });

  it("lists 10 records without a limit, all with limit=0, and vectors only with include_vectors=true", async () => {
    const images = Array.from({ length: 12 }, (_, i) => ({ id: 500 + i, url: `${corpus.openmoji(DOG)}?n=${i}` }));
    const batch = await rest<BatchBody>("POST", "/api/milvus/batch/add", { json: { images } });
    expect(batch.body.success_count).toBe(12);
    const total = (await rest<StatsBody>("GET", "/api/milvus/stats")).body.total_images;

    const first = await rest<DataBody>("GET", "/api/milvus/data");
    expect(first.body).toMatchObject({ total, returned: 10 });
    expect(first.body.data).toHaveLength(10);
    const all = await rest<DataBody>("GET", "/api/milvus/data?limit=0");
    expect(all.body).toMatchObject({ total, returned: total });
    expect(all.body.data).toHaveLength(total);
    const ids = all.body.data.map((r) => Number(r.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));

    const withVectors = await rest<DataBody>("GET", "/api/milvus/data?include_vectors=true&limit=3");
    expect(withVectors.body.returned).toBe(3);
    for (const r of withVectors.body.data) {
      expect(r.vector).toHaveLength(512);
      const norm = Math.sqrt(r.vector!.reduce((s, x) => s + x * x, 0));
      expect(norm).toBeCloseTo(1, 3);
    }

    for (const bad of ["limit=-1", "limit=ten", "include_vectors=maybe", "limit=1&limit=2", "include_vector=true"]) {
      const refused = await rest<ErrorBody>("GET", `/api/milvus/data?${bad}`);
      expect(refused.status, bad).toBe(400);
      expect(refused.body.error.code, bad).toBe("invalid_argument");
    }
    expect((await rest<ErrorBody>("GET", "/api/milvus/data?include_vector=true")).body.error.message).toMatch(/"include_vector".*include_vectors, limit/);
  });

  it("answers int64 ids beyond 2^53 given as strings, as strings, and refuses them as JSON numbers", async () => {
    const big = "9007199254740993";
    const added = await rest<AddBody>("POST", "/api/milvus/add", { json: { id: big, url: corpus.openmoji(DOG) } });
    expect(added.status).toBe(200);
    expect(added.body.id).toBe(big);
    const listed: bigint[] = [];
    for await (const page of t.client.listImages({})) listed.push(...page.images.map((i) => i.id));
    expect(listed).toContain(9007199254740993n);
    const data = await rest<DataBody>("GET", "/api/milvus/data?limit=0");
    expect(data.body.data.map((r) => r.id)).toContain(big);

    const unsafe = await rest<ErrorBody>("POST", "/api/milvus/add", {
      body: `{"id": 9007199254740993, "url": "${corpus.openmoji(CAT)}"}`,
      headers: { "content-type": "application/json" },
    });
    expect(unsafe.status).toBe(400);
    expect(unsafe.body.error.code).toBe("invalid_argument");
    expect(unsafe.body.error.message).toMatch(/^id: is a JSON number beyond .*send an id this large as a string/);
    // Nothing was stored under the rounded id.
    const rounded = await rest<{ removed: boolean }>("DELETE", "/api/milvus/delete", { json: { id: "9007199254740992" } });
    expect(rounded.body.removed).toBe(false);

    const removed = await rest<{ id: number | string; removed: boolean }>("DELETE", `/api/milvus/delete?id=${big}`);
    expect(removed.body).toEqual({ id: big, removed: true });
    for (const [id, pattern] of [
      [1.5, /^id: is 1.5; send a whole number/],
      ["12a", /^id: is "12a"; send an int64/],
      ["9223372036854775808", /outside int64/],
      [true, /^id: is boolean true; send an integer/],
    ] as const) {
      const refused = await rest<ErrorBody>("POST", "/api/milvus/add", { json: { id, url: corpus.openmoji(DOG) } });
      expect(refused.status, String(id)).toBe(400);
      expect(refused.body.error.message, String(id)).toMatch(pattern);
    }
  });

  it("answers a bad URL, a missing id and a failed download with gRPC's codes and messages", async () => {
    const cases = [
      { id: 1n, url: "ftp://example.com/a.svg" },
      { url: corpus.openmoji(DOG) },
      { id: 2n, url: `${corpus.base}/status/404` },
      { id: 3n, url: "" },
    ];
    for (const c of cases) {
      const e = await failure(t.client.addImage(c));
      const json = { ...(c.id !== undefined ? { id: Number(c.id) } : {}), url: c.url };
      const refused = await rest<ErrorBody>("POST", "/api/milvus/add", { json });
      const grpcName = grpc.status[code(e)].toLowerCase();
      expect(refused.body.error, c.url).toEqual({ code: grpcName, message: details(e) });
      expect(refused.status, c.url).toBe(400);
    }
    expect(code(await failure(t.client.addImage(cases[0]!)))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(code(await failure(t.client.addImage(cases[2]!)))).toBe(grpc.status.FAILED_PRECONDITION);
    const missing = await rest<ErrorBody>("DELETE", "/api/milvus/delete");
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/^id: is required/);
    const twice = await rest<ErrorBody>("DELETE", "/api/milvus/delete?id=1", { json: { id: 2 } });
    expect(twice.body.error.message).toMatch(/^id: is in both the body and the query/);
  });

  it("reports per-item failures of a batch with their codes, and stores the rest", async () => {
    const batch = await rest<BatchBody>("POST", "/api/milvus/batch/add", {
      json: {
        images: [
          { id: 201, url: corpus.openmoji(PIG) },
          { id: 202, url: "not a url" },
          { url: corpus.openmoji(COW) },
          { id: 204, url: `${corpus.base}/status/500` },
        ],
      },
    });
    expect(batch.status).toBe(200);
    expect(batch.body).toMatchObject({ success_count: 1, total: 4, added: 1, failed: 3 });
    expect(batch.body.failures.map((f) => [f.index, f.id, f.code])).toEqual([
      [1, 202, "invalid_argument"],
      [2, null, "invalid_argument"],
      [3, 204, "failed_precondition"],
    ]);
    expect(batch.body.failures[0]!.message).toMatch(/^url: /);
    expect(batch.body.failures[1]!.message).toMatch(/^id: is required/);

    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ id: i, url: corpus.openmoji(DOG) }));
    const refused = await rest<ErrorBody>("POST", "/api/milvus/batch/add", { json: { images: tooMany } });
    expect(refused.status).toBe(413);
    expect(refused.body.error.code).toBe("resource_exhausted");
    expect(refused.body.error.message).toMatch(/at most 1000.*StreamAddImages/);
    const notArray = await rest<ErrorBody>("POST", "/api/milvus/batch/add", { json: { images: { id: 1 } } });
    expect(notArray.body.error.message).toMatch(/^images: is an object; send an array/);
    const misspelt = await rest<ErrorBody>("POST", "/api/milvus/batch/add", { json: { images: [{ id: 1, uri: "x" }] } });
    expect(misspelt.status).toBe(400);
    expect(misspelt.body.error.message).toMatch(/^images\[0\]: has an unknown field "uri"; it takes id, url/);
  });

  it("refuses unknown fields by name, so a misspelt one does not silently search for nothing", async () => {
    const typo = await rest<ErrorBody>("POST", "/api/milvus/search", { json: { txt: "dog", k: 5 } });
    expect(typo.status).toBe(400);
    expect(typo.body.error).toEqual({ code: "invalid_argument", message: 'body: has an unknown field "txt"; it takes text, k' });
    const two = await rest<ErrorBody>("POST", "/api/milvus/add", { json: { id: 1, url: "https://example.com/a.svg", nme: 1, tag: 2 } });
    expect(two.body.error.message).toBe('body: has unknown fields "nme", "tag"; it takes id, url');
    const query = await rest<ErrorBody>("GET", "/api/milvus/stats?verbose=1");
    expect(query.status).toBe(400);
    expect(query.body.error.message).toMatch(/unknown parameter "verbose"; it takes none/);
    const k = await rest<ErrorBody>("POST", "/api/milvus/search", { json: { text: "dog", k: "5" } });
    expect(k.body.error.message).toMatch(/^k: is the string "5"; send a number/);
    const badK = await rest<ErrorBody>("POST", "/api/milvus/search", { json: { text: "dog", k: 0 } });
    expect(badK.body.error.message).toMatch(/^k: is 0; send a number from 1 to/);
    const noText = await rest<ErrorBody>("POST", "/api/milvus/search", { json: { k: 5 } });
    expect(noText.body.error.message).toMatch(/^text: is empty/);
  });

  it("says where malformed JSON stops being JSON, and refuses bodies that are not JSON objects", async () => {
    const send = (body: string) => rest<ErrorBody>("POST", "/api/milvus/search", { body, headers: { "content-type": "application/json" } });
    const cut = await send('{"text": "dog", "k": }');
    expect(cut.status).toBe(400);
    expect(cut.body.error.code).toBe("invalid_argument");
    expect(cut.body.error.message).toBe('body: is not valid JSON: line 1, column 22: expected a value (object, array, string, number, true, false or null), found "}"');
    const trailing = await send('{\n  "text": "dog",\n}');
    expect(trailing.body.error.message).toBe('body: is not valid JSON: line 3, column 1: expected a member name in double quotes, found "}"');
    expect((await send("")).body.error.message).toMatch(/^body: is empty; send a JSON object, e.g. \{"text": "dog", "k": 5\}/);
    expect((await send('["dog"]')).body.error.message).toMatch(/^body: must be a JSON object/);
    const latin1 = await rest<ErrorBody>("POST", "/api/milvus/search", {
      body: new Uint8Array([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]),
      headers: { "content-type": "application/json" },
    });
    expect(latin1.body.error.message).toMatch(/^body: is not valid UTF-8/);
  });

  it("answers 415 to a body that is not declared JSON, 405 with allow to a wrong method, 404 to an unknown route", async () => {
    const form = await rest<ErrorBody>("POST", "/api/milvus/search", { body: "text=dog", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(form.status).toBe(415);
    expect(form.body.error.message).toMatch(/content-type "application\/x-www-form-urlencoded"; send header content-type: application\/json/);
    const latin = await rest<ErrorBody>("POST", "/api/milvus/search", { body: '{"text":"dog"}', headers: { "content-type": "application/json; charset=latin1" } });
    expect(latin.status).toBe(415);
    const charset = await rest<SearchBody>("POST", "/api/milvus/search", {
      body: '{"text":"dog"}',
      headers: { "content-type": "Application/JSON; charset=UTF-8" },
    });
    expect(charset.status).toBe(200);

    const method = await rest<ErrorBody>("GET", "/api/milvus/add");
    expect(method.status).toBe(405);
    expect(method.headers.get("allow")).toBe("POST");
    expect(method.body.error).toEqual({ code: "unimplemented", message: "/api/milvus/add answers POST, not GET" });
    expect((await rest<ErrorBody>("POST", "/api/milvus/data")).headers.get("allow")).toBe("GET");
    expect((await rest<ErrorBody>("GET", "/api/milvus/delete")).headers.get("allow")).toBe("DELETE");

    const unknown = await rest<ErrorBody>("GET", "/api/milvus/everything");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("not_found");
    expect(unknown.body.error.message).toMatch(/no such route: \/api\/milvus\/everything; the routes are GET \/api\/milvus\/health, POST \/api\/milvus\/add/);
    expect((await rest<ErrorBody>("GET", "/api/milvus/data/")).status).toBe(404);
    // Outside the prefix, the server's own 404.
    const elsewhere = await rest<ErrorBody>("GET", "/api/other");
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.error.message).toMatch(/^no such path/);
  });

  it("refuses a body over 4 MiB with 413, declared or streamed, and keeps serving the connection's next request", async () => {
    const big = JSON.stringify({ text: "dog", k: 5, pad: "x".repeat(4 * 1024 * 1024) });
    const declared = await rest<ErrorBody>("POST", "/api/milvus/search", { body: big, headers: { "content-type": "application/json" } });
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe("resource_exhausted");
    expect(declared.body.error.message).toMatch(/^the body is \d+ bytes; 4194304 bytes at most are accepted/);

    // Without content-length: refused while it is read, after 4 MiB.
    const chunks = [new TextEncoder().encode(big)];
    const streamed = await fetch(`http://${t.app.httpAddress}/api/milvus/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = chunks.shift();
          if (next === undefined) controller.close();
          else controller.enqueue(next);
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as ErrorBody).error.message).toMatch(/^the body is more than 4194304 bytes/);

    // On one keep-alive connection: both refusals, then an answer to the request after them.
    const [host, port] = [t.app.httpAddress.slice(0, t.app.httpAddress.lastIndexOf(":")), Number(t.app.httpAddress.split(":").pop())];
    const socket = connect(port, host);
    let received = "";
    socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
    socket.on("error", () => undefined);
    try {
      const mib = "x".repeat(1024 * 1024);
      const head = (extra: string) => `POST /api/milvus/search HTTP/1.1\r\nhost: svgvec\r\ncontent-type: application/json\r\n${extra}\r\n`;
      socket.write(head(`content-length: ${5 * mib.length}\r\n`));
      for (let i = 0; i < 5; i++) socket.write(mib);
      socket.write(head("transfer-encoding: chunked\r\n"));
      for (let i = 0; i < 5; i++) socket.write(`${mib.length.toString(16)}\r\n${mib}\r\n`);
      socket.write("0\r\n\r\nGET /api/milvus/health HTTP/1.1\r\nhost: svgvec\r\n\r\n");
      await waitFor(() => received.includes('"status":"healthy"'), 10_000);
      expect(received.match(/HTTP\/1\.1 \d+/g)).toEqual(["HTTP/1.1 413", "HTTP/1.1 413", "HTTP/1.1 200"]);
    } finally {
      socket.destroy();
    }
  });

  it("stops fetching the SVG when the client of POST /add goes away", async () => {
    const leaving = new AbortController();
    const pending = rest("POST", "/api/milvus/add", { json: { id: 301, url: `${corpus.base}/slow` }, signal: leaving.signal }).catch((e: unknown) => e);
    await waitFor(() => corpus.openSlow() === 1);
    leaving.abort();
    expect(await pending).toBeInstanceOf(Error);
    // The fetch timeout is two minutes: only the cancellation can close the download this soon.
    await waitFor(() => corpus.openSlow() === 0);
  });

  it("leaves no descriptors open after a few hundred refused requests", async () => {
    const before = openDescriptors();
    const refusals: Array<() => Promise<number>> = [
      () => rest("POST", "/api/milvus/search", { body: "{", headers: { "content-type": "application/json" } }).then((a) => a.status),
      () => rest("POST", "/api/milvus/search", { json: { txt: "dog" } }).then((a) => a.status),
      () => rest("POST", "/api/milvus/add", { body: "id=1", headers: { "content-type": "text/plain" } }).then((a) => a.status),
      () => rest("GET", "/api/milvus/nothing").then((a) => a.status),
      () => rest("PUT", "/api/milvus/add", { json: { id: 1 } }).then((a) => a.status),
      () => rest("POST", "/api/milvus/add", { json: { id: 1, url: "ftp://x/y.svg" } }).then((a) => a.status),
      () => rest("GET", "/api/milvus/data?limit=x").then((a) => a.status),
      () => rest("DELETE", "/api/milvus/delete", { json: { id: 9007199254740993 } }).then((a) => a.status),
    ];
    const statuses = new Set<number>();
    for (let i = 0; i < 320; i++) statuses.add(await refusals[i % refusals.length]!());
    // A few oversized bodies, declared (refused before they are read) or not (refused while read),
    // and uploads abandoned halfway.
    const big = new TextEncoder().encode("x".repeat(4 * 1024 * 1024 + 1));
    for (let i = 0; i < 4; i++) {
      statuses.add((await rest("POST", "/api/milvus/search", { body: big, headers: { "content-type": "application/json" } })).status);
      const streamed = await fetch(`http://${t.app.httpAddress}/api/milvus/search`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(big);
            controller.close();
          },
        }),
        duplex: "half",
      } as RequestInit);
      statuses.add(streamed.status);
      await streamed.body?.cancel();
      const leaving = new AbortController();
      const upload = fetch(`http://${t.app.httpAddress}/api/milvus/search`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"text": "'));
          },
        }),
        duplex: "half",
        signal: leaving.signal,
      } as RequestInit).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 0));
      leaving.abort();
      await upload;
    }
    expect([...statuses].sort()).toEqual([400, 404, 405, 413, 415]);
    // Idle keep-alive connections close within the server's keep-alive timeout (5 s).
    await waitFor(() => openDescriptors() <= before + 4, 20_000);
  });
});

describe("GET /data streamed to a client that leaves", () => {
  let t: TestApp;
  let rest: ReturnType<typeof restClient>;
  beforeAll(async () => {
    t = await startTestApp({ milvusAddress: inject("liteAddress"), env: { SVGVEC_HTTP_LISTEN: "127.0.0.1:0", SVGVEC_MAX_LISTS: "1" } });
    rest = restClient(t.app.httpAddress);
    // About 10 KB of JSON per record with its vector: 2,000 records are more than the sockets hold,
    // so the listing is still running when the client leaves. One SVG, embedded once, under many URLs.
    for (let batch = 0; batch < 2; batch++) {
      const images = Array.from({ length: 1000 }, (_, i) => ({ id: batch * 1000 + i, url: `${corpus.openmoji(DOG)}?n=${batch * 1000 + i}` }));
      const added = await rest<BatchBody>("POST", "/api/milvus/batch/add", { json: { images } });
      expect(added.body.success_count).toBe(1000);
    }
  });
  afterAll(() => t.close());

  it("ends the listing and frees its slot (SVGVEC_MAX_LISTS=1), so the next listing runs", async () => {
    const leaving = new AbortController();
    const res = await fetch(`http://${t.app.httpAddress}/api/milvus/data?include_vectors=true&limit=0`, { signal: leaving.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let start = "";
    while (start.length < 64) {
      const { value, done } = await reader.read();
      if (done) break;
      start += new TextDecoder().decode(value);
    }
    expect(start.startsWith('{"total":2000,"data":[{"id":0,')).toBe(true);
    // While it runs, it holds the one listing slot.
    const busy = await rest<ErrorBody>("GET", "/api/milvus/data");
    expect(busy.status).toBe(429);
    expect(busy.body.error.message).toMatch(/SVGVEC_MAX_LISTS/);
    leaving.abort();
    await reader.cancel().catch(() => undefined);
    await waitFor(async () => (await rest("GET", "/api/milvus/data?limit=1")).status === 200, 10_000);
    const whole = await rest<DataBody>("GET", "/api/milvus/data?limit=0");
    expect(whole.body).toMatchObject({ total: 2000, returned: 2000 });
  });
});

describe("the REST routes with SVGVEC_AUTH_TOKENS", () => {
  let t: TestApp;
  let rest: ReturnType<typeof restClient>;
  beforeAll(async () => {
    t = await startTestApp({
      milvusAddress: inject("liteAddress"),
      env: { SVGVEC_HTTP_LISTEN: "127.0.0.1:0", SVGVEC_AUTH_TOKENS: TOKEN },
      client: { token: TOKEN },
    });
    rest = restClient(t.app.httpAddress);
  });
  afterAll(() => t.close());

  it("answers 401 with how to send the token on every route but health, and serves a valid token", async () => {
    const routes: Array<[string, string, RequestOptions]> = [
      ["POST", "/api/milvus/add", { json: { id: 1, url: corpus.openmoji(DOG) } }],
      ["GET", "/api/milvus/data", {}],
      ["POST", "/api/milvus/search", { json: { text: "dog" } }],
      ["DELETE", "/api/milvus/delete", { json: { id: 1 } }],
      ["POST", "/api/milvus/batch/add", { json: { images: [{ id: 1, url: corpus.openmoji(DOG) }] } }],
      ["GET", "/api/milvus/stats", {}],
      ["GET", "/api/milvus/collection/info", {}],
    ];
    for (const [method, path, opts] of routes) {
      const anonymous = await rest<ErrorBody>(method, path, opts);
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.headers.get("www-authenticate"), path).toMatch(/^Bearer/);
      expect(anonymous.body.error, path).toEqual({
        code: "unauthenticated",
        message: "this server requires a token: send header authorization: Bearer <token>",
      });
      const wrong = await rest<ErrorBody>(method, path, { ...opts, token: "not-the-token-of-this-server" });
      expect(wrong.status, path).toBe(401);
      expect(wrong.body.error.message, path).toBe("the bearer token is not valid for this server");
    }
    expect((await t.client.stats()).totalImages).toBe(0n);
    for (const [method, path, opts] of routes) {
      expect((await rest(method, path, { ...opts, token: TOKEN })).status, path).toBe(200);
    }
    const health = await rest<{ status: string }>("GET", "/api/milvus/health");
    expect(health.status).toBe(200);
    expect(health.body.status).toBe("healthy");
  });
});

describe("GET /health while the text encoder cannot restart", () => {
  let t: TestApp;
  let rest: ReturnType<typeof restClient>;
  let modelDir: string;
  beforeAll(async () => {
    modelDir = join(await mkdtemp(join(tmpdir(), "svgvec-rest-model-")), "model");
    await cp(TINY_MODEL_DIR, modelDir, { recursive: true });
    t = await startTestApp({
      milvusAddress: inject("liteAddress"),
      env: {
        SVGVEC_HTTP_LISTEN: "127.0.0.1:0",
        SVGVEC_MODEL_DIR: modelDir,
        // One text session: with two, the other answers searches while the crashed one restarts.
        SVGVEC_TEXT_SESSIONS: "1",
      },
    });
    rest = restClient(t.app.httpAddress);
  });
  afterAll(() => t.close());

  it("answers 503 unhealthy with why while it is down, and healthy once it is back", async () => {
    const onnx = join(modelDir, "textual/model.onnx");
    await rename(onnx, `${onnx}.kept`);
    await writeFile(onnx, "not an onnx model");
    await t.app.model.crashWorkerForTest("text");
    await waitFor(async () => (await rest("GET", "/api/milvus/health")).status === 503, 10_000);
    const down = await rest<{ service: string; status: string; reason: string }>("GET", "/api/milvus/health");
    expect(down.body.service).toBe("milvus-vector-database-api");
    expect(down.body.status).toBe("unhealthy");
    expect(down.body.reason).toMatch(/^the CLIP model cannot encode now: .*text encoder/);
    const search = await rest<ErrorBody>("POST", "/api/milvus/search", { json: { text: "dog" } });
    expect(search.status).toBe(503);
    expect(search.body.error.code).toBe("unavailable");

    await rename(`${onnx}.kept`, onnx);
    await waitFor(async () => (await rest("GET", "/api/milvus/health")).status === 200, 20_000);
  });
});

describe("the REST routes over HTTP/2 with TLS", () => {
  let t: TestApp;
  let session: http2.ClientHttp2Session;
  beforeAll(async () => {
    const cert = await makeCertificate();
    t = await startTestApp({
      milvusAddress: inject("liteAddress"),
      env: { SVGVEC_HTTP_LISTEN: "127.0.0.1:0", SVGVEC_TLS_CERT: cert.certFile, SVGVEC_TLS_KEY: cert.keyFile },
      client: { credentials: grpc.credentials.createSsl(readFileSync(cert.certFile)) },
    });
    session = http2.connect(`https://${t.app.httpAddress}`, { ca: readFileSync(cert.certFile) });
  });
  afterAll(async () => {
    session.close();
    await t.close();
  });

  /** One HTTP/2 request; HTTP/2 bodies need not declare their length, so none does here. */
  const h2 = <T>(method: string, path: string, body?: string): Promise<Answer<T>> =>
    new Promise((resolve, reject) => {
      const headers: http2.OutgoingHttpHeaders = { ":method": method, ":path": path };
      if (body !== undefined) headers["content-type"] = "application/json";
      const stream = session.request(headers);
      let status = 0;
      let text = "";
      stream.on("response", (h) => (status = Number(h[":status"])));
      stream.setEncoding("utf8");
      stream.on("data", (d: string) => (text += d));
      stream.on("end", () => resolve({ status, headers: new Headers(), body: JSON.parse(text) as T }));
      stream.on("error", reject);
      stream.end(body);
    });

  it("adds, lists, searches and deletes, with the id of a DELETE in its query and no body", async () => {
    const added = await h2<AddBody>("POST", "/api/milvus/add", JSON.stringify({ id: 7, url: corpus.openmoji(DOG) }));
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ success: true, outcome: "added", id: 7 });
    const data = await h2<DataBody>("GET", "/api/milvus/data?limit=0&include_vectors=true");
    expect(data.body).toMatchObject({ total: 1, returned: 1 });
    expect(data.body.data[0]!.vector).toHaveLength(512);
    const search = await h2<SearchBody>("POST", "/api/milvus/search", '{"text": "dog"}');
    expect(search.body.results.map((h) => h.id)).toEqual([7]);
    const unknown = await h2<ErrorBody>("POST", "/api/milvus/search", '{"txt": "dog"}');
    expect(unknown.status).toBe(400);
    const removed = await h2<{ id: number; removed: boolean }>("DELETE", "/api/milvus/delete?id=7");
    expect(removed.body).toEqual({ id: 7, removed: true });
  });
});
