/**
 * A tiny hostile file must not stop the server: while AddImage calls fetch a
 * body built to make a backtracking pattern run for minutes, a health check
 * and a Search on other connections still answer within a second. svgvec runs
 * as its own process here, so a blocked server fails these calls by their
 * deadline instead of freezing the test.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { status as Code } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { SvgVecClient } from "../helpers/grpc-client.js";
import { code, details, failure } from "../helpers/calls.js";
import { checkHealth } from "../helpers/health.js";
import { uniqueCollection } from "../helpers/milvus.js";
import { type ServerProcess, startServerProcess } from "../helpers/server-process.js";

/** Under 300 bytes: comments the old prolog pattern tried every way of splitting, then one wrong byte. */
const BLOCKING_BODY = `${"<!---->".repeat(35)}x`;

describe("a body that made the SVG sniffer backtrack", () => {
  let files: http.Server;
  let base: string;
  let server: ServerProcess;
  let client: SvgVecClient;
  let other: SvgVecClient;

  beforeAll(async () => {
    files = http.createServer((req, res) => {
      res.setHeader("content-type", "image/svg+xml");
      res.end(req.url?.startsWith("/long") ? `${"<!---->".repeat(500)}x` : BLOCKING_BODY);
    });
    await new Promise<void>((r) => files.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    server = await startServerProcess({ SVGVEC_MILVUS_ADDRESS: inject("liteAddress"), SVGVEC_COLLECTION: uniqueCollection("block") });
    client = new SvgVecClient(server.address);
    other = new SvgVecClient(server.address);
  });

  afterAll(async () => {
    client?.close();
    other?.close();
    if (server !== undefined && server.child.exitCode === null) {
      server.child.kill("SIGKILL");
      await server.exited;
    }
    await new Promise((r) => files.close(r));
  });

  it("is refused as not an SVG while health and Search on other connections answer within 1 s", async () => {
    expect(BLOCKING_BODY.length).toBeLessThan(300);
    const adds = Array.from({ length: 8 }, (_, i) =>
      failure(client.addImage({ id: BigInt(i + 1), url: `${base}/${i % 2 === 0 ? "short" : "long"}/${i}.svg` }, { deadline: new Date(Date.now() + 10_000) })),
    );
    const deadline = () => new Date(Date.now() + 1_000);
    const [health, hits] = await Promise.all([
      checkHealth(server.address, "", 1_000),
      other.search({ text: "dog", k: 3 }, { deadline: deadline() }),
    ]);
    expect(health).toBe("SERVING");
    expect(hits.hits).toEqual([]);
    for (const err of await Promise.all(adds)) {
      expect(code(err)).toBe(Code.FAILED_PRECONDITION);
      expect(details(err)).toMatch(/not an SVG: the file has no <svg> root element/);
    }
    expect(await checkHealth(server.address, "svgvec.v1.SvgVecService", 1_000)).toBe("SERVING");
  });
});
