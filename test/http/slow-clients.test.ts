/**
 * Clients that connect and then hold on to the HTTP port without finishing anything: over HTTPS a
 * client speaks HTTP/2, where Node bounds neither an idle session nor a request whose body never
 * comes, so svgvec bounds both itself, as HTTP/1.1 is bounded.
 */
import * as http2 from "node:http2";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { type TestCertificate, makeCertificate } from "../helpers/tls.js";
import { waitFor } from "../helpers/wait.js";

const REQUEST_TIMEOUT_MS = 1_500;
const STREAM_ADD = "/svgvec.v1.SvgVecService/StreamAddImages";

/** A Connect end-of-stream envelope: a client stream with no items. */
const END_OF_STREAM = Buffer.from([0x02, 0, 0, 0, 2, 0x7b, 0x7d]);

interface Answer {
  status: number;
  body: string;
}

describe("HTTP/2 clients that stall, on the HTTPS port", () => {
  let t: TestApp;
  let cert: TestCertificate;
  const sessions: http2.ClientHttp2Session[] = [];
  const connect = () => {
    const session = http2.connect(`https://localhost:${t.app.httpAddress.split(":").pop()}`, { ca: readFileSync(cert.certFile) });
    session.on("error", () => undefined);
    sessions.push(session);
    return session;
  };
  /** Sends headers, then body (or nothing, holding the stream open when body is undefined). */
  const request = (session: http2.ClientHttp2Session, path: string, contentType: string, body?: Buffer) => {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": contentType }, { endStream: false });
    if (body !== undefined) stream.end(body);
    const answer = new Promise<Answer>((resolve) => {
      let status = 0;
      const chunks: Buffer[] = [];
      stream.on("response", (headers) => (status = Number(headers[":status"])));
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("error", () => undefined);
      stream.on("close", () => resolve({ status, body: Buffer.concat(chunks).toString("utf8") }));
    });
    return { stream, answer };
  };

  beforeAll(async () => {
    cert = await makeCertificate();
    t = await startTestApp({
      milvusAddress: inject("liteAddress"),
      env: {
        SVGVEC_HTTP_LISTEN: "127.0.0.1:0",
        SVGVEC_TLS_CERT: cert.certFile,
        SVGVEC_TLS_KEY: cert.keyFile,
        SVGVEC_HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        SVGVEC_MAX_STREAMS: "1",
      },
    });
  });
  afterAll(async () => {
    for (const s of sessions) s.destroy();
    await t?.close();
  });

  it("closes a session that carries no request", async () => {
    const session = connect();
    await new Promise<void>((resolve, reject) => {
      session.once("connect", () => resolve());
      session.once("error", reject);
    });
    // HTTP/1.1 closes an idle connection after 5 s (keep-alive); HTTP/2 sessions get the same.
    await waitFor(() => session.closed || session.destroyed, 15_000);
  });

  it("answers 408 to a request whose body never completes, and frees the StreamAddImages slot it held", async () => {
    const session = connect();
    const stalled = request(session, STREAM_ADD, "application/connect+json");
    // The stalled call holds the one slot (SVGVEC_MAX_STREAMS=1): another is refused meanwhile.
    const refused = await request(connect(), STREAM_ADD, "application/connect+json", END_OF_STREAM).answer;
    expect(refused.status).toBe(200);
    expect(refused.body).toMatch(/resource_exhausted/);
    // A REST body that never comes is cut off alike.
    const rest = await request(connect(), "/api/milvus/search", "application/json").answer;
    expect(rest.status).toBe(408);
    expect(JSON.parse(rest.body)).toMatchObject({ error: { code: "deadline_exceeded" } });
    expect(JSON.parse(rest.body).error.message).toMatch(/SVGVEC_HTTP_REQUEST_TIMEOUT_MS/);

    await stalled.answer;
    const next = await request(connect(), STREAM_ADD, "application/connect+json", END_OF_STREAM).answer;
    expect(next.status).toBe(200);
    expect(next.body).not.toMatch(/resource_exhausted/);
    expect(next.body).toMatch(/"received"/);
  });
});
