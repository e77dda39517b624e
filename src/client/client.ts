/**
 * The TypeScript client of svgvec.v1: a Connect client typed from the
 * generated service descriptor, speaking the gRPC protocol over HTTP/2, so it
 * talks to svgvec (or any gRPC server of this contract) directly.
 */
import { readFileSync } from "node:fs";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type CallOptions, type Client, type Interceptor } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import {
  SvgVecService,
  type AddImageRequestSchema,
  type AddImageResponse,
  type ListImagesRequestSchema,
  type ListImagesResponse,
  type RemoveRequestSchema,
  type RemoveResponse,
  type SearchRequestSchema,
  type SearchResponse,
  type StatsResponse,
  type StreamAddImagesRequestSchema,
  type StreamAddImagesResponse,
} from "../gen/svgvec/v1/svgvec_pb.js";
import { Health, type ServingStatus } from "./health.js";

export interface RetryOptions {
  /** Tries per unary call, the first one included; 1 turns retrying off. Default 4. */
  maxAttempts?: number;
  /** The wait before the second try; it doubles for each further try (with jitter). Default 100 ms. */
  initialBackoffMs?: number;
  /** The longest wait between two tries. Default 2,000 ms. */
  maxBackoffMs?: number;
}

export interface TlsOptions {
  /** A PEM file of the CA that signed the server's certificate (a self-signed certificate is its own CA). */
  caFile?: string;
  /** The same as PEM text. Without either, the system's CAs are trusted. */
  ca?: string | Buffer;
}

export interface SvgVecClientOptions {
  /** The deadline of every call, in milliseconds, unless a call gives its own timeoutMs. Default: none. */
  timeoutMs?: number;
  /** Sent as `authorization: Bearer <token>` on every call (the server's SVGVEC_AUTH_TOKENS). */
  token?: string;
  /** Connect over TLS (true: trust the system's CAs). An https:// address implies it. */
  tls?: boolean | TlsOptions;
  /**
   * Unary calls that fail with UNAVAILABLE (server unreachable or restarting, Milvus down) are tried
   * again with exponential backoff, within the call's deadline (when the next try would come after the deadline,
   * the call ends at once with the last UNAVAILABLE, which says why). Every svgvec call is safe to repeat
   * (adds are upserts). Streams are never retried: their items are the caller's to send again.
   */
  retry?: RetryOptions;
  /** Further Connect interceptors; they run inside the retry loop, so they see every try. */
  interceptors?: Interceptor[];
}

export type StreamAddItem = MessageInitShape<typeof StreamAddImagesRequestSchema>;

export interface SvgVecClient {
  /** The plain Connect client, for options this wrapper does not cover. */
  readonly rpc: Client<typeof SvgVecService>;
  addImage(request: MessageInitShape<typeof AddImageRequestSchema>, options?: CallOptions): Promise<AddImageResponse>;
  /** Sends every item (from any iterable) in one stream and resolves with the server's summary. */
  streamAddImages(items: Iterable<StreamAddItem> | AsyncIterable<StreamAddItem>, options?: CallOptions): Promise<StreamAddImagesResponse>;
  /** Every stored record, in pages, ordered by id. */
  listImages(request?: MessageInitShape<typeof ListImagesRequestSchema>, options?: CallOptions): AsyncIterable<ListImagesResponse>;
  search(request: MessageInitShape<typeof SearchRequestSchema>, options?: CallOptions): Promise<SearchResponse>;
  stats(options?: CallOptions): Promise<StatsResponse>;
  remove(request: MessageInitShape<typeof RemoveRequestSchema>, options?: CallOptions): Promise<RemoveResponse>;
  /** grpc.health.v1 Check: "" for the server as a whole, or "svgvec.v1.SvgVecService". Needs no token. */
  health(service?: string, options?: CallOptions): Promise<ServingStatus>;
  /** Closes the connection; calls still running fail. */
  close(): void;
}

/** An option of createSvgVecClient is unusable (raised before anything is sent). */
export class SvgVecClientOptionsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SvgVecClientOptionsError";
  }
}

const DEFAULT_RETRY: Required<RetryOptions> = { maxAttempts: 4, initialBackoffMs: 100, maxBackoffMs: 2_000 };

/**
 * A client for the svgvec server at address: "host:port" (plaintext unless options.tls) or an
 * http:// or https:// URL.
 */
export function createSvgVecClient(address: string, options: SvgVecClientOptions = {}): SvgVecClient {
  const { url, tls } = resolveAddress(address, options.tls);
  const retry = retryOptions(options.retry);
  if (options.timeoutMs !== undefined && !(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
    throw new SvgVecClientOptionsError(`timeoutMs must be a positive number of milliseconds, not ${options.timeoutMs}`);
  }
  const interceptors: Interceptor[] = [retryInterceptor(retry)];
  if (options.token !== undefined) interceptors.push(bearerInterceptor(options.token));
  interceptors.push(...(options.interceptors ?? []));

  const ca = tls === false ? undefined : caOf(tls);
  // Our own session manager, so that close() can end the connection (the transport has no close).
  const session = new Http2SessionManager(url, {}, ca === undefined ? {} : { ca });
  const transport = createGrpcTransport({
    baseUrl: url,
    sessionManager: session,
    interceptors,
    ...(options.timeoutMs !== undefined ? { defaultTimeoutMs: options.timeoutMs } : {}),
  });
  const rpc = createClient(SvgVecService, transport);
  const health = createClient(Health, transport);
  return {
    rpc,
    addImage: (request, callOptions) => rpc.addImage(request, callOptions),
    streamAddImages: (items, callOptions) => rpc.streamAddImages(toAsync(items), callOptions),
    listImages: (request = {}, callOptions) => rpc.listImages(request, callOptions),
    search: (request, callOptions) => rpc.search(request, callOptions),
    stats: (callOptions) => rpc.stats({}, callOptions),
    remove: (request, callOptions) => rpc.remove(request, callOptions),
    health: async (service = "", callOptions) => (await health.check({ service }, callOptions)).status,
    close: () => session.abort(),
  };
}

function resolveAddress(address: string, tlsOption: SvgVecClientOptions["tls"]): { url: string; tls: false | true | TlsOptions } {
  const schemed = address.includes("://");
  let parsed: URL;
  try {
    parsed = new URL(schemed ? address : `http://${address}`);
  } catch (e) {
    throw new SvgVecClientOptionsError(`address "${address}" is not host:port or an http(s) URL (e.g. 127.0.0.1:50051)`, { cause: e });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new SvgVecClientOptionsError(`address "${address}" must be host:port, or a URL starting http:// or https://`);
  }
  if (!schemed && parsed.port === "") {
    throw new SvgVecClientOptionsError(`address "${address}" has no port: give host:port (svgvec listens on 50051 by default)`);
  }
  if (schemed && parsed.protocol === "http:" && tlsOption !== undefined && tlsOption !== false) {
    throw new SvgVecClientOptionsError(`address "${address}" says http:// but TLS was asked for: use https://, or host:port`);
  }
  const tls = tlsOption === undefined || tlsOption === false ? parsed.protocol === "https:" : tlsOption;
  return { url: `${tls === false ? "http" : "https"}://${parsed.host}`, tls };
}

function caOf(tls: true | TlsOptions): string | Buffer | undefined {
  if (tls === true) return undefined;
  if (tls.ca !== undefined) return tls.ca;
  if (tls.caFile === undefined) return undefined;
  try {
    return readFileSync(tls.caFile);
  } catch (e) {
    throw new SvgVecClientOptionsError(`cannot read the TLS CA file ${tls.caFile} (${(e as Error).message}): give the PEM file of the CA that signed the server's certificate`, {
      cause: e,
    });
  }
}

function retryOptions(given: RetryOptions | undefined): Required<RetryOptions> {
  const retry = { ...DEFAULT_RETRY, ...given };
  if (!Number.isInteger(retry.maxAttempts) || retry.maxAttempts < 1) {
    throw new SvgVecClientOptionsError(`retry.maxAttempts must be a whole number of at least 1 (1 turns retrying off), not ${retry.maxAttempts}`);
  }
  for (const key of ["initialBackoffMs", "maxBackoffMs"] as const) {
    if (!(Number.isFinite(retry[key]) && retry[key] >= 0)) throw new SvgVecClientOptionsError(`retry.${key} must be a number of milliseconds >= 0, not ${retry[key]}`);
  }
  return retry;
}

/** A bearer token travels in a header: it must be printable ASCII without spaces. */
const TOKEN_SHAPE = /^[\x21-\x7e]+$/;

function bearerInterceptor(token: string): Interceptor {
  if (!TOKEN_SHAPE.test(token)) {
    throw new SvgVecClientOptionsError("token must be printable ASCII without spaces or line breaks (the value of one of the server's SVGVEC_AUTH_TOKENS)");
  }
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
}

function retryInterceptor(retry: Required<RetryOptions>): Interceptor {
  return (next) => async (req) => {
    // A stream's items may have been read from a one-shot source; replaying them is the caller's call.
    if (req.stream) return next(req);
    const deadline = Date.now() + timeoutOf(req.header);
    for (let attempt = 1; ; attempt++) {
      try {
        return await next(req);
      } catch (e) {
        if (attempt >= retry.maxAttempts || ConnectError.from(e).code !== Code.Unavailable) throw e;
        const ceiling = Math.min(retry.maxBackoffMs, retry.initialBackoffMs * 2 ** (attempt - 1));
        // Jitter spreads the retries of many clients that lost the same server at the same moment.
        const wait = ceiling * (0.5 + Math.random() / 2);
        // Connect turns a call whose deadline fires into a bare DEADLINE_EXCEEDED; the UNAVAILABLE that
        // would keep it waiting says why (nothing listening, Milvus down), so the caller can act on it.
        if (Date.now() + wait >= deadline) throw e;
        await sleep(wait, req.signal);
      }
    }
  };
}

const TIMEOUT_UNITS_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };

/** The call's timeout from its grpc-timeout header (the transport sets it before interceptors run); Infinity without one. */
function timeoutOf(header: Headers): number {
  const match = /^(\d{1,8})([HMSmun])$/.exec(header.get("grpc-timeout") ?? "");
  return match === null ? Infinity : Number(match[1]) * (TIMEOUT_UNITS_MS[match[2] ?? ""] ?? 0);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(ConnectError.from(signal.reason, Code.Canceled));
    const onAbort = () => {
      clearTimeout(timer);
      reject(ConnectError.from(signal.reason, Code.Canceled));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

async function* toAsync<T>(items: Iterable<T> | AsyncIterable<T>): AsyncIterable<T> {
  yield* items;
}
