/**
 * Milvus stops under a running svgvec: calls answer UNAVAILABLE with a clear
 * message and write nothing; when Milvus is back, svgvec serves again without
 * a restart.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MilvusLite, freePort } from "../../src/store/milvus-lite.js";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { code, details, failure } from "../helpers/calls.js";
import { type Corpus, startCorpus } from "../helpers/corpus.js";
import { python } from "../helpers/models.js";
import { waitFor } from "../helpers/wait.js";

describe("Milvus stopped and started again under a running svgvec", () => {
  let corpus: Corpus;
  let dataDir: string;
  let port: number;
  let milvus: MilvusLite;
  let t: TestApp;
  const startMilvus = () => MilvusLite.start({ dataDir, port, binary: "", python: python() });

  beforeAll(async () => {
    corpus = await startCorpus();
    dataDir = await mkdtemp(join(tmpdir(), "svgvec-outage-"));
    port = await freePort();
    milvus = await startMilvus();
    t = await startTestApp({ milvusAddress: milvus.address });
  });
  afterAll(async () => {
    await t.close();
    await milvus.stop();
    await corpus.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("answers UNAVAILABLE while Milvus is down, writes nothing, and recovers by itself", async () => {
    await t.client.streamAddImages([1n, 2n, 3n].map((id) => ({ id, url: corpus.openmoji("1F436") })));
    expect(Number((await t.client.stats()).totalImages)).toBe(3);

    await milvus.stop();
    const deadline = () => ({ deadline: new Date(Date.now() + 60_000) });
    const calls: Array<[string, Promise<unknown>]> = [
      ["AddImage", t.client.addImage({ id: 4n, url: corpus.openmoji("1F431") }, deadline())],
      ["Search", t.client.search({ text: "a dog" }, deadline())],
      ["Stats", t.client.stats(deadline())],
      ["Remove", t.client.remove({ id: 1n }, deadline())],
      [
        "ListImages",
        (async () => {
          for await (const _ of t.client.listImages({}, deadline())) void _;
        })(),
      ],
    ];
    // Settle them all together, so none is left rejected and unobserved meanwhile.
    const errors = await Promise.all(calls.map(([name, call]) => failure(call).then((err) => [name, err] as const)));
    for (const [name, err] of errors) {
      expect(code(err), name).toBe(grpc.status.UNAVAILABLE);
      expect(details(err), name).toMatch(new RegExp(`Milvus at ${milvus.address} did not complete .*retry when Milvus is reachable again`));
    }
    const streamed = await t.client.streamAddImages([{ id: 5n, url: corpus.openmoji("1F431") }], deadline());
    expect(streamed.failures.map((f) => f.code)).toEqual(["UNAVAILABLE"]);

    milvus = await startMilvus();
    // The same svgvec, not restarted: its Milvus client reconnects on its own.
    await waitFor(async () => t.client.stats().then(() => true, () => false), 60_000);
    const listed: bigint[] = [];
    for await (const page of t.client.listImages({})) listed.push(...page.images.map((i) => i.id));
    // Nothing written while Milvus was down, and nothing acknowledged before it was lost.
    expect(listed.sort()).toEqual([1n, 2n, 3n]);
    expect((await t.client.addImage({ id: 4n, url: corpus.openmoji("1F431") })).image?.id).toBe(4n);
    expect(Number((await t.client.stats()).totalImages)).toBe(4);
  });
});
