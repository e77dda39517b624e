/**
 * Answers of the HTTP port's own routes: JSON bodies, and errors as JSON whose HTTP status is the
 * one Connect gives the same gRPC code.
 */
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { Code } from "@connectrpc/connect";
import type { Logger } from "../log.js";
import { codeName, logFailure, statusMessage } from "../rpc/status.js";

export type HttpRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type HttpResponse = http.ServerResponse | http2.Http2ServerResponse;

/** Connect's table of HTTP statuses for gRPC codes (connectrpc.com/docs/protocol#error-codes). */
const HTTP_STATUS: Record<Code, number> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

export function httpStatus(code: Code): number {
  return HTTP_STATUS[code] ?? 500;
}

export function sendJson(res: HttpResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

/** An error body: `code` is the gRPC code's Connect name (e.g. invalid_argument), `message` says what to fix. */
export function sendError(res: HttpResponse, status: number, code: string, message: string): void {
  const headers: Record<string, string> = status === 401 ? { "www-authenticate": 'Bearer realm="svgvec"' } : {};
  sendJson(res, status, { error: { code, message } }, headers);
}

/** A failure of svgvec's as a JSON error, through the one mapping in rpc/status.ts. */
export function sendFailure(res: HttpResponse, err: unknown, log: Logger, what: string): void {
  const code = logFailure(err, log, what);
  sendError(res, httpStatus(code), connectCodeName(code), statusMessage(err));
}

/** The code's name in Connect's JSON errors: invalid_argument, canceled. */
export function connectCodeName(code: Code): string {
  return code === Code.Canceled ? "canceled" : codeName(code).toLowerCase();
}
