/**
 * Every metric svgvec exports, on one registry, served in Prometheus's text format at GET /metrics
 * of the HTTP port (src/http/metrics-route.ts).
 *
 * Metrics are process-wide: several apps in one process (as in the tests) add to the same series,
 * so readers compare deltas. Every label value comes from a fixed set named here or from a literal
 * in svgvec's code, never from what a caller sent, so the number of series stays bounded whatever
 * callers send.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { BatchObserver } from "../batcher.js";
import type { FetchFailureReason } from "../errors.js";
import { SvgVecService } from "../gen/svgvec/v1/svgvec_pb.js";
import { codeName } from "../rpc/status.js";

export const registry = new Registry();

// Process CPU, memory, handles, GC, and the event loop's delay (nodejs_eventloop_lag_seconds and its percentiles).
collectDefaultMetrics({ register: registry });

/** Which edge a request came in on. Connect's own gRPC protocol is not served (plain gRPC has its own port). */
export type Edge = "grpc" | "connect" | "grpc-web" | "rest";

/** Seconds: an AddImage takes tens of ms to seconds, a stream or a listing can take minutes. */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];

const requests = new Counter({
  name: "svgvec_requests_total",
  help: "svgvec.v1 requests answered, by edge (grpc, connect, grpc-web, rest), RPC method and gRPC status code; refusals for a missing or invalid token count as UNAUTHENTICATED.",
  labelNames: ["edge", "method", "code"] as const,
  registers: [registry],
});

const requestDuration = new Histogram({
  name: "svgvec_request_duration_seconds",
  help: "Time from receiving an svgvec.v1 request to its status, by edge, RPC method and gRPC status code (streams: until the stream ends).",
  labelNames: ["edge", "method", "code"] as const,
  buckets: REQUEST_BUCKETS,
  registers: [registry],
});

/** The RPC names of svgvec.v1 (AddImage, Search, ...): the only method label values besides "other". */
const METHODS: ReadonlySet<string> = new Set(SvgVecService.methods.map((m) => m.name));
const METHOD_PREFIX = `/${SvgVecService.typeName}/`;

/**
 * The method label for a method name (AddImage) or a gRPC path (/svgvec.v1.SvgVecService/AddImage):
 * the svgvec.v1 method it names, or "other" for anything else a caller may have sent.
 */
export function methodLabel(method: string): string {
  const name = method.startsWith("/") ? (method.startsWith(METHOD_PREFIX) ? method.slice(METHOD_PREFIX.length) : "") : method;
  return METHODS.has(name) ? name : "other";
}

/** The code label for a gRPC status number: OK, INVALID_ARGUMENT, ...; UNKNOWN outside gRPC's codes. */
export function codeLabel(code: number): string {
  return code === 0 ? "OK" : codeName(code);
}

/** gRPC's OK, which Connect's Code enum leaves out. */
export const STATUS_OK = 0;

/**
 * Called once a request has its status: code is the gRPC status number (0 for OK; Connect's Code
 * enum and grpc-js's status carry the same numbers). Later calls do nothing, so it may sit on every
 * way out of a handler.
 */
export type RequestDone = (code: number) => void;

/**
 * Starts timing one request of an edge, for svgvec_requests_total and svgvec_request_duration_seconds.
 * method is the svgvec.v1 method the request serves (e.g. "AddImage"); anything else counts as "other".
 * An edge calls it as the request arrives, then the result with STATUS_OK or the failure's code
 * (statusCode(err) of src/rpc/status.ts).
 */
export function startRequest(edge: Edge, method: string): RequestDone {
  const started = performance.now();
  const m = methodLabel(method);
  let done = false;
  return (code) => {
    if (done) return;
    done = true;
    const labels = { edge, method: m, code: codeLabel(code) };
    requests.inc(labels);
    requestDuration.observe(labels, (performance.now() - started) / 1000);
  };
}

/** The end of one item the image service was asked to add. */
export type ImportOutcome = "added" | "replaced" | "unchanged" | "failed";

const itemsImported = new Counter({
  name: "svgvec_items_imported_total",
  help: "Items the image service was asked to add, by call (AddImage, StreamAddImages) and outcome (added, replaced, unchanged, failed).",
  labelNames: ["call", "outcome"] as const,
  registers: [registry],
});

export function countImported(call: "AddImage" | "StreamAddImages", outcome: ImportOutcome): void {
  itemsImported.inc({ call, outcome });
}

const fetchFailures = new Counter({
  name: "svgvec_fetch_failures_total",
  help:
    "Downloads of SVGs that failed, by reason: invalid_url, refused_scheme, refused_credentials, refused_address, dns, network, " +
    "timeout, http_status, too_many_redirects, too_large, bad_encoding. Downloads their caller abandoned are not counted.",
  labelNames: ["reason"] as const,
  registers: [registry],
});

export function countFetchFailure(reason: FetchFailureReason): void {
  fetchFailures.inc({ reason });
}

/** Why a render failed: past SVGVEC_RENDER_TIMEOUT_MS, not an SVG at all, or resvg could not render it. */
export type RenderFailureReason = "timeout" | "not_svg" | "unrenderable";

const renderFailures = new Counter({
  name: "svgvec_render_failures_total",
  help: "SVGs that failed to render, by reason: timeout (abandoned at SVGVEC_RENDER_TIMEOUT_MS), not_svg (the body is no SVG), unrenderable (resvg refused it or ran out of memory).",
  labelNames: ["reason"] as const,
  registers: [registry],
});

export function countRenderFailure(reason: RenderFailureReason): void {
  renderFailures.inc({ reason });
}

export type Encoder = "image" | "text";

const encoderBatchSize = new Histogram({
  name: "svgvec_encoder_batch_size",
  help: "Items per encoder run, by encoder (image, text): 1 under light load, larger as requests queue behind a run.",
  labelNames: ["encoder"] as const,
  buckets: [1, 2, 4, 8, 16, 32, 64],
  registers: [registry],
});

const encoderQueueDepth = new Gauge({
  name: "svgvec_encoder_queue_depth",
  help: "Items waiting for the next encoder run, by encoder (image, text).",
  labelNames: ["encoder"] as const,
  registers: [registry],
});

/** Reports an encoder's batcher to svgvec_encoder_batch_size and svgvec_encoder_queue_depth. */
export function encoderObserver(encoder: Encoder): BatchObserver {
  const labels = { encoder };
  return {
    queued: (change) => encoderQueueDepth.inc(labels, change),
    ran: (items) => encoderBatchSize.observe(labels, items),
  };
}

const textCacheHits = new Counter({
  name: "svgvec_text_cache_hits_total",
  help: "Search queries whose text embedding was remembered (SVGVEC_TEXT_CACHE_SIZE), so the text encoder did not run.",
  registers: [registry],
});

const textCacheMisses = new Counter({
  name: "svgvec_text_cache_misses_total",
  help: "Search queries whose text had to be embedded by the text encoder (all of them when SVGVEC_TEXT_CACHE_SIZE is 0).",
  registers: [registry],
});

export function countTextCache(hit: boolean): void {
  (hit ? textCacheHits : textCacheMisses).inc();
}

const milvusCallDuration = new Histogram({
  name: "svgvec_milvus_call_duration_seconds",
  help: "Time of each Milvus call, by operation (search, query, upsert, delete, count, ...), failed calls included.",
  labelNames: ["operation"] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

/** Starts timing one Milvus call; operation is a literal of svgvec's code. Call the result when it ends. */
export function startMilvusCall(operation: string): () => void {
  const end = milvusCallDuration.startTimer({ operation });
  return () => {
    end();
  };
}
