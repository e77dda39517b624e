/**
 * svgvec index rebuild against a Milvus standalone: the built bin replaces the collection's vector
 * index, keeps its rows, and a store opened afterwards searches with the new index.
 */
import { describe, expect, inject, it } from "vitest";
import { freePort } from "../../src/store/milvus-lite.js";
import { MilvusStore } from "../../src/store/milvus-store.js";
import { svgvec } from "../helpers/cli-run.js";
import { row, uniqueCollection, unitVector } from "../helpers/milvus.js";

describe("svgvec index rebuild", () => {
  const address = inject("standaloneAddress");

  it("replaces IVF_FLAT with HNSW only when told --yes, keeping every row", async () => {
    const collection = uniqueCollection("rebuild");
    const store = await MilvusStore.open({ address, token: "", collection });
    try {
      await store.upsert([1n, 2n, 3n, 4n, 5n].map((id) => row(id)));
      await store.flush();
      const env = { SVGVEC_MILVUS_ADDRESS: address, SVGVEC_COLLECTION: collection, SVGVEC_INDEX_TYPE: "HNSW", SVGVEC_INDEX_HNSW_M: "8" };

      const asked = await svgvec(["index", "rebuild"], { env });
      expect(asked.code).toBe(2);
      expect(asked.stderr).toContain(`would replace IVF_FLAT {"nlist":"1024"} of collection ${collection} on ${address} with HNSW {"M":8,"efConstruction":200}`);
      expect(asked.stderr).toContain("--yes");
      expect((await store.info()).indexType).toBe("IVF_FLAT");

      // The index it already has: nothing to rebuild, with or without --yes.
      const same = await svgvec(["index", "rebuild", "--yes"], { env: { ...env, SVGVEC_INDEX_TYPE: "IVF_FLAT" } });
      expect([same.code, same.stdout]).toEqual([0, `collection ${collection} on ${address} already has IVF_FLAT {"nlist":"1024"}; nothing to do (set SVGVEC_INDEX_* to the index you want)\n`]);

      const done = await svgvec(["index", "rebuild", "--yes"], { env });
      expect(done.stderr).toContain("replacing IVF_FLAT");
      // Flushed first, so the progress counts every row, not only those already sealed.
      expect(done.stderr).toContain("indexed 5 of 5 rows");
      expect(done.code).toBe(0);
      expect(done.stdout).toBe(`collection ${collection} on ${address} now has HNSW {"M":"8","efConstruction":"200"}\n`);

      const after = await MilvusStore.open({ address, token: "", collection });
      try {
        expect(after.vectorIndexType).toBe("HNSW");
        expect(after.searchParams(10, 16)).toEqual({ ef: 64 });
        expect(await after.count()).toBe(5);
        expect((await after.search(unitVector(4), 1, 16))[0]?.id).toBe(4n);
      } finally {
        await after.close();
      }
    } finally {
      await store.close();
    }
  });

  it("refuses a collection that does not exist instead of creating it", async () => {
    const missing = uniqueCollection("rebuild_missing");
    const run = await svgvec(["index", "rebuild", "--yes"], { env: { SVGVEC_MILVUS_ADDRESS: address, SVGVEC_COLLECTION: missing, SVGVEC_INDEX_TYPE: "HNSW" } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`has no collection ${missing}`);
    expect(run.stderr).toContain("check SVGVEC_COLLECTION");
    const probe = await MilvusStore.open({ address, token: "", collection: missing, mustExist: true }).catch((e: unknown) => e);
    expect(probe).toBeInstanceOf(Error);
  });

  it("fails with exit 1 and says what to check when nothing listens at the Milvus address", async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const run = await svgvec(["index", "rebuild", "--yes"], { env: { SVGVEC_MILVUS_ADDRESS: address, SVGVEC_COLLECTION: uniqueCollection("rebuild_closed") } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot use Milvus at ${address}`);
    expect(run.stderr).toContain("check SVGVEC_MILVUS_ADDRESS");
    // Rebuild refuses Milvus Lite, so pointing it there would not help.
    expect(run.stderr).not.toContain("Milvus Lite");
  });

  it("says it needs a Milvus server when none is configured, and names its one subcommand", async () => {
    const lite = await svgvec(["index", "rebuild", "--yes"], { env: { SVGVEC_MILVUS_ADDRESS: "" } });
    expect(lite.code).toBe(1);
    expect(lite.stderr).toContain("svgvec index rebuild works on a Milvus server: set SVGVEC_MILVUS_ADDRESS");
    const help = await svgvec(["index", "rebuild", "--help"]);
    expect([help.code, help.stdout.startsWith("usage: svgvec index rebuild [--yes]")]).toEqual([0, true]);
    const unknown = await svgvec(["index", "rebuild", "--force"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("--force");
    const wrong = await svgvec(["index", "build"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('"index" takes rebuild, not "build"');
  });
});
