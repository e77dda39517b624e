/**
 * GET /metrics: svgvec's metrics (src/metrics/metrics.ts) in Prometheus's text format. When
 * SVGVEC_AUTH_TOKENS is set it needs `authorization: Bearer <token>` like every RPC, since the
 * counts and timings say how the service is used; Prometheus sends one with `authorization:` in
 * its scrape_config.
 */
import { registry } from "../metrics/metrics.js";
import { sendError } from "./respond.js";
import type { HttpRoute } from "./server.js";

export const metricsRoute: HttpRoute = async (req, res, url, authorized) => {
  if (url.pathname !== "/metrics") return false;
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    sendError(res, 405, "invalid_argument", `/metrics answers GET (or HEAD), not ${String(req.method).slice(0, 20)}`);
    return true;
  }
  const problem = authorized();
  if (problem !== undefined) {
    sendError(res, 401, "unauthenticated", problem);
    return true;
  }
  const text = await registry.metrics();
  res.writeHead(200, {
    "content-type": registry.contentType,
    "content-length": String(Buffer.byteLength(text)),
    "cache-control": "no-store",
  });
  // Node leaves the body out of an answer to HEAD.
  res.end(text);
  return true;
};
