/**
 * Search by image end to end: a query is a text, the SVG at a URL (fetched, rendered and embedded
 * like an add) or a stored record's id (its stored vector, no encoder); hits can be cut by a
 * similarity threshold and a list of excluded ids. Real server, tiny model, Milvus Lite and the
 * standalone, OpenMoji over loopback HTTP.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { SearchHit } from "../../src/gen/svgvec/v1/svgvec_pb.js";
import { code, details, failure } from "../helpers/calls.js";
import { type Corpus, startCorpus } from "../helpers/corpus.js";
import { grpcurl } from "../helpers/grpcurl.js";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { waitFor } from "../helpers/wait.js";

const MIN_INT64 = -(2n ** 63n);
const HEXES = ["1F436", "1F431", "2764", "1F600", "1F680", "1F34E", "2B50", "1F697", "1F3E0", "1F4A7", "1F525", "1F308"];
/** The last record sits at the smallest int64, which an exclusion filter must write specially. */
const IDS = HEXES.map((_, i) => (i === HEXES.length - 1 ? MIN_INT64 : BigInt(7000 + i)));
const ids = (hits: readonly SearchHit[]) => hits.map((h) => h.id);

let corpus: Corpus;
beforeAll(async () => {
  corpus = await startCorpus();
});
afterAll(() => corpus.close());

describe.each([
  ["Milvus Lite", "liteAddress"],
  ["a Milvus standalone", "standaloneAddress"],
] as const)("Search by image on %s", (_name, milvus) => {
  let t: TestApp;
  const url = (i: number) => corpus.openmoji(HEXES[i]!);
  const count = async () => Number((await t.client.stats()).totalImages);

  beforeAll(async () => {
    // No embedding cache: a search by URL renders and encodes its SVG afresh.
    t = await startTestApp({ milvusAddress: inject(milvus), env: { SVGVEC_EMBED_CACHE_SIZE: "0" } });
    const summary = await t.client.streamAddImages(IDS.map((id, i) => ({ id, url: url(i) })));
    expect(summary.added).toBe(BigInt(IDS.length));
  });
  afterAll(() => t.close());

  it("finds a stored SVG by its own URL first, with similarity >= 0.999, embedding it afresh and storing nothing", async () => {
    const encoded = t.app.pipeline.times.encoded;
    const { hits } = await t.client.search({ likeUrl: url(3), k: 3 });
    expect(hits[0]?.id).toBe(IDS[3]);
    expect(hits[0]!.similarity).toBeGreaterThanOrEqual(0.999);
    expect(hits).toHaveLength(3);
    expect(t.app.pipeline.times.encoded).toBe(encoded + 1);
    expect(await count()).toBe(IDS.length);
  });

  it("searches by a stored id: with include_self the record comes first with similarity >= 0.999", async () => {
    const { hits } = await t.client.search({ likeId: IDS[2], includeSelf: true, k: 3 });
    expect(hits[0]?.id).toBe(IDS[2]);
    expect(hits[0]!.similarity).toBeGreaterThanOrEqual(0.999);
    expect(hits).toHaveLength(3);
  });

  it("leaves the record itself out of a search by id, and still returns k hits", async () => {
    const five = await t.client.search({ likeId: IDS[2], k: 5 });
    expect(five.hits).toHaveLength(5);
    expect(ids(five.hits)).not.toContain(IDS[2]);
    // Every other record: k places are filled although the best match was taken out.
    const rest = await t.client.search({ likeId: IDS[2], k: IDS.length - 1 });
    expect(ids(rest.hits).sort()).toEqual(IDS.filter((id) => id !== IDS[2]).sort());
  });

  it("keeps only hits at or above min_similarity", async () => {
    const all = await t.client.search({ likeId: IDS[0], includeSelf: true, k: IDS.length });
    expect(all.hits).toHaveLength(IDS.length);
    const threshold = all.hits[4]!.similarity;
    const cut = await t.client.search({ likeId: IDS[0], includeSelf: true, k: IDS.length, minSimilarity: threshold });
    expect(cut.hits.length).toBeGreaterThanOrEqual(5);
    expect(cut.hits.length).toBeLessThan(all.hits.length);
    for (const h of cut.hits) expect(h.similarity).toBeGreaterThanOrEqual(threshold);
    expect(ids(cut.hits).sort()).toEqual(ids(all.hits.filter((h) => h.similarity >= threshold)).sort());
    // The same cut applies to the other kinds of query.
    const text = await t.client.search({ text: "a red heart", k: IDS.length, minSimilarity: 1 });
    expect(text.hits).toEqual([]);
  });

  it("never returns excluded ids, the smallest int64 included, and still returns k hits", async () => {
    const top = await t.client.search({ likeId: IDS[1], k: 4 });
    const excluded = [...ids(top.hits).slice(0, 2), MIN_INT64];
    const res = await t.client.search({ likeId: IDS[1], k: 4, excludeIds: excluded });
    expect(res.hits).toHaveLength(4);
    for (const id of [...excluded, IDS[1]]) expect(ids(res.hits)).not.toContain(id);
    const text = await t.client.search({ text: "dog", k: IDS.length, excludeIds: excluded });
    expect(ids(text.hits).sort()).toEqual(IDS.filter((id) => !excluded.includes(id)).sort());
  });

  it("answers NOT_FOUND naming a like_id that no record has", async () => {
    const err = await failure(t.client.search({ likeId: 424242n }));
    expect(code(err)).toBe(grpc.status.NOT_FOUND);
    expect(details(err)).toMatch(/like_id: no stored record has id 424242/);
  });

  it("answers NOT_FOUND for a like_id in a collection that has never held a record", async () => {
    // Milvus Lite fails a query for the vector of a never-written collection instead of finding no rows.
    const empty = await startTestApp({ milvusAddress: inject(milvus) });
    try {
      for (const id of [1n, MIN_INT64]) {
        const err = await failure(empty.client.search({ likeId: id }));
        expect(code(err), details(err)).toBe(grpc.status.NOT_FOUND);
        expect(details(err)).toBe(`like_id: no stored record has id ${id}; add it first, or search by text or like_url`);
      }
    } finally {
      await empty.close();
    }
  });

  it("runs no encoder, text or image, and fetches nothing for a search by id", async () => {
    const { service, pipeline } = t.app;
    const before = () => ({
      textRuns: service.textEncoderRuns.length,
      imageRuns: pipeline.encoderBatchSizes.length,
      fetched: pipeline.times.fetched,
      rendered: pipeline.times.rendered,
    });
    const start = before();
    const { hits } = await t.client.search({ likeId: IDS[5], k: 3 });
    expect(hits).toHaveLength(3);
    expect(before()).toEqual(start);
    // The counters are live: a new text and a URL each move theirs.
    await t.client.search({ text: `a text never searched for ${Date.now()}`, k: 1 });
    await t.client.search({ likeUrl: url(5), k: 1 });
    expect(before()).toMatchObject({ textRuns: start.textRuns + 1, imageRuns: start.imageRuns + 1, fetched: start.fetched + 1 });
  });

  it("answers a bad like_url with the status and message AddImage gives the same URL, and stores nothing", async () => {
    const bad = [`${corpus.base}/status/404`, corpus.fixture("page.html"), corpus.fixture("broken.svg"), "ftp://example.com/a.svg", "icons/a.svg"];
    const seen = new Set<grpc.status>();
    for (const u of bad) {
      const added = await failure(t.client.addImage({ id: 1n, url: u }));
      const searched = await failure(t.client.search({ likeUrl: u }));
      expect(code(searched), u).toBe(code(added));
      // AddImage names its field url; Search names like_url.
      expect(details(searched).replace(/^like_url:/, "url:"), u).toBe(details(added));
      seen.add(code(searched));
    }
    expect([...seen].sort()).toEqual([grpc.status.INVALID_ARGUMENT, grpc.status.FAILED_PRECONDITION].sort());
    expect(await count()).toBe(IDS.length);
  });

  it.each([
    ["text and like_id", { text: "dog", likeId: 7000n }, /^text and like_id: are both set; a search takes exactly one of text, like_url and like_id/],
    ["text and like_url", { text: "dog", likeUrl: "https://example.com/a.svg" }, /^text and like_url: are both set/],
    ["like_url and like_id", { likeUrl: "https://example.com/a.svg", likeId: 1n }, /^like_url and like_id: are both set/],
    ["all three", { text: "dog", likeUrl: "https://example.com/a.svg", likeId: 1n }, /^text and like_url and like_id: are all set/],
    ["none", {}, /^text: is empty; .*or search by image with like_url or like_id/],
    ["include_self without like_id", { text: "dog", includeSelf: true }, /^include_self: applies only to a search by like_id/],
    ["min_similarity 1.5", { text: "dog", minSimilarity: 1.5 }, /^min_similarity: is 1\.5; send a cosine similarity from -1 to 1/],
    ["min_similarity -1.25", { text: "dog", minSimilarity: -1.25 }, /^min_similarity: is -1\.25/],
    ["min_similarity NaN", { text: "dog", minSimilarity: Number.NaN }, /^min_similarity: is NaN/],
    ["min_similarity Infinity", { text: "dog", minSimilarity: Number.POSITIVE_INFINITY }, /^min_similarity: is Infinity/],
    ["1,025 excluded ids", { text: "dog", excludeIds: Array.from({ length: 1025 }, (_, i) => BigInt(i)) }, /^exclude_ids: has 1025 ids; send at most 1024/],
  ] as const)("answers INVALID_ARGUMENT naming the fields for %s", async (_what, req, message) => {
    const err = await failure(t.client.search(req));
    expect(code(err)).toBe(grpc.status.INVALID_ARGUMENT);
    expect(details(err)).toMatch(message);
  });

  it("takes 1,024 excluded ids and the thresholds -1 and 1", async () => {
    const excludeIds = [...Array.from({ length: 1023 }, (_, i) => BigInt(-i - 1)), IDS[0]!];
    const res = await t.client.search({ text: "dog", k: IDS.length, excludeIds, minSimilarity: -1 });
    expect(ids(res.hits).sort()).toEqual(IDS.slice(1).sort());
  });

  it("searches by id and by URL from grpcurl through reflection", async () => {
    const M = "svgvec.v1.SvgVecService/Search";
    const byId = await grpcurl(["-plaintext", "-d", JSON.stringify({ like_id: String(IDS[4]), include_self: true, k: 2 }), t.app.address, M]);
    expect(byId.code, byId.stderr).toBe(0);
    const hits = (JSON.parse(byId.stdout) as { hits: Array<{ id: string; similarity: number }> }).hits;
    expect(hits).toHaveLength(2);
    expect(hits[0]?.id).toBe(String(IDS[4]));
    const byUrl = await grpcurl(["-plaintext", "-d", JSON.stringify({ like_url: url(4), k: 1, exclude_ids: [String(IDS[4])] }), t.app.address, M]);
    expect(byUrl.code, byUrl.stderr).toBe(0);
    expect((JSON.parse(byUrl.stdout) as { hits: Array<{ id: string }> }).hits[0]?.id).not.toBe(String(IDS[4]));
    const both = await grpcurl(["-plaintext", "-d", '{"text": "dog", "like_id": "1"}', t.app.address, M]);
    expect(both.stderr).toMatch(/Code: InvalidArgument[\s\S]*text and like_id: are both set/);
    const nan = await grpcurl(["-plaintext", "-d", '{"text": "dog", "min_similarity": "NaN"}', t.app.address, M]);
    expect(nan.stderr).toMatch(/Code: InvalidArgument[\s\S]*min_similarity: is NaN/);
  });
});

describe("Search by URL holds a search slot and an add slot, and stops when its caller leaves", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      milvusAddress: inject("liteAddress"),
      // A download timeout far past the test's waits: only the caller leaving can stop the slow one.
      env: { SVGVEC_MAX_SEARCHES: "1", SVGVEC_MAX_INFLIGHT_ADDS: "1", SVGVEC_FETCH_TIMEOUT_MS: "120000" },
    });
    await t.client.addImage({ id: 1n, url: corpus.openmoji("1F436") });
    await t.client.addImage({ id: 2n, url: corpus.openmoji("1F431") });
  });
  afterAll(() => t.close());

  it("holds an add slot, not a search slot, while its download runs, then gives it back", async () => {
    // The slow URL sends headers and never its body: only the caller's deadline ends the search.
    const slow = failure(t.client.search({ likeUrl: `${corpus.base}/slow` }, { deadline: new Date(Date.now() + 3_000) }));
    await waitFor(() => corpus.openSlow() === 1);
    // The one search slot is free for others while the download runs.
    expect((await t.client.search({ likeId: 1n, includeSelf: true })).hits[0]?.id).toBe(1n);
    const add = await failure(t.client.addImage({ id: 3n, url: corpus.openmoji("2764") }));
    expect(code(add)).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(details(add)).toMatch(/1 AddImage calls are already in progress \(SVGVEC_MAX_INFLIGHT_ADDS\)/);

    expect(code(await slow)).toBe(grpc.status.DEADLINE_EXCEEDED);
    // The download stops with the call, and both slots come back.
    await waitFor(() => corpus.openSlow() === 0);
    await waitFor(async () => (await t.client.search({ likeId: 1n, includeSelf: true }).catch(() => undefined)) !== undefined);
    expect((await t.client.addImage({ id: 3n, url: corpus.openmoji("2764") })).image?.id).toBe(3n);
  });

  it("refuses a like_url search while AddImage calls hold every add slot, with advice for a search, and keeps serving like_id", async () => {
    const slow = failure(t.client.addImage({ id: 4n, url: `${corpus.base}/slow` }, { deadline: new Date(Date.now() + 3_000) }));
    await waitFor(() => corpus.openSlow() === 1);
    const err = await failure(t.client.search({ likeUrl: corpus.openmoji("1F436") }));
    expect(code(err)).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(details(err)).toBe(
      "1 AddImage calls and searches by like_url are already downloading and rendering (SVGVEC_MAX_INFLIGHT_ADDS); " +
        "retry with backoff, or search by like_id for an image already stored",
    );
    // The refused search gave its search slot back: the only one there is.
    expect((await t.client.search({ likeId: 1n, includeSelf: true })).hits[0]?.id).toBe(1n);
    expect(code(await slow)).toBe(grpc.status.DEADLINE_EXCEEDED);
    await waitFor(() => corpus.openSlow() === 0);
  });

  it("refuses a like_url on a private address as AddImage does, without fetching it", async () => {
    const strict = await startTestApp({ milvusAddress: inject("liteAddress"), env: { SVGVEC_FETCH_ALLOW_PRIVATE: "false" } });
    const requests = corpus.requests.length;
    try {
      const u = corpus.openmoji("1F436");
      const added = await failure(strict.client.addImage({ id: 1n, url: u }));
      const searched = await failure(strict.client.search({ likeUrl: u }));
      expect(code(searched)).toBe(grpc.status.INVALID_ARGUMENT);
      expect(code(added)).toBe(grpc.status.INVALID_ARGUMENT);
      expect(details(searched)).toBe(details(added));
      expect(details(searched)).toMatch(/refusing to fetch from 127\.0\.0\.1.*SVGVEC_FETCH_ALLOW_PRIVATE=true/);
      expect(corpus.requests.length).toBe(requests);
    } finally {
      await strict.close();
    }
  });
});
