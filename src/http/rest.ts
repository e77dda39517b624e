/**
 * The original system's REST API (its Flask routes under /api/milvus/), served on the HTTP port from
 * the same svgvec.v1 implementation as gRPC and Connect: each route turns the seed's JSON into the
 * RPC's request message, calls the implementation, and answers in the seed's shapes. Validation is
 * the implementation's and failures map through rpc/status.ts, so every edge answers alike.
 */
import type { Writable } from "node:stream";
import { create, type DescMethod } from "@bufbuild/protobuf";
import { Code, createHandlerContext, type HandlerContext } from "@connectrpc/connect";
import { DataType } from "@zilliz/milvus2-sdk-node";
import { CancelledError, InvalidArgumentError, UnauthenticatedError, errorMessage } from "../errors.js";
import {
  AddImageRequestSchema,
  AddImageResponseSchema,
  AddOutcome,
  ListImagesRequestSchema,
  ListImagesResponseSchema,
  MilvusDeployment,
  RemoveRequestSchema,
  RemoveResponseSchema,
  SearchRequestSchema,
  SearchResponseSchema,
  StatsRequestSchema,
  StatsResponseSchema,
  StreamAddImagesRequestSchema,
  StreamAddImagesResponseSchema,
  SvgVecService,
  type Image,
  type StatsResponse,
  type StreamAddImagesRequest,
} from "../gen/svgvec/v1/svgvec_pb.js";
import { MAX_MESSAGE_BYTES } from "../rpc/validate.js";
import type { Logger } from "../log.js";
import { STATUS_OK, startRequest } from "../metrics/metrics.js";
import { statusCode } from "../rpc/status.js";
import type { SvgVecImpl } from "../rpc/svgvec-impl.js";
import { SCHEMA } from "../store/milvus-store.js";
import { HttpRefusal, type JsonObject, readJsonBody, readOptionalJsonBody } from "./json-body.js";
import { sendError, sendFailure, sendJson, type HttpRequest, type HttpResponse } from "./respond.js";
import type { HttpRoute } from "./server.js";

export const REST_PREFIX = "/api/milvus/";
/** Records GET /data returns when the query names no limit, as in the seed's example; limit=0 returns all. */
export const DATA_DEFAULT_LIMIT = 10;
/** Items one POST /batch/add takes; StreamAddImages takes any number. */
export const BATCH_MAX_ITEMS = 1000;
/** The seed's service name, which its clients' health checks print. */
const SERVICE_NAME = "milvus-vector-database-api";
/** Bytes of JSON gathered before each write of a listing: few writes, and little held at once. */
const DATA_CHUNK_BYTES = 64 * 1024;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

export interface RestOptions {
  impl: SvgVecImpl;
  log: Logger;
  /** Why svgvec cannot serve now (an encoder is restarting, say), or undefined when it can. */
  unavailable: () => string | undefined;
}

/** One request on its way through a route. */
interface Call {
  req: HttpRequest;
  res: HttpResponse;
  url: URL;
  /** A handler context for an svgvec.v1 method, aborted when the client goes away. */
  context(method: DescMethod): HandlerContext;
  /** Whether the client closed the connection before the answer was complete. */
  gone(): boolean;
}

interface Route {
  method: "GET" | "POST" | "DELETE";
  /** The svgvec.v1 method the route serves, for svgvec_requests_total (health serves none). */
  rpc: string;
  /** Served without a token (health, which load balancers probe). */
  open?: boolean;
  handle(call: Call): Promise<void>;
}

const EXAMPLES = {
  add: '{"id": 1, "url": "https://example.com/dog.svg"}',
  search: '{"text": "dog", "k": 5}',
  delete: '{"id": 1}',
  batch: '{"images": [{"id": 1, "url": "https://example.com/dog.svg"}]}',
};

export function restRoutes(opts: RestOptions): HttpRoute {
  const { impl, log } = opts;
  const body = (call: Call, example: string) => readJsonBody(call.req, { maxBytes: MAX_MESSAGE_BYTES, example });

  const routes = new Map<string, Route>([
    [
      "health",
      {
        rpc: "other",
        method: "GET",
        open: true,
        handle: async ({ res }) => {
          const why = opts.unavailable();
          if (why === undefined) sendJson(res, 200, { service: SERVICE_NAME, status: "healthy" });
          else sendJson(res, 503, { service: SERVICE_NAME, status: "unhealthy", reason: why });
        },
      },
    ],
    [
      "add",
      {
        rpc: "AddImage",
        method: "POST",
        handle: async (call) => {
          noQuery(call.url);
          const json = await body(call, EXAMPLES.add);
          onlyFields(json, ["id", "url"]);
          const request = create(AddImageRequestSchema, { id: idField(json, "id"), url: stringField(json, "url") });
          const answer = create(AddImageResponseSchema, await impl.addImage(request, call.context(SvgVecService.method.addImage)));
          sendJson(call.res, 200, { success: true, outcome: outcomeName(answer.outcome), ...record(answer.image) });
        },
      },
    ],
    ["data", { method: "GET", rpc: "ListImages", handle: (call) => streamData(call, impl) }],
    [
      "search",
      {
        rpc: "Search",
        method: "POST",
        handle: async (call) => {
          noQuery(call.url);
          const json = await body(call, EXAMPLES.search);
          onlyFields(json, ["text", "k"]);
          const request = create(SearchRequestSchema, { text: stringField(json, "text"), k: numberField(json, "k") });
          const answer = create(SearchResponseSchema, await impl.search(request, call.context(SvgVecService.method.search)));
          sendJson(call.res, 200, {
            query: request.text,
            count: answer.hits.length,
            results: answer.hits.map((h) => ({ id: jsonInt(h.id), url: h.url, similarity: h.similarity })),
          });
        },
      },
    ],
    [
      "delete",
      {
        rpc: "Remove",
        method: "DELETE",
        handle: async (call) => {
          const query = queryParams(call.url, ["id"]);
          const json = await readOptionalJsonBody(call.req, { maxBytes: MAX_MESSAGE_BYTES, example: EXAMPLES.delete });
          if (json !== undefined) onlyFields(json, ["id"]);
          const fromBody = json === undefined ? undefined : idField(json, "id");
          const idText = query.get("id");
          const fromQuery = idText === undefined ? undefined : int64(idText, "id");
          if (fromBody !== undefined && fromQuery !== undefined) {
            throw new InvalidArgumentError("id", "is in both the body and the query; send it once");
          }
          const request = create(RemoveRequestSchema, { id: fromBody ?? fromQuery });
          const answer = create(RemoveResponseSchema, await impl.remove(request, call.context(SvgVecService.method.remove)));
          sendJson(call.res, 200, { id: jsonInt(request.id ?? 0n), removed: answer.removed });
        },
      },
    ],
    [
      "batch/add",
      {
        rpc: "StreamAddImages",
        method: "POST",
        handle: async (call) => {
          noQuery(call.url);
          const json = await body(call, EXAMPLES.batch);
          onlyFields(json, ["images"]);
          const items = batchItems(json.images);
          const summary = create(
            StreamAddImagesResponseSchema,
            await impl.streamAddImages(iterate(items), call.context(SvgVecService.method.streamAddImages)),
          );
          sendJson(call.res, 200, {
            success_count: jsonInt(summary.added + summary.replaced + summary.unchanged),
            total: jsonInt(summary.received),
            added: jsonInt(summary.added),
            replaced: jsonInt(summary.replaced),
            unchanged: jsonInt(summary.unchanged),
            failed: jsonInt(summary.failed),
            failures: summary.failures.map((f) => {
              const index = Number(f.index);
              const id = items[index]?.id;
              return { index, id: id === undefined ? null : jsonInt(id), url: f.url, code: restCode(f.code), message: f.reason };
            }),
          });
        },
      },
    ],
    [
      "stats",
      {
        rpc: "Stats",
        method: "GET",
        handle: async (call) => {
          noQuery(call.url);
          sendJson(call.res, 200, statsBody(await stats(impl, call)));
        },
      },
    ],
    [
      "collection/info",
      {
        rpc: "Stats",
        method: "GET",
        handle: async (call) => {
          noQuery(call.url);
          sendJson(call.res, 200, collectionBody(await stats(impl, call)));
        },
      },
    ],
  ]);
  const listing = [...routes].map(([path, r]) => `${r.method} ${REST_PREFIX}${path}`).join(", ");

  return async (req, res, url, authorized) => {
    if (url.pathname !== REST_PREFIX.slice(0, -1) && !url.pathname.startsWith(REST_PREFIX)) return false;
    const route = routes.get(url.pathname.slice(REST_PREFIX.length));
    if (route === undefined) {
      sendError(res, 404, "not_found", `no such route: ${url.pathname.slice(0, 200)}; the routes are ${listing}`);
      return true;
    }
    const what = `REST ${route.method} ${url.pathname}`;
    if (req.method !== route.method) {
      res.setHeader("allow", route.method);
      sendError(res, 405, "unimplemented", `${url.pathname} answers ${route.method}, not ${String(req.method).slice(0, 20)}`);
      return true;
    }
    const done = startRequest("rest", route.rpc);
    const problem = route.open ? undefined : authorized();
    if (problem !== undefined) {
      done(Code.Unauthenticated);
      sendFailure(res, new UnauthenticatedError(problem), log, what);
      return true;
    }
    const call = startCall(req, res, url);
    try {
      await route.handle(call);
      done(call.gone() ? Code.Canceled : STATUS_OK);
    } catch (err) {
      const code = err instanceof HttpRefusal ? refusalCode(err) : statusCode(err);
      done(call.gone() ? Code.Canceled : cutOff(call) ? Code.DeadlineExceeded : code);
      answerFailure(call, err, log, what);
    }
    return true;
  };
}

/** The call's state, with handler contexts that abort when the client closes the connection early. */
function startCall(req: HttpRequest, res: HttpResponse, url: URL): Call {
  let finished = false;
  let gone = false;
  const contexts: Array<ReturnType<typeof createHandlerContext>> = [];
  const leaving = () => new CancelledError("the HTTP client closed the connection before the answer was complete");
  res.once("finish", () => (finished = true));
  res.once("close", () => {
    if (finished) return;
    gone = true;
    for (const ctx of contexts) ctx.abort(leaving());
  });
  return {
    req,
    res,
    url,
    gone: () => gone,
    context(method) {
      const ctx = createHandlerContext({ service: SvgVecService, method, protocolName: "rest", requestMethod: req.method ?? "", url: url.pathname });
      if (gone) ctx.abort(leaving());
      contexts.push(ctx);
      return ctx;
    },
  };
}

/** The gRPC code a refusal of the HTTP layer stands for, for the request metrics. */
function refusalCode(err: HttpRefusal): Code {
  return err.status === 413 ? Code.ResourceExhausted : Code.InvalidArgument;
}

/**
 * Whether the answer is complete although the route failed: the server answered 408 for a request
 * whose body did not arrive in time (SVGVEC_HTTP_REQUEST_TIMEOUT_MS), which ended its body early.
 */
function cutOff(call: Call): boolean {
  return call.res.writableEnded;
}

function answerFailure(call: Call, err: unknown, log: Logger, what: string): void {
  const { res } = call;
  if (call.gone()) {
    log.debug(`${what}: the client left before the answer`, { error: errorMessage(err) });
    return;
  }
  if (cutOff(call)) {
    log.debug(`${what}: the request did not arrive in time and was answered 408`, { error: errorMessage(err) });
    return;
  }
  if (res.headersSent) {
    // A listing that failed halfway: ending it would pass a cut list off as whole.
    log.warn(`${what} failed after its answer had started; the connection was closed`, { error: errorMessage(err) });
    res.destroy();
    return;
  }
  if (err instanceof HttpRefusal) sendError(res, err.status, err.code, err.message);
  else sendFailure(res, err, log, what);
}

/**
 * GET /data: the total, then the records as a JSON array written page by page as the listing yields
 * them, waiting whenever the client reads slower; a client that leaves ends the listing and frees
 * its slot (SVGVEC_MAX_LISTS).
 */
async function streamData(call: Call, impl: SvgVecImpl): Promise<void> {
  const { res } = call;
  const query = queryParams(call.url, ["include_vectors", "limit"]);
  const includeVectors = booleanParam(query.get("include_vectors"), "include_vectors");
  const limitText = query.get("limit");
  const limit = limitText === undefined ? BigInt(DATA_DEFAULT_LIMIT) : wholeNumber(limitText, "limit", "a number of records, or 0 for all");
  const total = (await stats(impl, call)).totalImages;
  const request = create(ListImagesRequestSchema, { includeVectors, limit });
  const pages = impl.listImages(request, call.context(SvgVecService.method.listImages))[Symbol.asyncIterator]();
  try {
    // The first page before the headers, so that a refusal (too many listings) is an ordinary error answer.
    let page = await pages.next();
    res.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
    let chunk = `{"total":${jsonInt(total)},"data":[`;
    let returned = 0;
    while (page.done !== true) {
      for (const image of create(ListImagesResponseSchema, page.value).images) {
        chunk += (returned++ === 0 ? "" : ",") + JSON.stringify(record(image, includeVectors));
        if (chunk.length >= DATA_CHUNK_BYTES) {
          if (!(await write(res, chunk))) return;
          chunk = "";
        }
      }
      page = await pages.next();
      if (call.gone()) return;
    }
    res.end(`${chunk}],"returned":${returned}}`);
  } finally {
    // Returning the listing ends its generator, which gives back the listing's slot.
    await pages.return?.();
  }
}

/** Writes text; resolves true once the client can take more, false if it went away first. */
function write(res: HttpResponse, text: string): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  // Both HTTP versions' responses are Writables; TypeScript cannot call the union's overloads.
  const out: Writable = res;
  if (out.write(text)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    res.once("drain", onDrain);
    res.once("close", onClose);
  });
}

async function stats(impl: SvgVecImpl, call: Call): Promise<StatsResponse> {
  return create(StatsResponseSchema, await impl.stats(create(StatsRequestSchema), call.context(SvgVecService.method.stats)));
}

function statsBody(s: StatsResponse): JsonObject {
  return {
    total_images: jsonInt(s.totalImages),
    collection_name: s.collectionName,
    metric_type: s.metricType,
    model: {
      name: s.model?.name ?? "",
      pretrained: s.model?.pretrained ?? "",
      dimension: s.model?.dimension ?? 0,
      path: s.model?.path ?? "",
      visual_batch: s.model?.visualBatch ?? 0,
    },
    index: { type: s.index?.type ?? "", metric_type: s.index?.metricType ?? "", params: indexParams(s) },
    milvus: milvusBody(s),
  };
}

/** The collection as the seed's collection/info described it: schema fields, index, metric, Milvus. */
function collectionBody(s: StatsResponse): JsonObject {
  return {
    collection_name: s.collectionName,
    num_entities: jsonInt(s.totalImages),
    fields: SCHEMA.map((f) => ({
      name: f.name,
      type: typeName(f.data_type),
      ...(f.is_primary_key ? { is_primary: true, auto_id: f.autoID ?? false } : {}),
      ...(f.max_length !== undefined ? { max_length: Number(f.max_length) } : {}),
      ...(f.dim !== undefined ? { dimension: Number(f.dim) } : {}),
    })),
    index: { field: "vector", index_type: s.index?.type ?? "", metric_type: s.index?.metricType ?? "", params: indexParams(s) },
    metric_type: s.metricType,
    milvus: milvusBody(s),
  };
}

function milvusBody(s: StatsResponse): JsonObject {
  const deployment = s.milvus?.deployment ?? MilvusDeployment.UNSPECIFIED;
  return {
    deployment: deployment === MilvusDeployment.UNSPECIFIED ? "unknown" : MilvusDeployment[deployment].toLowerCase(),
    version: s.milvus?.version ?? "",
    address: s.milvus?.address ?? "",
  };
}

/** Index parameters as the seed wrote them ({"nlist": 1024}): numbers where Milvus reports digits. */
function indexParams(s: StatsResponse): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(s.index?.params ?? {})) out[key] = /^[0-9]{1,15}$/.test(value) ? Number(value) : value;
  return out;
}

/** Milvus's type names as the seed's schema wrote them: INT64, VARCHAR, FLOAT_VECTOR. */
function typeName(type: DataType | string): string {
  const name = typeof type === "number" ? (DataType[type] ?? String(type)) : type;
  return name.replace(/Vector$/, "_Vector").toUpperCase();
}

function record(image: Image | undefined, includeVector = false): JsonObject {
  if (image === undefined) return {};
  return {
    id: jsonInt(image.id),
    url: image.url,
    added_at: image.addedAt,
    updated_at: image.updatedAt,
    ...(includeVector ? { vector: image.vector } : {}),
  };
}

function outcomeName(outcome: AddOutcome): string {
  return AddOutcome[outcome]?.toLowerCase() ?? "unspecified";
}

/** A streamed item's gRPC code name (INVALID_ARGUMENT) as the REST errors spell codes (invalid_argument). */
function restCode(grpcName: string): string {
  return grpcName === "CANCELLED" ? "canceled" : grpcName.toLowerCase();
}

/**
 * An int64 in an answer: a JSON number while it is a safe integer (|n| < 2^53), else a string of
 * digits, since JSON readers round larger numbers.
 */
export function jsonInt(n: bigint): number | string {
  return n >= -SAFE_MAX && n <= SAFE_MAX ? Number(n) : n.toString();
}

function batchItems(images: unknown): StreamAddImagesRequest[] {
  if (!Array.isArray(images)) {
    throw new InvalidArgumentError("images", `is ${jsonType(images)}; send an array of {"id", "url"} objects, e.g. ${EXAMPLES.batch}`);
  }
  if (images.length > BATCH_MAX_ITEMS) {
    throw new HttpRefusal(
      413,
      "resource_exhausted",
      `images has ${images.length} items; one batch takes at most ${BATCH_MAX_ITEMS}: split it, or stream any number with the StreamAddImages RPC (gRPC, or svgvec import)`,
    );
  }
  return images.map((item: unknown, n) => {
    const where = `images[${n}]`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      throw new InvalidArgumentError(where, `is ${jsonType(item)}; send an object like {"id": 1, "url": "https://example.com/dog.svg"}`);
    }
    const fields = item as JsonObject;
    onlyFields(fields, ["id", "url"], where);
    return create(StreamAddImagesRequestSchema, { id: idField(fields, "id", `${where}.id`), url: stringField(fields, "url", `${where}.url`) });
  });
}

async function* iterate<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** Refuses members the route does not take, so that a misspelt one ("txt") is not silently dropped. */
function onlyFields(json: JsonObject, allowed: readonly string[], where = "body"): void {
  const unknown = Object.keys(json).filter((k) => !allowed.includes(k));
  if (unknown.length === 0) return;
  const names = unknown.slice(0, 5).map((k) => JSON.stringify(k.slice(0, 50))).join(", ");
  throw new InvalidArgumentError(
    where,
    `has ${unknown.length === 1 ? "an unknown field" : "unknown fields"} ${names}${unknown.length > 5 ? ", ..." : ""}; it takes ${allowed.join(", ")}`,
  );
}

/** The query's parameters, refusing any the route does not take and any given twice. */
function queryParams(url: URL, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of url.searchParams) {
    const shown = JSON.stringify(name.slice(0, 50));
    if (!allowed.includes(name)) {
      const takes = allowed.length === 0 ? "it takes none" : `it takes ${allowed.join(", ")}`;
      throw new InvalidArgumentError("query", `has an unknown parameter ${shown}; ${takes}`);
    }
    if (out.has(name)) throw new InvalidArgumentError(name, "is in the query more than once; send it once");
    out.set(name, value);
  }
  return out;
}

function noQuery(url: URL): void {
  queryParams(url, []);
}

function booleanParam(value: string | undefined, name: string): boolean {
  if (value === undefined) return false;
  const v = value.toLowerCase();
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new InvalidArgumentError(name, `is ${JSON.stringify(value.slice(0, 50))}; send true or false`);
}

function wholeNumber(value: string, name: string, what: string): bigint {
  if (!/^[0-9]{1,19}$/.test(value)) throw new InvalidArgumentError(name, `is ${JSON.stringify(value.slice(0, 50))}; send ${what}`);
  return BigInt(value);
}

/**
 * An id from JSON: a number that is a safe integer, or a string of decimal digits for any int64.
 * A larger JSON number has already been rounded by the parser, so it is refused, not stored under
 * a neighbouring id.
 */
function idField(json: JsonObject, name: string, where = name): bigint | undefined {
  const v = json[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return int64(v, where);
  if (typeof v !== "number") throw new InvalidArgumentError(where, `is ${jsonType(v)}; send an integer, e.g. 1 (or "9007199254740993" as a string)`);
  if (!Number.isInteger(v)) throw new InvalidArgumentError(where, `is ${v}; send a whole number`);
  if (!Number.isSafeInteger(v)) {
    throw new InvalidArgumentError(
      where,
      `is a JSON number beyond ±9007199254740991 (2^53-1), which JSON parsers round (it arrived as ${v}); send an id this large as a string of digits, e.g. "9007199254740993"`,
    );
  }
  return BigInt(v);
}

function int64(value: string, where: string): bigint {
  if (!/^-?[0-9]{1,19}$/.test(value)) {
    throw new InvalidArgumentError(where, `is ${JSON.stringify(value.slice(0, 50))}; send an int64 as a number or a string of decimal digits`);
  }
  const n = BigInt(value);
  if (n < INT64_MIN || n > INT64_MAX) throw new InvalidArgumentError(where, `is ${value}, outside int64 (${INT64_MIN} to ${INT64_MAX})`);
  return n;
}

function stringField(json: JsonObject, name: string, where = name): string {
  const v = json[name];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new InvalidArgumentError(where, `is ${jsonType(v)}; send a string`);
  return v;
}

function numberField(json: JsonObject, name: string): number | undefined {
  const v = json[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number") throw new InvalidArgumentError(name, `is ${jsonType(v)}; send a number, e.g. 5`);
  return v;
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return `the string ${JSON.stringify(v.slice(0, 50))}`;
  return `${typeof v} ${String(v)}`;
}
