/**
 * The embedded default: with no Milvus address, svgvec starts Milvus Lite from
 * the pip package itself, keeps its data in the data folder, and stops it on close.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MilvusDeployment } from "../../src/gen/svgvec/v1/svgvec_pb.js";
import { probeMilvus } from "../../src/store/milvus-lite.js";
import { type Corpus, startCorpus } from "../helpers/corpus.js";
import { startTestApp } from "../helpers/app.js";

describe("embedded Milvus Lite", () => {
  let corpus: Corpus;
  let dataDir: string;
  beforeAll(async () => {
    corpus = await startCorpus();
    dataDir = await mkdtemp(join(tmpdir(), "svgvec-embedded-"));
  });
  afterAll(async () => {
    await corpus.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("starts Milvus Lite, keeps acknowledged records across a restart, and stops it on close", async () => {
    const env = { SVGVEC_DATA_DIR: dataDir };
    const first = await startTestApp({ milvusAddress: "", collection: "cloud_vector_collection", env });
    const liteAddress = first.app.milvusAddress;
    try {
      const stats = await first.client.stats();
      expect(stats.milvus?.deployment).toBe(MilvusDeployment.LITE);
      expect(stats.collectionName).toBe("cloud_vector_collection");
      await first.client.addImage({ id: 1n, url: corpus.openmoji("1F436") });
      await first.client.streamAddImages([{ id: 2n, url: corpus.openmoji("2764") }]);
      expect((await stat(join(dataDir, "milvus.db"))).isFile()).toBe(true);
    } finally {
      await first.close();
    }
    expect(await probeMilvus(liteAddress, 1000)).not.toBe(true);

    const second = await startTestApp({ milvusAddress: "", collection: "cloud_vector_collection", env });
    try {
      const ids: bigint[] = [];
      for await (const page of second.client.listImages({})) ids.push(...page.images.map((i) => i.id));
      expect(ids).toEqual([1n, 2n]);
      expect((await second.client.search({ text: "heart", k: 2 })).hits).toHaveLength(2);
    } finally {
      await second.close();
    }
  });

  it("says what to install when Milvus Lite cannot be found", async () => {
    const started = startTestApp({
      milvusAddress: "",
      env: { SVGVEC_DATA_DIR: dataDir, SVGVEC_PYTHON: "/nonexistent/python3" },
    });
    await expect(started).rejects.toThrow(/cannot find Milvus Lite through \/nonexistent\/python3.*npm run setup:python/);
  });
});
