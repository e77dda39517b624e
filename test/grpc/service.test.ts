/**
 * The svgvec.v1 service end to end: a real server on a loopback port, the
 * tiny generated model, Milvus Lite, and SVGs from OpenMoji over loopback HTTP.
 */
import * as grpc from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { AddOutcome, MilvusDeployment, type Image } from "../../src/gen/svgvec/v1/svgvec_pb.js";
import { code, details, failure } from "../helpers/calls.js";
import { HOSTILE_CASES } from "../helpers/hostile.js";
import { type Corpus, startCorpus } from "../helpers/corpus.js";
import { grpcurl } from "../helpers/grpcurl.js";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { waitFor } from "../helpers/wait.js";

const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

async function listAll(t: TestApp, req: { includeVectors?: boolean; limit?: bigint; pageSize?: number } = {}): Promise<Image[][]> {
  const pages: Image[][] = [];
  for await (const page of t.client.listImages(req)) pages.push(page.images);
  return pages;
}

describe("svgvec.v1 on Milvus Lite", () => {
  let corpus: Corpus;
  let t: TestApp;
  const count = async () => Number((await t.client.stats()).totalImages);

  beforeAll(async () => {
    corpus = await startCorpus();
    t = await startTestApp({ milvusAddress: inject("liteAddress") });
  });
  afterAll(async () => {
    await t.close();
    await corpus.close();
  });

  it("runs the seed system's demo: health, stats, add two, list, search, batch add, remove", async () => {
    const Health = grpc.makeGenericClientConstructor(healthService as unknown as grpc.ServiceDefinition, "Health");
    const health = new Health(t.app.address, grpc.credentials.createInsecure()) as unknown as {
      Check(req: { service: string }, cb: (e: Error | null, r: { status: string }) => void): void;
      close(): void;
    };
    const status = await new Promise<string>((res, rej) => health.Check({ service: "svgvec.v1.SvgVecService" }, (e, r) => (e ? rej(e) : res(r.status))));
    health.close();
    expect(status).toBe("SERVING");

    const stats = await t.client.stats();
    expect(stats.totalImages).toBe(0n);
    expect(stats.model?.dimension).toBe(512);
    expect(stats.metricType).toBe("IP");
    expect(stats.index?.type).toBe("IVF_FLAT");
    expect(stats.index?.params.nlist).toBe("1024");
    expect(stats.collectionName).toBe(t.config.milvus.collection);

    const dog = await t.client.addImage({ id: 101n, url: corpus.openmoji("1F436") });
    const cat = await t.client.addImage({ id: 102n, url: corpus.openmoji("1F431") });
    expect([dog.outcome, cat.outcome]).toEqual([AddOutcome.ADDED, AddOutcome.ADDED]);
    expect(dog.image?.url).toBe(corpus.openmoji("1F436"));

    const listed = (await listAll(t)).flat();
    expect(listed.map((i) => [i.id, i.url])).toEqual([
      [101n, corpus.openmoji("1F436")],
      [102n, corpus.openmoji("1F431")],
    ]);

    const { hits } = await t.client.search({ text: "dog", k: 5 });
    expect(hits.map((h) => h.id).sort()).toEqual([101n, 102n]);
    expect(hits[0]!.similarity).toBeGreaterThanOrEqual(hits[1]!.similarity);
    for (const h of hits) expect(Math.abs(h.similarity)).toBeLessThanOrEqual(1.0001);

    const batch = await t.client.streamAddImages([
      { id: 103n, url: corpus.openmoji("2764") },
      { id: 104n, url: corpus.openmoji("1F600") },
    ]);
    expect([batch.received, batch.added, batch.replaced, batch.failed]).toEqual([2n, 2n, 0n, 0n]);

    expect((await t.client.remove({ id: 101n })).removed).toBe(true);
    expect((await t.client.remove({ id: 101n })).removed).toBe(false);
    expect(await count()).toBe(3);
  });

  it("upserts: re-adding an id replaces url and vector, keeps added_at, moves updated_at", async () => {
    const first = await t.client.addImage({ id: 201n, url: corpus.openmoji("1F436"), includeVector: true });
    // updated_at has millisecond resolution: let the clock move past the first write.
    await waitFor(() => new Date().toISOString() > first.image!.updatedAt);
    const second = await t.client.addImage({ id: 201n, url: corpus.openmoji("2764"), includeVector: true });
    expect(second.outcome).toBe(AddOutcome.REPLACED);
    expect(second.image?.addedAt).toBe(first.image?.addedAt);
    expect(Date.parse(second.image!.updatedAt)).toBeGreaterThan(Date.parse(first.image!.updatedAt));
    expect(second.image?.vector).not.toEqual(first.image?.vector);
    const rows = (await listAll(t, { includeVectors: true })).flat().filter((i) => i.id === 201n);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.url).toBe(corpus.openmoji("2764"));
    expect(rows[0]?.addedAt).toBe(first.image?.addedAt);
    expect(rows[0]?.vector[0]).toBeCloseTo(second.image!.vector[0]!, 5);
  });

  it("returns the stored vector only when asked: 512 floats of unit length", async () => {
    const plain = await t.client.addImage({ id: 202n, url: corpus.openmoji("1F431") });
    expect(plain.image?.vector).toEqual([]);
    const withVector = await t.client.addImage({ id: 202n, url: corpus.openmoji("1F431"), includeVector: true });
    expect(withVector.image?.vector).toHaveLength(512);
    expect(norm(withVector.image!.vector)).toBeCloseTo(1, 4);
  });

  it("writes nothing when an add fails, and leaves an existing record as it was", async () => {
    const before = await count();
    const missing = await failure(t.client.addImage({ id: 301n, url: `${corpus.base}/status/404` }));
    expect(code(missing)).toBe(grpc.status.FAILED_PRECONDITION);
    expect(details(missing)).toMatch(/HTTP 404/);
    const html = await failure(t.client.addImage({ id: 301n, url: corpus.fixture("page.html") }));
    expect(code(html)).toBe(grpc.status.FAILED_PRECONDITION);
    expect(details(html)).toMatch(/not an SVG: the file is an HTML page/);
    const broken = await failure(t.client.addImage({ id: 301n, url: corpus.fixture("broken.svg") }));
    expect(details(broken)).toMatch(/cannot be parsed/);
    expect(await count()).toBe(before);

    const ok = await t.client.addImage({ id: 302n, url: corpus.openmoji("1F436") });
    await failure(t.client.addImage({ id: 302n, url: `${corpus.base}/status/500` }));
    const still = (await listAll(t)).flat().find((i) => i.id === 302n);
    expect(still?.url).toBe(corpus.openmoji("1F436"));
    expect(still?.updatedAt).toBe(ok.image?.updatedAt);
  });

  it("processes streamed items as they arrive and reports every failure", async () => {
    const before = await count();
    const items: Array<{ id?: bigint; url: string }> = [{ id: 401n, url: corpus.openmoji("1F436") }];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* source() {
      yield items[0]!;
      // Hold the stream open until the first item is stored: items must not wait for the end.
      await gate;
      yield { id: 402n, url: `${corpus.base}/status/404` };
      yield { url: corpus.openmoji("2764") };
      yield { id: 403n, url: "ftp://example.com/x.svg" };
      yield { id: 404n, url: corpus.fixture("viewbox-only.svg") };
      yield { id: 401n, url: corpus.openmoji("1F431") };
    }
    const done = t.client.streamAddImages(source());
    const deadline = Date.now() + 20_000;
    while ((await count()) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await count()).toBe(before + 1);
    release();
    const summary = await done;
    expect([summary.received, summary.added, summary.replaced, summary.failed]).toEqual([6n, 2n, 1n, 3n]);
    expect(summary.failures.map((f) => [f.index, f.id, f.code])).toEqual([
      [1n, 402n, "FAILED_PRECONDITION"],
      [2n, 0n, "INVALID_ARGUMENT"],
      [3n, 403n, "INVALID_ARGUMENT"],
    ]);
    expect(summary.failures[0]?.reason).toMatch(/HTTP 404/);
    expect(summary.failures[1]?.reason).toMatch(/id: is required/);
    expect(summary.failures[2]?.reason).toMatch(/scheme ftp: is not supported/);
    expect(await count()).toBe(before + 2);
  });

  it("searches with k defaulting to 10, best first", async () => {
    const hexes = ["1F600", "1F601", "1F602", "1F603", "1F604", "1F605", "1F606", "1F607", "1F608", "1F609", "1F60A", "1F60B"];
    const summary = await t.client.streamAddImages(hexes.map((h, i) => ({ id: BigInt(500 + i), url: corpus.openmoji(h) })));
    expect(summary.failed).toBe(0n);
    const all = await t.client.search({ text: "smiling face" });
    expect(all.hits).toHaveLength(10);
    for (let i = 1; i < all.hits.length; i++) expect(all.hits[i - 1]!.similarity).toBeGreaterThanOrEqual(all.hits[i]!.similarity);
    const three = await t.client.search({ text: "smiling face", k: 3 });
    expect(three.hits.map((h) => h.id)).toEqual(all.hits.slice(0, 3).map((h) => h.id));
    const max = await t.client.search({ text: "smiling face", k: 16384 });
    expect(max.hits).toHaveLength(await count());
  });

  it("lists in pages, with a limit, vectors only when asked", async () => {
    const total = await count();
    const pages = await listAll(t, { pageSize: 3 });
    expect(pages.flat()).toHaveLength(total);
    expect(pages.every((p) => p.length <= 3)).toBe(true);
    expect(pages.flat().every((i) => i.vector.length === 0)).toBe(true);
    const limited = (await listAll(t, { limit: 4n, includeVectors: true })).flat();
    expect(limited).toHaveLength(4);
    expect(limited.every((i) => i.vector.length === 512)).toBe(true);
    expect(limited.map((i) => i.id)).toEqual(pages.flat().slice(0, 4).map((i) => i.id));
  });

  describe("refuses bad input with INVALID_ARGUMENT, a message that says what to fix, and no write", () => {
    const longUrl = `https://example.com/${"a".repeat(2000)}.svg`;
    const cases: Array<[string, (t: TestApp) => Promise<unknown>, RegExp]> = [
      ["AddImage without id", (t) => t.client.addImage({ url: "https://example.com/a.svg" }), /id: is required/],
      ["AddImage without url", (t) => t.client.addImage({ id: 1n }), /url: is required/],
      ["AddImage with a 2,024-character url", (t) => t.client.addImage({ id: 1n, url: longUrl }), /url: is 2024 bytes of UTF-8; at most 2000 bytes/],
      [
        "AddImage with a url of 700 CJK characters (2,124 bytes)",
        (t) => t.client.addImage({ id: 1n, url: `https://example.com/${"\u4e2d".repeat(700)}.svg` }),
        /url: is 2124 bytes of UTF-8; at most 2000 bytes fit the store \(non-ASCII characters take 2 to 4 bytes each\), so send a shorter URL/,
      ],
      ["AddImage with a relative url", (t) => t.client.addImage({ id: 1n, url: "icons/a.svg" }), /not an absolute URL/],
      ["AddImage with a file: url", (t) => t.client.addImage({ id: 1n, url: "file:///etc/passwd" }), /scheme file: is not supported/],
      ["Search with empty text", (t) => t.client.search({ text: "" }), /text: is empty/],
      ["Search with blank text", (t) => t.client.search({ text: " \t\n" }), /text: is empty/],
      ["Search with 1,001 characters", (t) => t.client.search({ text: "a".repeat(1001) }), /text: is 1001 characters; send at most 1000/],
      ["Search with k 0", (t) => t.client.search({ text: "dog", k: 0 }), /k: is 0; send a number from 1 to 16384/],
      ["Search with k -3", (t) => t.client.search({ text: "dog", k: -3 }), /k: is -3/],
      ["Search with k 16,385", (t) => t.client.search({ text: "dog", k: 16385 }), /k: is 16385/],
      ["Remove without id", (t) => t.client.remove({}), /id: is required/],
      [
        "ListImages with page_size 16,385",
        async (t) => {
          for await (const _ of t.client.listImages({ pageSize: 16385 })) void _;
        },
        /page_size: is 16385/,
      ],
    ];
    it.each(cases)("%s", async (_name, call, message) => {
      const before = await count();
      const err = await failure(call(t));
      expect(code(err)).toBe(grpc.status.INVALID_ARGUMENT);
      expect(details(err)).toMatch(message);
      expect(await count()).toBe(before);
    });

    it("answers RESOURCE_EXHAUSTED for a message over 4 MiB", async () => {
      const err = await failure(t.client.addImage({ id: 1n, url: `https://example.com/${"a".repeat(5 * 1024 * 1024)}` }));
      expect(code(err)).toBe(grpc.status.RESOURCE_EXHAUSTED);
    });

    it.each([
      ["an id varint that never ends", [0x08, 0xff, 0xff, 0xff], /premature EOF/],
      ["an id varint longer than 64 bits", [0x08, ...Array<number>(10).fill(0xff), 0x01], /invalid varint/],
      ["a url that is not UTF-8", [0x08, 0x01, 0x12, 0x02, 0xff, 0xfe], /not valid for encoding utf-8/],
    ])("answers INVALID_ARGUMENT, not INTERNAL, for AddImage bytes with %s", async (_what, bytes, why) => {
      const before = await count();
      const raw = new grpc.Client(t.app.address, grpc.credentials.createInsecure());
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        raw.makeUnaryRequest(`/svgvec.v1.SvgVecService/AddImage`, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(bytes), (e) => resolve(e)),
      );
      raw.close();
      expect(code(err)).toBe(grpc.status.INVALID_ARGUMENT);
      expect(details(err)).toMatch(/^request: is not a valid svgvec\.v1\.AddImageRequest message/);
      expect(details(err)).toMatch(why);
      expect(await count()).toBe(before);
    });

    it("answers RESOURCE_EXHAUSTED for a 5 MiB search text", async () => {
      const err = await failure(t.client.search({ text: "a".repeat(5 * 1024 * 1024) }));
      expect(code(err)).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(details(err)).toMatch(/larger than max/);
    });

    const M = "svgvec.v1.SvgVecService";
    it.each([
      ["an id above int64", "AddImage", '{"id": "9223372036854775808", "url": "https://example.com/a.svg"}', /"9223372036854775808": value out of range/],
      ["an id below int64", "AddImage", '{"id": "-9223372036854775809", "url": "https://example.com/a.svg"}', /value out of range/],
      ["a text id", "AddImage", '{"id": "abc", "url": "https://example.com/a.svg"}', /parsing "abc": invalid syntax/],
      ["a fractional id", "AddImage", '{"id": 1.5, "url": "https://example.com/a.svg"}', /parsing "1.5": invalid syntax/],
      ["a numeric url", "AddImage", '{"id": 1, "url": 7}', /expecting string/],
      ["a misspelt field", "AddImage", '{"id": 1, "uri": "https://example.com/a.svg"}', /no known field named uri/],
      ["a text k", "Search", '{"text": "dog", "k": "lots"}', /parsing "lots": invalid syntax/],
      ["a k above uint32", "Search", '{"text": "dog", "k": 4294967296}', /out of range/],
      ["a text id", "Remove", '{"id": "one"}', /invalid syntax/],
    ])("grpcurl refuses %s for %s before anything is sent", async (_what, method, json, message) => {
      const before = await count();
      const r = await grpcurl(["-plaintext", "-d", json, t.app.address, `${M}/${method}`]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(await count()).toBe(before);
    });

    it.each([
      ["AddImage", '{"id": "5", "url": "ftp://example.com/a.svg"}', "InvalidArgument", /url: scheme ftp: is not supported; use http or https/],
      ["AddImage", '{"url": "https://example.com/a.svg"}', "InvalidArgument", /id: is required/],
      ["AddImage", '{"id": "6", "url": "https://user:secret@example.com/a.svg"}', "InvalidArgument", /url: carries credentials \(user:password@\).*send a URL without them/],
      ["Search", '{"text": "dog", "k": 0}', "InvalidArgument", /k: is 0; send a number from 1 to 16384/],
      ["Search", '{"text": "dog", "k": 16385}', "InvalidArgument", /k: is 16385/],
      ["Search", '{"text": ""}', "InvalidArgument", /text: is empty/],
    ])("answers grpcurl's %s %s with %s and a fix", async (method, json, codeName, message) => {
      const before = await count();
      const r = await grpcurl(["-plaintext", "-d", json, t.app.address, `${M}/${method}`]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`Code: ${codeName}`));
      expect(r.stderr).toMatch(message);
      expect(await count()).toBe(before);
    });

    it("reports each of 10,000 invalid streamed items, lists the first 1,000, and writes nothing", async () => {
      const before = await count();
      const bad = [
        (i: number) => ({ id: BigInt(i), url: "" }),
        (i: number) => ({ id: BigInt(i), url: "gopher://example.com/a.svg" }),
        (i: number) => ({ url: `https://example.com/${i}.svg` }),
        (i: number) => ({ id: BigInt(i), url: `https://example.com/${"x".repeat(2001)}` }),
      ];
      const res = await t.client.streamAddImages(Array.from({ length: 10_000 }, (_, i) => bad[i % 4]!(i)));
      expect(Number(res.received)).toBe(10_000);
      expect(Number(res.failed)).toBe(10_000);
      expect(Number(res.added + res.replaced + res.unchanged)).toBe(0);
      expect(res.failures).toHaveLength(1000);
      expect(res.failures.map((f) => Number(f.index))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      expect(res.failures.every((f) => f.code === "INVALID_ARGUMENT")).toBe(true);
      expect(res.failures.slice(0, 4).map((f) => f.reason)).toEqual([
        expect.stringMatching(/url: is required/),
        expect.stringMatching(/scheme gopher: is not supported/),
        expect.stringMatching(/id: is required/),
        expect.stringMatching(/url: is 2021 bytes of UTF-8; at most 2000 bytes/),
      ]);
      expect(await count()).toBe(before);
    });
  });

  it("takes the hostile SVG corpus in one stream: safe ones stored, the rest reported, the server unharmed", async () => {
    const cases = HOSTILE_CASES.filter((c) => c.outcome !== "times out");
    const before = await count();
    const res = await t.client.streamAddImages(cases.map((c, i) => ({ id: BigInt(900_000 + i), url: corpus.hostile(c.name) })));
    const failed = new Map(res.failures.map((f) => [Number(f.index), f]));
    cases.forEach((c, i) => {
      if (c.outcome === "renders") {
        expect(failed.get(i), c.name).toBeUndefined();
      } else {
        expect(failed.get(i)?.code, c.name).toBe("FAILED_PRECONDITION");
        expect(failed.get(i)?.reason, c.name).toMatch(c.outcome as RegExp);
      }
    });
    expect(await count()).toBe(before + cases.filter((c) => c.outcome === "renders").length);
    expect(corpus.requests.filter((r) => r.path.startsWith("/canary/"))).toEqual([]);
    expect((await t.client.search({ text: "still serving" })).hits.length).toBeGreaterThan(0);
  });

  it("describes itself through reflection and works from grpcurl", async () => {
    const list = await grpcurl(["-plaintext", t.app.address, "list"]);
    expect(list.stdout.split("\n").filter(Boolean).sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "svgvec.v1.SvgVecService",
    ]);
    const describe = await grpcurl(["-plaintext", t.app.address, "describe", "svgvec.v1.SvgVecService"]);
    expect(describe.stdout).toContain("rpc StreamAddImages ( stream .svgvec.v1.StreamAddImagesRequest ) returns ( .svgvec.v1.StreamAddImagesResponse )");
    expect(describe.stdout).toContain("rpc ListImages ( .svgvec.v1.ListImagesRequest ) returns ( stream .svgvec.v1.ListImagesResponse )");
    const add = await grpcurl(["-plaintext", "-d", JSON.stringify({ id: "9007199254740993", url: corpus.openmoji("1F436") }), t.app.address, "svgvec.v1.SvgVecService/AddImage"]);
    expect(add.code).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({ image: { id: "9007199254740993" }, outcome: "ADD_OUTCOME_ADDED" });
    const search = await grpcurl(["-plaintext", "-d", '{"text": "dog", "k": 2}', t.app.address, "svgvec.v1.SvgVecService/Search"]);
    expect((JSON.parse(search.stdout) as { hits: unknown[] }).hits).toHaveLength(2);
    const bad = await grpcurl(["-plaintext", "-d", '{"text": ""}', t.app.address, "svgvec.v1.SvgVecService/Search"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Code: InvalidArgument[\s\S]*text: is empty/);
    const health = await grpcurl(["-plaintext", t.app.address, "grpc.health.v1.Health/Check"]);
    expect(JSON.parse(health.stdout)).toEqual({ status: "SERVING" });
    expect((await grpcurl(["-plaintext", "-d", '{"id": "9007199254740993"}', t.app.address, "svgvec.v1.SvgVecService/Remove"])).stdout).toMatch(/"removed": true/);
  });

  it("reports the model, collection, index and Milvus in Stats", async () => {
    const s = await t.client.stats();
    expect(s.model).toMatchObject({ name: "ViT-B-32", pretrained: "tiny_random", dimension: 512, visualBatch: 1 });
    expect(s.milvus?.address).toBe(inject("liteAddress"));
    expect(s.totalImages).toBe(BigInt((await listAll(t)).flat().length));
    expect([MilvusDeployment.LITE, MilvusDeployment.UNSPECIFIED]).toContain(s.milvus?.deployment);
  });
});

describe("svgvec.v1 with the default address policy", () => {
  it("refuses loopback URLs with INVALID_ARGUMENT and says how to allow them", async () => {
    const corpus = await startCorpus();
    const t = await startTestApp({ milvusAddress: inject("liteAddress"), env: { SVGVEC_FETCH_ALLOW_PRIVATE: "false" } });
    try {
      const err = await failure(t.client.addImage({ id: 1n, url: corpus.openmoji("1F436") }));
      expect(code(err)).toBe(grpc.status.INVALID_ARGUMENT);
      expect(details(err)).toMatch(/refusing to fetch from 127\.0\.0\.1.*SVGVEC_FETCH_ALLOW_PRIVATE=true/);
      expect(corpus.requests).toHaveLength(0);
      expect((await t.client.stats()).totalImages).toBe(0n);
    } finally {
      await t.close();
      await corpus.close();
    }
  });
});
