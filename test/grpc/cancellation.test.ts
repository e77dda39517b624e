/**
 * Cancellation that really cancels: a stream's items stop rendering and
 * encoding when the stream goes away, its slot is free only once they have
 * stopped, and the render queue is bounded, so callers who leave cannot
 * stall the ones who stay.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { StreamItem } from "../../src/service/image-service.js";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { failure } from "../helpers/calls.js";
import { type Corpus, startCorpus } from "../helpers/corpus.js";
import { waitFor } from "../helpers/wait.js";

const RENDER_TIMEOUT_MS = 3_000;

let corpus: Corpus;
beforeAll(async () => {
  corpus = await startCorpus();
});
afterAll(() => corpus.close());

describe("streams cancelled while their SVGs render", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      milvusAddress: inject("liteAddress"),
      env: {
        SVGVEC_RENDER_WORKERS: "1",
        SVGVEC_RENDER_TIMEOUT_MS: String(RENDER_TIMEOUT_MS),
        SVGVEC_STREAM_CONCURRENCY: "16",
        SVGVEC_MAX_STREAMS: "2",
      },
    });
  });
  afterAll(() => t.close());

  it("leave nothing queued, and the next caller is served within the render timeout", async () => {
    const idle = { renderQueued: 0, rendering: 0, embedding: 0 };
    let deepest = 0;
    const heapBefore = process.memoryUsage().heapUsed;
    for (let round = 0; round < 10; round++) {
      let leave!: (e: Error) => void;
      const gone = new Promise<never>((_, reject) => (leave = reject));
      async function* items() {
        for (let i = 0; i < 16; i++) yield { id: BigInt(round * 100 + i), url: `${corpus.base}/slow-render/${round}-${i}` };
        await gone;
      }
      // The client cancels the call when its item source fails.
      const call = failure(t.client.streamAddImages(items()));
      await waitFor(() => t.app.pipeline.load.renderQueued >= 10, 10_000);
      deepest = Math.max(deepest, t.app.pipeline.load.renderQueued);
      leave(new Error("the importer went away"));
      expect((await call).message).toBe("the importer went away");
      await waitFor(() => t.app.pipeline.load.renderQueued === 0, RENDER_TIMEOUT_MS);
    }
    expect(deepest).toBeLessThanOrEqual(16);
    // Before the fix 150 slow renders were still queued here, one at a time, each up to the limit.
    const served = await t.client.addImage({ id: 1n, url: corpus.openmoji("1F436") }, { deadline: new Date(Date.now() + RENDER_TIMEOUT_MS) });
    expect(served.image?.id).toBe(1n);
    await waitFor(() => JSON.stringify(t.app.pipeline.load) === JSON.stringify(idle), RENDER_TIMEOUT_MS);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(100 * 2 ** 20);
  });
});

describe("a stream's slot and the render queue", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      milvusAddress: inject("liteAddress"),
      env: { SVGVEC_RENDER_WORKERS: "1", SVGVEC_RENDER_TIMEOUT_MS: "400", SVGVEC_RENDER_QUEUE: "2", SVGVEC_STREAM_CONCURRENCY: "16" },
    });
  });
  afterAll(() => t.close());

  it("frees a broken-off stream's slot only once its items have stopped", async () => {
    const { pipeline, service } = t.app;
    const load = () => pipeline.load;
    async function* items(): AsyncGenerator<StreamItem> {
      for (let i = 0; i < 3; i++) yield { index: i, id: BigInt(500 + i), url: `${corpus.base}/slow-render/slot-${i}` };
      await waitFor(() => load().rendering === 1 && load().renderQueued === 2);
      throw new Error("the stream broke off");
    }
    await expect(service.addStream(items())).rejects.toThrow("the stream broke off");
    expect(load()).toEqual({ renderQueued: 0, rendering: 0, embedding: 0 });
  });

  it("refuses renders past SVGVEC_RENDER_QUEUE with RESOURCE_EXHAUSTED, per item", async () => {
    const summary = await t.client.streamAddImages(Array.from({ length: 8 }, (_, i) => ({ id: BigInt(600 + i), url: `${corpus.base}/slow-render/queue-${i}` })));
    expect(summary.failed).toBe(8n);
    const refused = summary.failures.filter((f) => f.code === "RESOURCE_EXHAUSTED");
    expect(refused).toHaveLength(5);
    expect(refused[0]?.reason).toMatch(/2 SVGs are already waiting to render \(SVGVEC_RENDER_QUEUE\)/);
    expect(summary.failures.filter((f) => f.code === "FAILED_PRECONDITION")).toHaveLength(3);
  });
});
