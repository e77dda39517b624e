/**
 * The service on a full Milvus: the Milvus 2.3 standalone server from the
 * `milvus` pip package, reached by address.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { AddOutcome, MilvusDeployment } from "../../src/gen/svgvec/v1/svgvec_pb.js";
import { type Corpus, startCorpus } from "../helpers/corpus.js";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { code, details, failure } from "../helpers/calls.js";

describe("svgvec.v1 on a Milvus standalone server", () => {
  let corpus: Corpus;
  let t: TestApp;
  beforeAll(async () => {
    corpus = await startCorpus();
    t = await startTestApp({ milvusAddress: inject("standaloneAddress") });
  });
  afterAll(async () => {
    await t.close();
    await corpus.close();
  });

  it("reports a standalone Milvus with its version", async () => {
    const s = await t.client.stats();
    expect(s.milvus?.deployment).toBe(MilvusDeployment.STANDALONE);
    expect(s.milvus?.version).toMatch(/^v?2\.3\./);
    expect(s.index?.type).toBe("IVF_FLAT");
    expect(s.index?.params.nlist).toBe("1024");
  });

  it("refuses the largest int64 id, which a Milvus server stores but never returns, and keeps the smallest", async () => {
    const max = 9223372036854775807n;
    const err = await failure(t.client.addImage({ id: max, url: corpus.openmoji("1F436") }));
    expect(code(err)).toBe(grpc.status.INVALID_ARGUMENT);
    expect(details(err)).toMatch(/id: 9223372036854775807 \(the largest int64\) cannot be used with a Milvus standalone server.*use any other id/);
    const summary = await t.client.streamAddImages([{ id: max, url: corpus.openmoji("1F436") }]);
    expect([summary.failed, summary.failures[0]?.code]).toEqual([1n, "INVALID_ARGUMENT"]);
    const min = -9223372036854775808n;
    expect((await t.client.addImage({ id: min, url: corpus.openmoji("1F436") })).image?.id).toBe(min);
    expect((await t.client.remove({ id: min })).removed).toBe(true);
  });

  it("adds, replaces, streams, lists, searches and removes", async () => {
    expect((await t.client.addImage({ id: 1n, url: corpus.openmoji("1F436") })).outcome).toBe(AddOutcome.ADDED);
    const replaced = await t.client.addImage({ id: 1n, url: corpus.openmoji("1F431") });
    expect(replaced.outcome).toBe(AddOutcome.REPLACED);
    const summary = await t.client.streamAddImages([
      { id: 2n, url: corpus.openmoji("2764") },
      { id: 3n, url: corpus.fixture("down-arrow.svg") },
      { id: 4n, url: `${corpus.base}/status/404` },
    ]);
    expect([summary.added, summary.failed]).toEqual([2n, 1n]);
    const listed: Array<[bigint, string]> = [];
    for await (const page of t.client.listImages({})) listed.push(...page.images.map((i): [bigint, string] => [i.id, i.url]));
    expect(listed).toEqual([
      [1n, corpus.openmoji("1F431")],
      [2n, corpus.openmoji("2764")],
      [3n, corpus.fixture("down-arrow.svg")],
    ]);
    const { hits } = await t.client.search({ text: "download arrow", k: 3 });
    expect(hits).toHaveLength(3);
    expect((await t.client.remove({ id: 2n })).removed).toBe(true);
    expect((await t.client.remove({ id: 2n })).removed).toBe(false);
    expect((await t.client.stats()).totalImages).toBe(2n);
  });
});
