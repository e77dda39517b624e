/**
 * The import pipeline's economies, observed through a real server: work done
 * once, writes and encoder runs batched, text queries cached and batched;
 * and a batch of writes in which Milvus refuses one record.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { statusCode } from "../../src/rpc/status.js";
import { StoreRejectedError } from "../../src/errors.js";
import { AddOutcome } from "../../src/gen/svgvec/v1/svgvec_pb.js";
import type { AddResult } from "../../src/service/image-service.js";
import { type Corpus, FIXTURES_DIR, startCorpus } from "../helpers/corpus.js";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { TINY_DYNAMIC_MODEL_DIR, TINY_MODEL_DIR } from "../helpers/models.js";
import { waitFor } from "../helpers/wait.js";

describe("import and search economies", () => {
  let corpus: Corpus;
  let t: TestApp;
  beforeAll(async () => {
    corpus = await startCorpus();
    // The dynamic-batch model, so encoder batching can show; one text session, so one run at a time.
    t = await startTestApp({ milvusAddress: inject("liteAddress"), env: { SVGVEC_MODEL_DIR: TINY_DYNAMIC_MODEL_DIR, SVGVEC_TEXT_SESSIONS: "1" } });
  });
  afterAll(async () => {
    await t.close();
    await corpus.close();
  });

  it("reports UNCHANGED for the same id, url and content, and neither re-embeds nor rewrites it", async () => {
    const first = await t.client.addImage({ id: 1n, url: corpus.openmoji("1F436") });
    const encoded = t.app.pipeline.times.encoded;
    const writes = t.app.service.storeTimes.writes;
    // updated_at has millisecond resolution: let the clock move, so an unwanted rewrite would show.
    await waitFor(() => new Date().toISOString() !== first.image?.updatedAt);
    const again = await t.client.addImage({ id: 1n, url: corpus.openmoji("1F436"), includeVector: true });
    expect(again.outcome).toBe(AddOutcome.UNCHANGED);
    expect(again.image?.updatedAt).toBe(first.image?.updatedAt);
    expect(again.image?.vector).toHaveLength(512);
    expect(t.app.pipeline.times.encoded).toBe(encoded);
    expect(t.app.service.storeTimes.writes).toBe(writes);
    const summary = await t.client.streamAddImages([{ id: 1n, url: corpus.openmoji("1F436") }]);
    expect([summary.unchanged, summary.added, summary.replaced]).toEqual([1n, 0n, 0n]);
    // Another url for the id is a replacement again.
    expect((await t.client.addImage({ id: 1n, url: corpus.openmoji("2764") })).outcome).toBe(AddOutcome.REPLACED);
  });

  it("embeds the same SVG bytes once, whatever ids and urls they come under", async () => {
    const encoded = t.app.pipeline.times.encoded;
    const summary = await t.client.streamAddImages([
      { id: 10n, url: corpus.openmoji("1F680") },
      { id: 11n, url: corpus.openmoji("1F680") },
      { id: 12n, url: `${corpus.base}/redirect/1/openmoji/1F680.svg` },
      { id: 13n, url: `${corpus.base}/svgz/wide-red.svgz` },
      { id: 14n, url: corpus.fixture("wide-red.svg") },
    ]);
    expect(summary.added).toBe(5n);
    expect(t.app.pipeline.times.encoded - encoded).toBe(2);
    const vectors = new Map<bigint, number[]>();
    for await (const page of t.client.listImages({ includeVectors: true })) for (const i of page.images) vectors.set(i.id, i.vector);
    expect(vectors.get(11n)).toEqual(vectors.get(10n));
    expect(vectors.get(14n)).toEqual(vectors.get(13n));
  });

  it("writes a stream to Milvus in batches and runs the encoder on batches", async () => {
    const writes = t.app.service.storeTimes.writes;
    const rows = t.app.service.storeTimes.rows;
    const runs = t.app.pipeline.encoderBatchSizes.length;
    const hexes = ["1F600", "1F601", "1F602", "1F603", "1F604", "1F605", "1F606", "1F607", "1F608", "1F609",
      "1F60A", "1F60B", "1F60C", "1F60D", "1F60E", "1F60F", "1F610", "1F611", "1F612", "1F613"];
    const summary = await t.client.streamAddImages(hexes.map((h, i) => ({ id: BigInt(100 + i), url: corpus.openmoji(h) })));
    expect(summary.added).toBe(20n);
    // How items group depends on timing; that batches form under load is test/batcher.test.ts's job.
    // Here: every item went through the encoder and the writer exactly once, in runs within their caps.
    expect(t.app.service.storeTimes.writes - writes).toBeLessThanOrEqual(20);
    expect(t.app.service.storeTimes.rows - rows).toBe(20);
    const newRuns = t.app.pipeline.encoderBatchSizes.slice(runs);
    expect(newRuns.reduce((a, b) => a + b, 0)).toBe(20);
    expect(Math.max(...newRuns)).toBeLessThanOrEqual(32);
  });

  it("caches text embeddings and batches concurrent queries into shared encoder runs", async () => {
    const before = t.app.service.textEncoderRuns.length;
    const first = await t.client.search({ text: "a rocket", k: 3 });
    const second = await t.client.search({ text: "a rocket", k: 3 });
    expect(second.hits.map((h) => h.id)).toEqual(first.hits.map((h) => h.id));
    expect(t.app.service.textEncoderRuns.length - before).toBe(1);

    const texts = Array.from({ length: 16 }, (_, i) => `query number ${i}`);
    const start = t.app.service.textEncoderRuns.length;
    await Promise.all(texts.map((text) => t.client.search({ text, k: 2 })));
    const runs = t.app.service.textEncoderRuns.slice(start);
    // Each query encoded once; how they group depends on timing (batching itself: batcher.test.ts).
    expect(runs.reduce((a, b) => a + b, 0)).toBe(16);
    await Promise.all(texts.map((text) => t.client.search({ text, k: 2 })));
    expect(t.app.service.textEncoderRuns.length).toBe(start + runs.length);
  });

  it("drops searches whose callers left while they waited for the text encoder", async () => {
    const start = t.app.service.textEncoderRuns.length;
    const abort = new AbortController();
    // The first query starts an encoder run at once; the others wait for it, and their callers leave.
    const first = t.app.service.search("the one that runs", 2);
    const left = Array.from({ length: 10 }, (_, i) => t.app.service.search(`left before encoding ${i}`, 2, undefined, abort.signal));
    abort.abort(new Error("the caller left"));
    for (const p of left) await expect(p).rejects.toThrow("the caller left");
    await first;
    expect(t.app.service.textEncoderRuns.slice(start)).toEqual([1]);
  });

  it("takes nprobe per request, within 1 to 65,536", async () => {
    expect((await t.client.search({ text: "rocket", k: 2, nprobe: 1 })).hits).toHaveLength(2);
    expect((await t.client.search({ text: "rocket", k: 2, nprobe: 65536 })).hits).toHaveLength(2);
    const err = await t.client.search({ text: "rocket", nprobe: 0 }).then(
      () => undefined,
      (e: unknown) => e as grpc.ServiceError,
    );
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/nprobe: is 0; send 1 to 65536/);
  });
});

describe("a batch of writes with one record Milvus refuses", () => {
  let server: http.Server;
  let base: string;
  let t: TestApp;
  beforeAll(async () => {
    const svg = readFileSync(join(FIXTURES_DIR, "wide-red.svg"));
    // Any path is the same SVG, so a url can be as long as a test needs.
    server = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "image/svg+xml", "content-length": String(svg.length) });
      res.end(svg);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A full Milvus: it measures VARCHAR(2000) in bytes (Milvus Lite stores the long url).
    t = await startTestApp({ milvusAddress: inject("standaloneAddress") });
  });
  afterAll(async () => {
    await t.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("stores every other item of the batch and fails only that one, FAILED_PRECONDITION with Milvus's reason", async () => {
    const service = t.app.service;
    for (const id of [1n, 2n, 3n, 4n, 5n]) await service.add(id, `${base}/before/${id}.svg`);
    // 700 CJK characters are 2,100 bytes: under 2,000 characters, over Milvus's 2,000 bytes.
    const tooLong = `${base}/${"\u4e2d".repeat(700)}.svg`;
    const ids = Array.from({ length: 40 }, (_, i) => BigInt(i + 1));
    const bad = 21n;
    const urlOf = (id: bigint) => (id === bad ? tooLong : `${base}/after/${id}.svg`);
    const writesBefore = service.storeTimes.writes;
    // Concurrent adds queue behind the first write and go to Milvus together.
    const settled = await Promise.allSettled(ids.map((id) => service.add(id, urlOf(id))));
    expect(service.storeTimes.writes - writesBefore).toBeLessThan(ids.length);

    const failed = settled.flatMap((s, i) => (s.status === "rejected" ? [[ids[i], s.reason] as const] : []));
    expect(failed.map(([id]) => id)).toEqual([bad]);
    const err = failed[0]![1] as unknown;
    expect(err).toBeInstanceOf(StoreRejectedError);
    expect(statusCode(err)).toBe(grpc.status.FAILED_PRECONDITION);
    expect((err as Error).message).toMatch(/exceeds max length \(2000\)/);

    const outcomes = new Map(settled.flatMap((s, i) => (s.status === "fulfilled" ? [[ids[i]!, (s.value as AddResult).outcome] as const] : [])));
    for (const id of ids.filter((i) => i !== bad)) expect(outcomes.get(id), String(id)).toBe(id <= 5n ? "replaced" : "added");

    const stored = new Map<bigint, string>();
    for await (const page of service.list({ includeVectors: false, limit: 0, pageSize: 1000 })) for (const r of page) stored.set(r.id, r.url);
    expect([...stored.keys()].sort((a, b) => Number(a - b))).toEqual(ids.filter((i) => i !== bad));
    for (const [id, url] of stored) expect(url).toBe(urlOf(id));
  });
});

describe("text queries on a batch-1 model with two text sessions", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ milvusAddress: inject("liteAddress"), env: { SVGVEC_MODEL_DIR: TINY_MODEL_DIR, SVGVEC_TEXT_SESSIONS: "2" } });
  });
  afterAll(() => t.close());

  it("runs concurrent queries on both sessions", async () => {
    const before = t.app.model.textSessionRuns;
    await Promise.all(Array.from({ length: 8 }, (_, i) => t.client.search({ text: `two sessions ${i}`, k: 2 })));
    const runs = t.app.model.textSessionRuns.map((n, i) => n - before[i]!);
    expect(runs.reduce((a, b) => a + b, 0)).toBe(8);
    expect(runs.every((n) => n > 0)).toBe(true);
  });

  it("encodes concurrent identical queries once", async () => {
    const start = t.app.service.textEncoderRuns.length;
    const answers = await Promise.all(Array.from({ length: 6 }, () => t.client.search({ text: "the same query at once", k: 2 })));
    expect(t.app.service.textEncoderRuns.slice(start)).toEqual([1]);
    for (const a of answers) expect(a.hits).toEqual(answers[0]!.hits);
  });
});
