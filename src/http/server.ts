/**
 * The optional HTTP listener: svgvec.v1 over Connect (JSON and binary) and gRPC-Web from the same
 * implementation and descriptor as the gRPC server, beside the routes that are HTTP's own.
 */
import { readFile } from "node:fs/promises";
import * as http from "node:http";
import * as http2 from "node:http2";
import type { Socket } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { type AccessConfig, splitListen } from "../config.js";
import { ConfigError } from "../errors.js";
import { SvgVecService } from "../gen/svgvec/v1/svgvec_pb.js";
import type { Logger } from "../log.js";
import { tokenCheck, type TokenCheck } from "../rpc/auth.js";
import type { SvgVecImpl } from "../rpc/svgvec-impl.js";
import { MAX_MESSAGE_BYTES } from "../rpc/validate.js";
import { authInterceptor, connectImpl } from "./connect-adapter.js";
import { sendError, type HttpRequest, type HttpResponse } from "./respond.js";

export interface HttpServer {
  /** host:port actually bound. */
  address: string;
  port: number;
  /** Stops accepting, lets running requests finish for up to graceMs, then closes what is left. */
  close(graceMs: number): Promise<void>;
}

/**
 * A route of the HTTP port besides svgvec.v1: answers the request and returns true, or returns false
 * when the path is not its own. `authorized` says whether the request carries a valid token (or
 * none is needed); a route decides which of its paths need one.
 */
export type HttpRoute = (req: HttpRequest, res: HttpResponse, url: URL, authorized: AuthCheck) => Promise<boolean> | boolean;

/** undefined when the request may go on, otherwise why not. */
export type AuthCheck = () => string | undefined;

export interface HttpServerOptions {
  listen: string;
  access: AccessConfig;
  routes: readonly HttpRoute[];
  /** Time a client has to send a whole request, headers and body (SVGVEC_HTTP_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
}

/** How long a connection may carry no request before it is closed: Node's HTTP/1.1 keep-alive timeout, for HTTP/2 too. */
const IDLE_MS = 5_000;
/** Time a new connection has to finish its TLS handshake, and a request its headers. */
const HEADERS_TIMEOUT_MS = 10_000;

/** Headers that no answer of this port goes without. */
const BASE_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

export async function startHttpServer(options: HttpServerOptions, impl: SvgVecImpl, log: Logger): Promise<HttpServer> {
  const { listen, access, requestTimeoutMs } = options;
  const check: TokenCheck | undefined = access.tokens.length > 0 ? tokenCheck(access.tokens, "header") : undefined;
  const rpc = connectNodeAdapter({
    routes: (router) => router.service(SvgVecService, connectImpl(SvgVecService, impl, log)),
    interceptors: check ? [authInterceptor(check, log)] : [],
    readMaxBytes: MAX_MESSAGE_BYTES,
    // A misspelt field is refused with its name instead of being dropped, and answers show zeros and
    // empty lists instead of leaving them out, so curl users see every field.
    jsonOptions: { ignoreUnknownFields: false, alwaysEmitImplicit: true },
    connect: true,
    grpcWeb: true,
    // Plain gRPC belongs to the gRPC port, whose limits and health service gRPC clients expect.
    grpc: false,
  });
  const rpcPrefix = `/${SvgVecService.typeName}/`;

  const handle = (req: HttpRequest, res: HttpResponse): void => {
    for (const [name, value] of Object.entries(BASE_HEADERS)) res.setHeader(name, value);
    if (req instanceof http2.Http2ServerRequest && res instanceof http2.Http2ServerResponse && !req.complete) {
      limitArrival(req, res, requestTimeoutMs);
    }
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://svgvec.invalid");
    } catch {
      sendError(res, 400, "invalid_argument", "the request target is not a valid path");
      return;
    }
    if (url.pathname.startsWith(rpcPrefix)) {
      // connect-node answers these with an empty body; a curl user deserves to be told what to send.
      const refusal = rpcRefusal(req, url.pathname.slice(rpcPrefix.length));
      if (refusal === undefined) rpc(req, res);
      else {
        if (refusal.allow !== undefined) res.setHeader("allow", refusal.allow);
        sendError(res, refusal.status, refusal.code, refusal.message);
      }
      return;
    }
    const authorized: AuthCheck = () => check?.(headerValue(req.headers.authorization));
    void (async () => {
      for (const route of options.routes) {
        if (await route(req, res, url, authorized)) return;
      }
      sendError(res, 404, "not_found", `no such path: ${url.pathname.slice(0, 200)}; see the README's HTTP section for the routes`);
    })().catch((err: unknown) => {
      log.error("HTTP route failed", { path: url.pathname, error: err instanceof Error ? err.stack : String(err) });
      if (!res.headersSent) sendError(res, 500, "internal", "internal error in svgvec; the server log has the details");
      else res.destroy();
    });
  };

  const server =
    access.tlsCert === ""
      ? http.createServer(handle)
      : http2.createSecureServer(
          {
            cert: await readFile(access.tlsCert),
            key: await readFile(access.tlsKey),
            allowHTTP1: true,
            handshakeTimeout: HEADERS_TIMEOUT_MS,
          },
          handle,
        );
  // A client that opens connections and never finishes its headers holds nothing for long. The
  // HTTPS server answers HTTP/1.1 with the same machinery, which reads these two settings too.
  const http1 = server as unknown as Pick<http.Server, "headersTimeout" | "requestTimeout">;
  http1.headersTimeout = HEADERS_TIMEOUT_MS;
  http1.requestTimeout = requestTimeoutMs;
  // Node bounds neither an idle HTTP/2 session nor the arrival of an HTTP/2 request: svgvec does.
  if (!(server instanceof http.Server)) server.on("session", closeWhenIdle);
  const sockets = new Set<Socket>();
  server.on(access.tlsCert === "" ? "connection" : "secureConnection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  const port = await new Promise<number>((resolve, reject) => {
    const { host, port: portNumber } = splitListen(listen);
    server.once("error", (err: NodeJS.ErrnoException) => reject(listenError(listen, err)));
    server.listen(portNumber, host, () => {
      const a = server.address();
      resolve(typeof a === "object" && a !== null ? a.port : portNumber);
    });
  });
  server.on("error", (err: Error) => log.error("HTTP server error", { error: err.message }));
  const host = listen.slice(0, listen.lastIndexOf(":"));
  let closing: Promise<void> | undefined;
  return {
    address: `${host}:${port}`,
    port,
    close: (graceMs) =>
      (closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        if (server instanceof http.Server) server.closeIdleConnections();
      })),
  };
}

const METHODS = new Map(SvgVecService.methods.map((m) => [m.name, m]));
const METHOD_LIST = [...METHODS.keys()].join(", ");

/** Media types Connect takes for a unary call, and for a streaming one; gRPC-Web's serve both. */
const UNARY_TYPES = ["application/json", "application/proto"];
const STREAM_TYPES = ["application/connect+json", "application/connect+proto"];

interface Refusal {
  status: number;
  code: string;
  message: string;
  allow?: string;
}

/** Why a request for an svgvec.v1 method cannot be served, in words; undefined when Connect can take it. */
function rpcRefusal(req: HttpRequest, name: string): Refusal | undefined {
  const method = METHODS.get(name);
  if (method === undefined) {
    return { status: 404, code: "not_found", message: `svgvec.v1.SvgVecService has no method ${name.slice(0, 100)}; it has ${METHOD_LIST}` };
  }
  if (req.method !== "POST") {
    return { status: 405, code: "unimplemented", message: `svgvec.v1 methods are called with POST, not ${String(req.method).slice(0, 20)}`, allow: "POST" };
  }
  const type = (headerValue(req.headers["content-type"]) ?? "").split(";")[0]!.trim().toLowerCase();
  if (type.startsWith("application/grpc-web")) return undefined;
  const unary = method.methodKind === "unary";
  if ((unary ? UNARY_TYPES : STREAM_TYPES).includes(type)) return undefined;
  const want = unary
    ? "content-type: application/json (or application/proto)"
    : `content-type: application/connect+json (or application/connect+proto), with each message enveloped, since ${name} streams`;
  return {
    status: 415,
    code: "invalid_argument",
    message: `${name} over HTTP takes ${want}, or gRPC-Web; the request had ${type === "" ? "no content-type" : `content-type ${type.slice(0, 100)}`}`,
  };
}

/**
 * Ends a request whose body has not all arrived in time with 408, then resets its stream, which
 * ends its call and frees what the call held (a StreamAddImages slot, say). Over HTTP/1.1 Node's
 * requestTimeout does this.
 */
function limitArrival(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, ms: number): void {
  const timer = setTimeout(() => {
    if (req.complete || res.stream.destroyed) return;
    if (res.headersSent) {
      res.stream.close(http2.constants.NGHTTP2_CANCEL);
      return;
    }
    // RFC 9113 8.1: after a complete answer, RST_STREAM with NO_ERROR tells the client to stop sending.
    res.stream.once("finish", () => res.stream.close(http2.constants.NGHTTP2_NO_ERROR));
    sendError(
      res,
      408,
      "deadline_exceeded",
      `the request did not arrive whole within ${ms} ms (SVGVEC_HTTP_REQUEST_TIMEOUT_MS); send its body without pausing`,
    );
  }, ms);
  req.once("end", () => clearTimeout(timer));
  res.once("close", () => clearTimeout(timer));
}

/** Closes an HTTP/2 session once it has carried no stream for IDLE_MS, as HTTP/1.1 keep-alive does. */
function closeWhenIdle(session: http2.ServerHttp2Session): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const wait = () => {
    timer = setTimeout(() => session.close(), IDLE_MS);
  };
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    open++;
    clearTimeout(timer);
    stream.once("close", () => {
      if (--open === 0 && !session.closed) wait();
    });
  });
  session.once("close", () => clearTimeout(timer));
  wait();
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function listenError(listen: string, err: NodeJS.ErrnoException): Error {
  if (err.code === "EADDRINUSE") {
    return new ConfigError([`SVGVEC_HTTP_LISTEN=${listen}: the address is in use by another process; stop it, or choose another port`]);
  }
  if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND") {
    return new ConfigError([`SVGVEC_HTTP_LISTEN=${listen}: this machine has no such address; use 127.0.0.1, 0.0.0.0 or one of its own addresses`]);
  }
  if (err.code === "EACCES") {
    return new ConfigError([`SVGVEC_HTTP_LISTEN=${listen}: not allowed to listen there (ports below 1024 need privileges); choose a port above 1023`]);
  }
  return err;
}
