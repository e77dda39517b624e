/**
 * A bounded mixed load on loopback with ghz: AddImage, Search, ListImages and
 * Remove at once, a fixed number of requests each and a time limit. Every call
 * succeeds and the record count comes out exactly as expected.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { type Corpus, startCorpus } from "../helpers/corpus.js";
import { ghz } from "../helpers/ghz.js";

describe("mixed load from ghz", () => {
  let corpus: Corpus;
  let t: TestApp;
  beforeAll(async () => {
    corpus = await startCorpus();
    t = await startTestApp({ milvusAddress: inject("liteAddress") });
  });
  afterAll(async () => {
    await t.close();
    await corpus.close();
  });

  it("answers every AddImage, Search, ListImages and Remove, and ends with the expected count", async () => {
    const adds = 300;
    const removes = 100;
    const kept = 50;
    // ghz's ids: "1" then the request number (10, 11, ... 1299) for adds; "2000000" then it for removes.
    const removable = Array.from({ length: removes }, (_, n) => BigInt(`2000000${n}`));
    const stable = Array.from({ length: kept }, (_, n) => BigInt(3_000_000 + n));
    const seeded = await t.client.streamAddImages([...removable, ...stable].map((id) => ({ id, url: corpus.openmoji("1F436") })));
    expect(Number(seeded.added)).toBe(removes + kept);

    const M = "svgvec.v1.SvgVecService";
    const run = (call: string, data: string, requests: number, concurrency: number) =>
      ghz(t.app.address, { call: `${M}/${call}`, data, requests, concurrency, timeout: "30s", limitMs: 240_000 });
    const [add, search, list, remove] = await Promise.all([
      run("AddImage", `{"id": "1{{.RequestNumber}}", "url": "${corpus.base}/openmoji/1F431.svg?n={{.RequestNumber}}"}`, adds, 8),
      run("Search", `{"text": "a cat {{.RequestNumber}}", "k": 20}`, 300, 4),
      run("ListImages", `{"page_size": 100}`, 30, 2),
      run("Remove", `{"id": "2000000{{.RequestNumber}}"}`, removes, 4),
    ]);
    for (const [name, report, n] of [["AddImage", add, adds], ["Search", search, 300], ["ListImages", list, 30], ["Remove", remove, removes]] as const) {
      expect(report.statusCodeDistribution, name).toEqual({ OK: n });
      expect(report.count, name).toBe(n);
    }
    expect(Number((await t.client.stats()).totalImages)).toBe(kept + adds);
    for (const id of removable.slice(0, 5)) expect((await t.client.remove({ id })).removed).toBe(false);
  });
});
