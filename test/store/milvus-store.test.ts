import { DataType, MilvusClient } from "@zilliz/milvus2-sdk-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { SchemaMismatchError, StoreRejectedError, StoreUnavailableError } from "../../src/errors.js";
import { MilvusStore, SCHEMA, type ImageRow } from "../../src/store/milvus-store.js";
import { row, uniqueCollection, unitVector } from "../helpers/milvus.js";

const servers = [
  ["Milvus Lite", "liteAddress"],
  ["Milvus standalone", "standaloneAddress"],
] as const;

describe.each(servers)("MilvusStore on %s", (_name, key) => {
  const address = inject(key);
  let raw: MilvusClient;
  beforeAll(() => {
    raw = new MilvusClient({ address, logLevel: "error" });
  });
  afterAll(async () => {
    await raw.closeConnection();
  });

  const open = (collection: string) => MilvusStore.open({ address, token: "", collection });

  it("creates the collection with the seed system's schema and index", async () => {
    const collection = uniqueCollection("schema");
    const store = await open(collection);
    try {
      const desc = await raw.describeCollection({ collection_name: collection });
      const fields = desc.schema.fields.map((f) => [f.name, f.data_type, f.is_primary_key, f.autoID]);
      expect(fields).toEqual([
        ["id", "Int64", true, false],
        ["url", "VarChar", false, false],
        ["vector", "FloatVector", false, false],
        ["added_at", "VarChar", false, false],
        ["updated_at", "VarChar", false, false],
      ]);
      const params = Object.fromEntries(desc.schema.fields.flatMap((f) => f.type_params.map((p) => [`${f.name}.${p.key}`, String(p.value)])));
      expect(params).toMatchObject({ "url.max_length": "2000", "vector.dim": "512", "added_at.max_length": "50", "updated_at.max_length": "50" });
      const info = await store.info();
      expect([info.indexType, info.metricType, info.indexParams.nlist]).toEqual(["IVF_FLAT", "IP", "1024"]);
      // Opening again checks the existing collection and leaves it as it is.
      await store.upsert([row(1n)]);
      const again = await open(collection);
      expect(await again.count()).toBe(1);
      await again.close();
    } finally {
      await store.close();
    }
  });

  it("refuses a collection with another schema and says what differs", async () => {
    const collection = uniqueCollection("mismatch");
    await raw.createCollection({
      collection_name: collection,
      fields: [
        { name: "id", data_type: DataType.Int64, is_primary_key: true, autoID: false },
        { name: "url", data_type: DataType.VarChar, max_length: 500 },
        { name: "vector", data_type: DataType.FloatVector, dim: 256 },
        { name: "added_at", data_type: DataType.VarChar, max_length: 50 },
      ],
    });
    const err = await open(collection).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaMismatchError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/"url" has max_length 500, expected 2000/);
    expect(msg).toMatch(/"vector" has dim 256, expected 512/);
    expect(msg).toMatch(/"updated_at" is missing/);
    // Nothing was altered.
    const desc = await raw.describeCollection({ collection_name: collection });
    expect(desc.schema.fields).toHaveLength(4);
  });

  it("refuses a vector index with another metric", async () => {
    const collection = uniqueCollection("metric");
    const store = await open(collection);
    await store.close();
    await raw.releaseCollection({ collection_name: collection });
    await raw.dropIndex({ collection_name: collection, field_name: "vector" });
    await raw.createIndex({ collection_name: collection, field_name: "vector", index_type: "IVF_FLAT", metric_type: "L2", params: { nlist: 128 } });
    const index = await raw.describeIndex({ collection_name: collection, field_name: "vector" });
    const metric = index.index_descriptions[0]?.params.find((p) => p.key === "metric_type")?.value;
    if (key === "liteAddress") {
      // Milvus Lite acknowledges dropIndex and createIndex but keeps its first index, so no mismatch can arise there.
      expect(metric).toBe("IP");
      return;
    }
    expect(metric).toBe("L2");
    await expect(open(collection)).rejects.toThrow(/metric L2, svgvec needs IP/);
  });

  describe("records", () => {
    let store: MilvusStore;
    beforeAll(async () => {
      store = await open(uniqueCollection("records"));
    });
    afterAll(() => store.close());

    it("upserts: one row per id, the last write wins", async () => {
      await store.upsert([row(10n, "https://example.com/a.svg")]);
      await store.upsert([{ ...row(10n, "https://example.com/b.svg", unitVector(99)), updatedAt: "2026-02-02T00:00:00.000Z" }]);
      expect(await store.count()).toBe(1);
      const got = await store.get(10n, true);
      expect(got?.url).toBe("https://example.com/b.svg");
      expect(got?.updatedAt).toBe("2026-02-02T00:00:00.000Z");
      expect(got?.vector?.[0]).toBeCloseTo(unitVector(99)[0]!, 5);
      expect((await store.existing([10n, 11n])).get(10n)).toEqual({ addedAt: "2026-01-01T00:00:00.000Z", url: "https://example.com/b.svg" });
      expect((await store.existing([10n, 11n])).has(11n)).toBe(false);
    });

    it("keeps int64 ids exactly, beyond 2^53 and below zero", async () => {
      const big = 9_007_199_254_740_993n;
      await store.upsert([row(big), row(-5n)]);
      expect((await store.get(big))?.id).toBe(big);
      expect((await store.get(-5n))?.id).toBe(-5n);
    });

    it("finds, gets and removes the smallest int64 id, and not its neighbour", async () => {
      const min = -9_223_372_036_854_775_808n;
      await store.upsert([row(min, "https://example.com/min.svg", unitVector(1)), row(min + 1n, "https://example.com/next.svg", unitVector(2))]);
      expect((await store.get(min))?.url).toBe("https://example.com/min.svg");
      expect((await store.get(min + 1n))?.url).toBe("https://example.com/next.svg");
      expect([...(await store.existing([min, 7n])).keys()]).toEqual([min]);
      expect(await store.remove(min)).toBe(true);
      expect(await store.get(min)).toBeUndefined();
      expect((await store.get(min + 1n))?.id).toBe(min + 1n);
      expect(await store.remove(min)).toBe(false);
      expect(await store.remove(min + 1n)).toBe(true);
    });

    it("removes by id and says whether it existed", async () => {
      await store.upsert([row(20n)]);
      expect(await store.remove(20n)).toBe(true);
      expect(await store.remove(20n)).toBe(false);
      expect(await store.remove(123456789n)).toBe(false);
      expect(await store.get(20n)).toBeUndefined();
    });

    it("searches by inner product, best first", async () => {
      await store.upsert([row(30n), row(31n), row(32n)]);
      const hits = await store.search(unitVector(31), 3, 16);
      expect(hits[0]?.id).toBe(31n);
      expect(hits[0]?.similarity).toBeCloseTo(1, 4);
      for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.similarity).toBeGreaterThanOrEqual(hits[i]!.similarity);
    });
  });

  it("probes at most the index's nlist, read from Milvus", async () => {
    const collection = uniqueCollection("nlist");
    await raw.createCollection({ collection_name: collection, fields: SCHEMA, consistency_level: "Strong" });
    await raw.createIndex({ collection_name: collection, field_name: "vector", index_type: "IVF_FLAT", metric_type: "IP", params: { nlist: 128 } });
    const store = await open(collection);
    const own = await open(uniqueCollection("nlist_own"));
    try {
      expect([store.nprobeFor(16), store.nprobeFor(128), store.nprobeFor(65_536)]).toEqual([16, 128, 128]);
      expect(own.nprobeFor(65_536)).toBe(1024);
      await store.upsert([row(1n), row(2n)]);
      expect((await store.search(unitVector(2), 2, 65_536))[0]?.id).toBe(2n);
    } finally {
      await store.close();
      await own.close();
    }
  });

  it.each([
    ["HNSW", { M: "8", efConstruction: "64" }, { ef: 64 }],
    ["IVF_SQ8", { nlist: "64" }, { nprobe: 16 }],
  ] as const)("builds a %s index when configured for a new collection, searches it, and keeps an existing index", async (type, built, searched) => {
    const collection = uniqueCollection(`index_${type.toLowerCase()}`);
    const spec = { type, nlist: 64, m: 8, efConstruction: 64 };
    if (key === "liteAddress") {
      // Milvus Lite builds only FLAT, IVF_FLAT and AUTOINDEX; configuration refuses the others with it.
      await expect(MilvusStore.open({ address, token: "", collection, index: spec })).rejects.toThrow(
        new RegExp(`Milvus refused createIndex .*${type}.*FLAT IVF_FLAT`),
      );
      return;
    }
    const store = await MilvusStore.open({ address, token: "", collection, index: spec, searchEf: 64 });
    try {
      const info = await store.info();
      expect([info.indexType, info.metricType]).toEqual([type, "IP"]);
      expect(info.indexParams).toMatchObject(built);
      expect(store.searchParams(10, 16)).toEqual(searched);
      // HNSW needs ef of at least k: a larger k raises it.
      if (type === "HNSW") expect(store.searchParams(500, 16)).toEqual({ ef: 500 });
      await store.upsert([row(1n), row(2n), row(3n)]);
      await store.flush();
      const hits = await store.search(unitVector(2), 3, 16);
      expect(hits.map((h) => h.id)[0]).toBe(2n);
      expect(hits).toHaveLength(3);
      // Opened again with the default (IVF_FLAT) setting, the collection keeps the index it has.
      const again = await MilvusStore.open({ address, token: "", collection });
      try {
        expect([again.vectorIndexType, (await again.info()).indexType]).toEqual([type, type]);
        expect((await again.search(unitVector(3), 1, 16))[0]?.id).toBe(3n);
      } finally {
        await again.close();
      }
    } finally {
      await store.close();
    }
  });

  it("gets, finds, lists and removes the two smallest int64 ids", async () => {
    // Milvus cannot parse -9223372036854775808 as a literal, and the SDK's query iterator starts after -9223372036854775807.
    const min = -(2n ** 63n);
    const store = await open(uniqueCollection("int64_min"));
    const list = async (limit: number, pageSize: number) => {
      const ids: bigint[] = [];
      for await (const page of store.list({ includeVectors: false, limit, pageSize })) {
        expect(page.length).toBeLessThanOrEqual(pageSize);
        ids.push(...page.map((r) => r.id));
      }
      return ids;
    };
    try {
      await store.upsert([row(min), row(min + 1n), row(7n)]);
      expect((await store.get(min))?.id).toBe(min);
      expect(new Set((await store.existing([min, min + 1n, 8n])).keys())).toEqual(new Set([min, min + 1n]));
      expect(await list(0, 1)).toEqual([min, min + 1n, 7n]);
      expect(await list(1, 5)).toEqual([min]);
      expect(await list(2, 5)).toEqual([min, min + 1n]);
      expect(await list(3, 2)).toEqual([min, min + 1n, 7n]);
      expect(await store.remove(min)).toBe(true);
      expect(await store.remove(min)).toBe(false);
      expect(await store.get(min)).toBeUndefined();
      expect(await list(0, 1000)).toEqual([min + 1n, 7n]);
    } finally {
      await store.close();
    }
  });

  it("finds no record, with or without vectors, in a collection that has never held one", async () => {
    // Milvus Lite refuses a query for the vector field there instead of finding no rows.
    const store = await open(uniqueCollection("never_written"));
    try {
      expect(await store.get(1n, true)).toBeUndefined();
      expect(await store.get(-(2n ** 63n), true)).toBeUndefined();
      const pages: unknown[] = [];
      for await (const page of store.list({ includeVectors: true, limit: 0, pageSize: 100 })) pages.push(page);
      expect(pages).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("lists more than 16,384 records, in id order, every one once", async () => {
    const store = await open(uniqueCollection("many"));
    try {
      const total = 16_500;
      for (let start = 0; start < total; start += 2_500) {
        const rows: ImageRow[] = [];
        for (let i = start; i < Math.min(total, start + 2_500); i++) rows.push(row(BigInt(i - 100)));
        await store.upsert(rows);
      }
      expect(await store.count()).toBe(total);
      const seen: bigint[] = [];
      const sizes: number[] = [];
      for await (const page of store.list({ includeVectors: false, limit: 0, pageSize: 5_000 })) {
        sizes.push(page.length);
        for (const r of page) seen.push(r.id);
      }
      // Full pages across Milvus's read chunks (8,192 records): only the last is short.
      expect(sizes).toEqual([5_000, 5_000, 5_000, 1_500]);
      const small: number[] = [];
      for await (const page of store.list({ includeVectors: true, limit: 2_500, pageSize: 1_000 })) small.push(page.length);
      expect(small).toEqual([1_000, 1_000, 500]);
      expect(seen).toHaveLength(total);
      expect(new Set(seen).size).toBe(total);
      expect(seen[0]).toBe(-100n);
      expect(seen.every((id, i) => i === 0 || id > seen[i - 1]!)).toBe(true);

      const limited: bigint[] = [];
      for await (const page of store.list({ includeVectors: true, limit: 17, pageSize: 5 })) {
        for (const r of page) {
          expect(r.vector).toHaveLength(512);
          limited.push(r.id);
        }
      }
      expect(limited).toEqual(seen.slice(0, 17));
    } finally {
      await store.close();
    }
  });

  it("lists the smallest int64 ids too, in id order, within the limit and page size", async () => {
    const store = await open(uniqueCollection("extremes"));
    // Not 2^63-1 at the top: Milvus 2.3 standalone stores and searches it, but no query returns it.
    const ids = [-9_223_372_036_854_775_808n, -9_223_372_036_854_775_807n, -9_223_372_036_854_775_806n, 9_223_372_036_854_775_806n];
    const pages = async (limit: number, pageSize: number): Promise<bigint[][]> => {
      const out: bigint[][] = [];
      for await (const page of store.list({ includeVectors: false, limit, pageSize })) out.push(page.map((r) => r.id));
      return out;
    };
    try {
      await store.upsert(ids.map((id, i) => row(id, undefined, unitVector(i + 1))));
      expect((await pages(0, 1_000)).flat()).toEqual(ids);
      expect(await pages(0, 1)).toEqual(ids.map((id) => [id]));
      expect((await pages(3, 2)).flat()).toEqual(ids.slice(0, 3));
      expect(await pages(1, 5)).toEqual([ids.slice(0, 1)]);
    } finally {
      await store.close();
    }
  });

  it("lists the smallest int64 id when -9223372036854775807 is not stored, and every id after it", async () => {
    // The listing goes on after the last id it has read; "id > -9223372036854775808" is not a filter Milvus reads right.
    const min = -(2n ** 63n);
    const store = await open(uniqueCollection("int64_min_alone"));
    const list = async (limit: number, pageSize: number): Promise<bigint[]> => {
      const ids: bigint[] = [];
      for await (const page of store.list({ includeVectors: false, limit, pageSize })) ids.push(...page.map((r) => r.id));
      return ids;
    };
    try {
      await store.upsert([row(min), row(-3n), row(5n)]);
      expect(await list(0, 1_000)).toEqual([min, -3n, 5n]);
      expect(await list(2, 1)).toEqual([min, -3n]);
    } finally {
      await store.close();
    }
  });

  // Reads after the first wait for Milvus's clock to reach this host's at the call's start.
  it.each([
    ["a minute ahead of", 60_000],
    ["two days ahead of", 2 * 86_400_000],
    ["a minute behind", -60_000],
    ["a year behind", -365 * 86_400_000],
  ])("lists every record acknowledged before the call when this host's clock is %s Milvus's", async (_what, skew) => {
    const store = await open(uniqueCollection("skew"));
    try {
      const ids = Array.from({ length: 40 }, (_, i) => BigInt(i * 3 - 50));
      await store.upsert(ids.map((id) => row(id)));
      const realNow = Date.now;
      const listed: bigint[] = [];
      Date.now = () => realNow.call(Date) + skew;
      try {
        for await (const page of store.list({ includeVectors: false, limit: 0, pageSize: 7 })) listed.push(...page.map((r) => r.id));
      } finally {
        Date.now = realNow;
      }
      expect(listed).toEqual(ids);
    } finally {
      await store.close();
    }
  }, 20_000);
});

/** What only a full Milvus does: Milvus Lite behaves otherwise, as the comments say, so these run on the standalone alone. */
describe("MilvusStore on a full Milvus (standalone)", () => {
  const address = inject("standaloneAddress");
  let raw: MilvusClient;
  beforeAll(() => {
    raw = new MilvusClient({ address, logLevel: "error" });
  });
  afterAll(async () => {
    await raw.closeConnection();
  });

  const open = (collection: string) => MilvusStore.open({ address, token: "", collection });

  // A full Milvus measures VARCHAR(2000) in bytes and refuses it (Milvus Lite stores such a url).
  it("refuses a url over 2,000 UTF-8 bytes as a rejected record, not as Milvus unreachable", async () => {
    const store = await open(uniqueCollection("cjk"));
    try {
      const url = `https://example.com/${"中".repeat(700)}.svg`;
      expect(url.length).toBeLessThan(2000);
      const err = await store.upsert([row(1n), row(2n, url)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreRejectedError);
      expect(err).not.toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreRejectedError).rowsRefused).toBe(true);
      expect((err as StoreRejectedError).reason).toMatch(/exceeds max length \(2000\)/);
      expect((err as Error).message).toMatch(/Milvus refused to store the record .*sending it again unchanged fails the same way/);
      expect(await store.count()).toBe(0);
    } finally {
      await store.close();
    }
  });

  it("searches an HNSW index for k up to 16,384 and with SVGVEC_SEARCH_EF at its largest", async () => {
    const spec = { type: "HNSW" as const, nlist: 64, m: 8, efConstruction: 64 };
    const collection = uniqueCollection("hnsw_k");
    const store = await MilvusStore.open({ address, token: "", collection, index: spec, searchEf: 65_536 });
    try {
      await store.upsert([1n, 2n, 3n, 4n].map((id) => row(id)));
      await store.flush();
      for (const k of [1, 4, 16_384]) {
        const hits = await store.search(unitVector(2), k, 65_536);
        expect(hits[0]?.id).toBe(2n);
        expect(hits).toHaveLength(Math.min(k, 4));
      }
    } finally {
      await store.close();
    }
  });

  // Milvus Lite searches a released collection all the same; a full Milvus refuses until it is loaded.
  it("answers a collection that is not loaded as unavailable: it loads again after a restart", async () => {
    const collection = uniqueCollection("released");
    const store = await open(collection);
    try {
      await raw.releaseCollection({ collection_name: collection });
      const err = await store.search(unitVector(1), 1, 16).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).toMatch(/collection not loaded.*retry with backoff/);
    } finally {
      await store.close();
    }
  });

  // svgvec index rebuild releases the collection while other replicas search it.
  it("answers searches cut off by a release of the collection as unavailable, not as a refusal", async () => {
    const collection = uniqueCollection("released_midway");
    const store = await open(collection);
    try {
      await store.upsert(Array.from({ length: 20 }, (_, i) => row(BigInt(i + 1))));
      // Strong searches wait for Milvus's next time tick, so some are usually waiting when the
      // release comes; when all finished first, load the collection and try again (a few rounds).
      let failures: unknown[] = [];
      for (let round = 0; round < 5 && failures.length === 0; round++) {
        if (round > 0) await raw.loadCollectionSync({ collection_name: collection });
        const searches = Array.from({ length: 40 }, () => store.search(unitVector(3), 5, 16).then(() => undefined, (e: unknown) => e));
        await raw.releaseCollection({ collection_name: collection });
        failures = (await Promise.all(searches)).filter((e) => e !== undefined);
      }
      expect(failures.length).toBeGreaterThan(0);
      for (const e of failures) {
        expect(e, (e as Error).message).toBeInstanceOf(StoreUnavailableError);
        expect((e as Error).message).toMatch(/retry with backoff/);
      }
    } finally {
      await store.close();
    }
  });
});
