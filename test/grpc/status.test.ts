/**
 * Status messages and summaries that quote hostile text: a caller's URL, or a
 * downloaded server's redirect target, must neither crash the server nor grow
 * past what a stock client can read.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { SvgVecClient } from "../helpers/grpc-client.js";
import { MAX_STATUS_MESSAGE_BYTES } from "../../src/rpc/status.js";
import { URL_MAX_LENGTH } from "../../src/store/milvus-store.js";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { code, details, failure } from "../helpers/calls.js";

/** Long enough that no test waits for a hang, short enough to answer every call here. */
const soon = () => ({ deadline: new Date(Date.now() + 10_000) });

describe("status messages and summaries built from hostile text", () => {
  let t: TestApp;
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    t = await startTestApp({ milvusAddress: inject("standaloneAddress") });
    // Redirects to a 15,000-byte path of 0xE9 bytes: the URL parser writes each as %C3%A9, so about 90 KB.
    server = http.createServer((_req, res) => {
      res.writeHead(302, { location: `/gone/${"\u00e9".repeat(15_000)}` }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await t.close();
  });

  it("answers INVALID_ARGUMENT to a bad URL whose quoted start ends inside a surrogate pair, and keeps serving", async () => {
    // The message quotes the first 77 UTF-16 units, which end on the emoji's first half.
    const err = await failure(t.client.addImage({ id: 1n, url: `${"x".repeat(76)}\u{1F600}${"y".repeat(10)}` }, soon()));
    expect(code(err)).toBe(grpc.status.INVALID_ARGUMENT);
    expect(details(err)).toMatch(/^url: "x{76}.*" is not an absolute URL/);
    expect((await t.client.stats(soon())).collectionName).toBe(t.config.milvus.collection);
  });

  it("cuts a redirect target of 90 KB out of the status message, and the client's connection keeps working", async () => {
    const err = await failure(t.client.addImage({ id: 2n, url: `${base}/start.svg` }, soon()));
    expect(code(err)).toBe(grpc.status.FAILED_PRECONDITION);
    expect(details(err)).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/gone\/(%C3%A9)+.*cut/);
    expect(encodeURI(details(err)).length).toBeLessThanOrEqual(MAX_STATUS_MESSAGE_BYTES);
    expect((await t.client.stats(soon())).collectionName).toBe(t.config.milvus.collection);
  });

  it("fits a summary of 1,000 failures with long URLs and reasons into a stock client's 4 MiB", async () => {
    // 6,300 bytes of UTF-8 each: refused for length, and quoted back in the summary.
    const longUrl = `http://example.com/${"\u4e00".repeat(2_100)}`;
    const items = Array.from({ length: 1_000 }, (_, i) =>
      i % 10 === 0 ? { id: BigInt(i), url: `${base}/${i}.svg` } : { id: BigInt(i), url: longUrl },
    );
    // A connection of its own, so that this test stands or falls alone.
    const client = new SvgVecClient(t.app.address, { channel: { "grpc.use_local_subchannel_pool": 1 } });
    const summary = await client.streamAddImages(items, soon()).finally(() => client.close());
    expect([summary.received, summary.failed]).toEqual([1_000n, 1_000n]);
    expect(summary.failures).toHaveLength(1_000);
    for (const f of summary.failures) {
      expect(Buffer.byteLength(f.url, "utf8")).toBeLessThanOrEqual(URL_MAX_LENGTH);
      expect(encodeURI(f.reason).length).toBeLessThanOrEqual(1_024);
    }
    expect(summary.failures[0]).toMatchObject({ index: 0n, code: "FAILED_PRECONDITION" });
    expect(summary.failures[1]).toMatchObject({ index: 1n, code: "INVALID_ARGUMENT" });
    expect(summary.failures[1]!.url.startsWith("http://example.com/\u4e00")).toBe(true);
    expect((await t.client.stats(soon())).totalImages).toBe(0n);
  });
});
