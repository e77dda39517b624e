/**
 * Reads that cannot grow without bound, on a full Milvus: ListImages pages cut
 * to fit a stock client's 4 MiB messages, at most SVGVEC_MAX_LISTS listings
 * and SVGVEC_MAX_SEARCHES searches at once, a listing's slot given back when
 * its client cancels while not reading, and nprobe past nlist clamped.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { SvgVecClient } from "../helpers/grpc-client.js";
import type { ListImagesResponse } from "../../src/gen/svgvec/v1/svgvec_pb.js";
import type { ImageRow } from "../../src/store/milvus-store.js";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { code, details, failure } from "../helpers/calls.js";
import { waitFor } from "../helpers/wait.js";

const RECORDS = 1_500;
/** About 4 KB a record with its vector: 1,500 of them are about 6 MB, over a stock client's 4 MiB. */
const URL_BYTES = 1_900;

function vector(seed: number): number[] {
  const v = Array.from({ length: 512 }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

describe("bounded reads on Milvus standalone", () => {
  let t: TestApp;
  /** The same collection, one listing at a time, in 64 KiB messages: an unread listing fills every buffer at once. */
  let one: TestApp;
  /** Its own connection, so a listing it leaves unread cannot hold up the other calls' flow control. */
  let holder: SvgVecClient;
  beforeAll(async () => {
    t = await startTestApp({ milvusAddress: inject("standaloneAddress"), env: { SVGVEC_MAX_SEARCHES: "2" } });
    one = await startTestApp({
      milvusAddress: inject("standaloneAddress"),
      collection: t.config.milvus.collection,
      env: { SVGVEC_MAX_LISTS: "1", SVGVEC_LIST_PAGE_BYTES: "65536", SVGVEC_HTTP_LISTEN: "127.0.0.1:0" },
    });
    holder = new SvgVecClient(one.app.address, { channel: { "grpc.use_local_subchannel_pool": 1 } });
    const now = new Date().toISOString();
    for (let start = 0; start < RECORDS; start += 500) {
      const rows: ImageRow[] = [];
      for (let i = start; i < start + 500; i++) {
        const prefix = `https://example.com/${i}/`;
        rows.push({ id: BigInt(i), url: prefix + "a".repeat(URL_BYTES - prefix.length), vector: vector(i), addedAt: now, updatedAt: now });
      }
      await t.app.store.upsert(rows);
    }
  });
  afterAll(async () => {
    holder.close();
    await one.close();
    await t.close();
  });

  /** Lists one record from the one-listing server; the error's status code, or OK. */
  const probeList = async (): Promise<grpc.status> => {
    try {
      for await (const _ of one.client.listImages({ limit: 1n })) void _;
      return grpc.status.OK;
    } catch (e) {
      return code(e);
    }
  };

  it("sends a 16,384-record page with vectors as several messages, each within a stock client's 4 MiB", async () => {
    const sizes: number[] = [];
    const ids: bigint[] = [];
    for await (const page of t.client.listImages({ includeVectors: true, pageSize: 16_384 })) {
      sizes.push(page.images.length);
      for (const image of page.images) {
        expect(image.vector).toHaveLength(512);
        ids.push(image.id);
      }
    }
    expect(sizes.length).toBeGreaterThan(1);
    expect(ids).toEqual(Array.from({ length: RECORDS }, (_, i) => BigInt(i)));
  });

  it("holds a listing's slot while its client does not read, refuses one more, and frees it on cancel", async () => {
    const held = holder.listImages({ includeVectors: true, pageSize: 16_384 }) as grpc.ClientReadableStream<ListImagesResponse>;
    held.on("error", () => undefined);
    // Read the first message, then no more. The server cut one Milvus batch of 6 MB into 64 KiB
    // messages and wrote them without a pause, past every buffer on the way, so by the time the
    // first arrives it is waiting for the client to read.
    await new Promise<void>((resolve) =>
      held.once("data", () => {
        held.pause();
        resolve();
      }),
    );
    expect(await probeList()).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const refused = await failure((async () => {
      for await (const _ of one.client.listImages({})) void _;
    })());
    expect(code(refused)).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(details(refused)).toMatch(/1 ListImages calls are already open \(SVGVEC_MAX_LISTS\)/);

    held.cancel();
    await waitFor(async () => (await probeList()) === grpc.status.OK);
    let listed = 0;
    for await (const page of one.client.listImages({ includeVectors: true, pageSize: 16_384 })) listed += page.images.length;
    expect(listed).toBe(RECORDS);
  });

  it("holds the slot of a listing over HTTP whose client does not read, and frees it when the client goes", async () => {
    const abort = new AbortController();
    const json = Buffer.from(JSON.stringify({ includeVectors: true, pageSize: 16384 }));
    const head = Buffer.alloc(5);
    head.writeUInt32BE(json.length, 1);
    const res = await fetch(`http://${one.app.httpAddress}/svgvec.v1.SvgVecService/ListImages`, {
      method: "POST",
      headers: { "content-type": "application/connect+json" },
      body: new Uint8Array(Buffer.concat([head, json])),
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    // Read one chunk, then no more: about 10 MB of JSON waits behind it.
    const reader = res.body!.getReader();
    await reader.read();
    expect(await probeList()).toBe(grpc.status.RESOURCE_EXHAUSTED);
    abort.abort();
    await waitFor(async () => (await probeList()) === grpc.status.OK);
  });

  it("refuses searches past SVGVEC_MAX_SEARCHES at once, and serves again when they finish", async () => {
    // Strong consistency makes each search wait for Milvus's time tick, so a burst overlaps.
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => t.client.search({ text: `query ${i}`, k: 3 })));
    const refused = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason as unknown);
    expect(results.filter((r) => r.status === "fulfilled").length).toBeGreaterThanOrEqual(2);
    expect(refused.length).toBeGreaterThan(0);
    for (const e of refused) {
      expect(code(e)).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(details(e)).toMatch(/2 Search calls are already in progress \(SVGVEC_MAX_SEARCHES\)/);
    }
    expect((await t.client.search({ text: "after the burst", k: 3 })).hits).toHaveLength(3);
  });

  it("searches with nprobe 65,536, clamped to the index's nlist of 1,024", async () => {
    expect(t.app.store.nprobeFor(65_536)).toBe(1024);
    const { hits } = await t.client.search({ text: "anything", k: 5, nprobe: 65_536 });
    expect(hits).toHaveLength(5);
  });
});
