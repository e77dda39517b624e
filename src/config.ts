/**
 * svgvec's configuration: read once from the environment, validated, then
 * passed down. Every setting is documented in the README's Configuration table.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import ipaddr from "ipaddr.js";
import { isIP } from "node:net";
import { resolve } from "node:path";
import { ConfigError } from "./errors.js";
import { addressRange } from "./fetch/addresses.js";
import { DEFAULT_INDEX, INDEX_TYPES, type IndexSpec, type IndexType } from "./store/index-spec.js";

export interface FetchConfig {
  /** Allow loopback, private, link-local and other non-public addresses. Off by default. */
  allowPrivateAddresses: boolean;
  /** Non-public ranges allowed all the same (e.g. an internal asset server), as CIDRs. */
  allowCidrs: string[];
  /** Largest body accepted, after decompression. */
  maxBytes: number;
  /** Total time for one download, redirects included. */
  timeoutMs: number;
  maxRedirects: number;
  /** Name a refused host's addresses in the error (for operators debugging); off by default, since it tells callers where names point. */
  revealAddresses?: boolean;
}

export interface MilvusConfig {
  /** host:port of a Milvus server; empty to start the embedded Milvus Lite. */
  address: string;
  /** Milvus token ("user:password" or an API key); empty for none. */
  token: string;
  collection: string;
  /** Folder for Milvus Lite's data when svgvec starts it. */
  liteDataDir: string;
  /** Port for the embedded Milvus Lite; 0 picks a free one. */
  litePort: number;
  /** Explicit path to the Milvus Lite server binary; empty to find it in the Python package. */
  liteBinary: string;
  /** Python interpreter that has milvus-lite installed. */
  python: string;
  /** The vector index built when svgvec creates the collection; an existing index is kept. */
  index: IndexSpec;
  /** HNSW's candidate list per search (at least k); unused by the IVF kinds. */
  searchEf: number;
}

export interface ModelConfig {
  dir: string;
  /** OpenCLIP architecture name; derived from the directory name when empty. */
  name: string;
  /** OpenCLIP pretrained tag; derived from the directory name when empty. */
  pretrained: string;
  /** Threads each ONNX session may use; 0 lets onnxruntime decide. */
  intraOpThreads: number;
  /** Text encoder sessions that run queries side by side. */
  textSessions: number;
}

export interface RenderConfig {
  /** Background the SVG is composited onto, as [r, g, b] 0..255. */
  background: [number, number, number];
  /** Time one SVG may take to render before it is abandoned and its render worker replaced. */
  timeoutMs: number;
  /** Render worker threads; each renders one SVG at a time. */
  workers: number;
  /** Memory each render worker's renderer may use; an SVG that needs more fails and its worker is replaced. */
  maxMemoryMb: number;
  /** SVGs that may wait for a free render worker; one more fails with RESOURCE_EXHAUSTED. */
  maxQueue: number;
}

export interface AccessConfig {
  /** Bearer tokens accepted on every RPC but health; empty allows unauthenticated calls. */
  tokens: string[];
  /** Serve without tokens on an address beyond loopback; off, such a listener is refused at start. */
  allowUnauthenticated: boolean;
  /** PEM certificate chain and private key files for TLS; both empty serves plaintext. */
  tlsCert: string;
  tlsKey: string;
}

export interface LimitsConfig {
  /** StreamAddImages calls open at once; one more is refused with RESOURCE_EXHAUSTED. */
  maxStreams: number;
  /** AddImage calls in progress at once; one more is refused with RESOURCE_EXHAUSTED. */
  maxInflightAdds: number;
  /** ListImages calls open at once; one more is refused with RESOURCE_EXHAUSTED. */
  maxLists: number;
  /** Search calls in progress at once; one more is refused with RESOURCE_EXHAUSTED. */
  maxSearches: number;
  /** Most encoded bytes of records per ListImages message, under the 4 MiB stock gRPC clients accept. */
  listPageBytes: number;
}

export interface Config {
  /** host:port the gRPC server listens on (port 0 picks a free one). */
  listen: string;
  /**
   * host:port of the optional HTTP listener (Connect, gRPC-Web, the seed's REST routes, the search
   * page and /metrics); "" leaves it off.
   */
  httpListen: string;
  access: AccessConfig;
  limits: LimitsConfig;
  milvus: MilvusConfig;
  model: ModelConfig;
  fetch: FetchConfig;
  render: RenderConfig;
  /** Items of one StreamAddImages call in flight at once (downloading, rendering, encoding, writing). */
  streamConcurrency: number;
  /** IVF clusters probed per search unless the request says otherwise. */
  searchNprobe: number;
  /**
   * Milvus consistency for Search: "strong" finds every acknowledged write at once but waits for
   * Milvus's time tick (about 200 ms on a full Milvus); "bounded" answers at once and may miss
   * writes of the last few seconds.
   */
  searchConsistency: "strong" | "bounded";
  /** Embeddings remembered by SVG content hash, so the same bytes are embedded once. */
  embedCacheSize: number;
  /** Text query embeddings remembered. */
  textCacheSize: number;
  /** Most rows per Milvus upsert. */
  upsertBatch: number;
  /** On SIGTERM, how long running calls may take to finish before they are cancelled. */
  shutdownGraceMs: number;
  /** Event-loop delay past which a warning is logged (a step that blocked every call); 0 turns it off. */
  eventLoopWarnMs: number;
  /** Time an HTTP client has to send a whole request, headers and body, over HTTP/1.1 or HTTP/2. */
  httpRequestTimeoutMs: number;
  /** Hugging Face endpoint for `svgvec model pull`. */
  hubEndpoint: string;
  logLevel: "debug" | "info" | "warn" | "error";
  /** SVGVEC_* variables that are no setting (typos, most likely); logged at start, not fatal. */
  unknownSettings: string[];
}

export const DEFAULT_MODEL = "immich-app/ViT-B-32__laion2b-s34b-b79k";
export const DEFAULT_COLLECTION = "cloud_vector_collection";

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const problems: string[] = [];
  const read = new Set<string>();
  const str = (key: string, fallback: string): string => {
    read.add(key);
    const v = env[key];
    return v === undefined || v.trim() === "" ? fallback : v.trim();
  };
  const int = (key: string, fallback: number, min: number, max: number): number => {
    read.add(key);
    const raw = env[key];
    if (raw === undefined || raw.trim() === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${key}=${raw} must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    read.add(key);
    const raw = env[key];
    if (raw === undefined || raw.trim() === "") return fallback;
    const v = raw.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off"].includes(v)) return false;
    problems.push(`${key}=${raw} must be true or false`);
    return fallback;
  };
  /** A comma-separated list; blanks between commas are ignored. */
  const list = (key: string): string[] =>
    str(key, "")
      .split(",")
      .map((v) => v.trim())
      .filter((v) => v !== "");

  const listen = str("SVGVEC_LISTEN", "127.0.0.1:50051");
  const listenOk = isHostPort(listen);
  if (!listenOk) {
    problems.push(`SVGVEC_LISTEN=${listen} must be host:port with a port from 0 to 65535, e.g. 127.0.0.1:50051 or 0.0.0.0:50051`);
  }
  const httpListen = str("SVGVEC_HTTP_LISTEN", "");
  const httpListenOk = httpListen !== "" && isHostPort(httpListen);
  if (httpListen !== "" && !httpListenOk) {
    problems.push(`SVGVEC_HTTP_LISTEN=${httpListen} must be host:port with a port from 0 to 65535, e.g. 127.0.0.1:8080, or empty to serve no HTTP`);
  }
  const address = str("SVGVEC_MILVUS_ADDRESS", "");
  if (address !== "" && !/^(https?:\/\/)?[^\s/]+:\d{1,5}$/.test(address)) {
    problems.push(`SVGVEC_MILVUS_ADDRESS=${address} must be host:port, e.g. 127.0.0.1:19530`);
  }
  const collection = str("SVGVEC_COLLECTION", DEFAULT_COLLECTION);
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,254}$/.test(collection)) {
    problems.push(`SVGVEC_COLLECTION=${collection} must start with a letter or _ and hold only letters, digits and _`);
  }
  const venvPython = resolve(cwd, ".venv/bin/python");
  const background = parseColor(str("SVGVEC_BACKGROUND", "#ffffff"));
  if (background === undefined) {
    problems.push(`SVGVEC_BACKGROUND=${env.SVGVEC_BACKGROUND} must be a colour as #rrggbb`);
  }
  const logLevel = str("SVGVEC_LOG_LEVEL", "info");
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    problems.push(`SVGVEC_LOG_LEVEL=${logLevel} must be one of debug, info, warn, error`);
  }

  const indexType = str("SVGVEC_INDEX_TYPE", DEFAULT_INDEX.type).toUpperCase();
  if (!(INDEX_TYPES as readonly string[]).includes(indexType)) {
    problems.push(`SVGVEC_INDEX_TYPE=${indexType} must be one of ${INDEX_TYPES.join(", ")}`);
  } else if (indexType !== DEFAULT_INDEX.type && address === "") {
    problems.push(
      `SVGVEC_INDEX_TYPE=${indexType} needs a Milvus server (set SVGVEC_MILVUS_ADDRESS): the embedded Milvus Lite builds only ${DEFAULT_INDEX.type}`,
    );
  }

  const searchConsistency = str("SVGVEC_SEARCH_CONSISTENCY", "strong");
  if (!["strong", "bounded"].includes(searchConsistency)) {
    problems.push(`SVGVEC_SEARCH_CONSISTENCY=${searchConsistency} must be strong or bounded`);
  }

  const tokens = list("SVGVEC_AUTH_TOKENS");
  for (const t of tokens) {
    if (t.length < 16 || !/^[\x21-\x7e]+$/.test(t)) {
      problems.push(`SVGVEC_AUTH_TOKENS: each token must be at least 16 printable ASCII characters without spaces (e.g. from \`openssl rand -hex 32\`)`);
      break;
    }
  }
  const allowCidrs = list("SVGVEC_FETCH_ALLOW_CIDRS");
  for (const c of allowCidrs) {
    if (!ipaddr.isValidCIDR(c)) problems.push(`SVGVEC_FETCH_ALLOW_CIDRS: ${c} is not a CIDR range such as 10.20.0.0/16 or fd00:1::/64`);
  }
  const allowUnauthenticated = bool("SVGVEC_ALLOW_UNAUTHENTICATED", false);
  if (listenOk && tokens.length === 0 && !allowUnauthenticated && !isLoopbackListen(listen)) {
    problems.push(
      `SVGVEC_LISTEN=${listen} accepts calls from other machines, and without SVGVEC_AUTH_TOKENS anyone who reaches it ` +
        `can list and remove records and make svgvec fetch URLs. Set SVGVEC_AUTH_TOKENS (e.g. from \`openssl rand -hex 32\`), ` +
        `listen on 127.0.0.1, or set SVGVEC_ALLOW_UNAUTHENTICATED=true if another layer guards the port`,
    );
  }
  if (httpListenOk && tokens.length === 0 && !allowUnauthenticated && !isLoopbackListen(httpListen)) {
    problems.push(
      `SVGVEC_HTTP_LISTEN=${httpListen} accepts calls from other machines, and without SVGVEC_AUTH_TOKENS anyone who reaches it ` +
        `can list and remove records and make svgvec fetch URLs. Set SVGVEC_AUTH_TOKENS (e.g. from \`openssl rand -hex 32\`), ` +
        `listen on 127.0.0.1, or set SVGVEC_ALLOW_UNAUTHENTICATED=true if another layer guards the port`,
    );
  }
  const tlsCert = str("SVGVEC_TLS_CERT", "");
  const tlsKey = str("SVGVEC_TLS_KEY", "");
  if ((tlsCert === "") !== (tlsKey === "")) {
    problems.push(`SVGVEC_TLS_CERT and SVGVEC_TLS_KEY must be set together (PEM files of the certificate chain and its private key)`);
  }
  for (const [key, file] of [["SVGVEC_TLS_CERT", tlsCert], ["SVGVEC_TLS_KEY", tlsKey]] as const) {
    if (file !== "" && !existsSync(resolve(cwd, file))) problems.push(`${key}=${file}: no such file`);
  }

  const config: Config = {
    listen,
    httpListen,
    access: {
      tokens,
      allowUnauthenticated,
      tlsCert: tlsCert === "" ? "" : resolve(cwd, tlsCert),
      tlsKey: tlsKey === "" ? "" : resolve(cwd, tlsKey),
    },
    limits: {
      maxStreams: int("SVGVEC_MAX_STREAMS", 16, 1, 10_000),
      maxInflightAdds: int("SVGVEC_MAX_INFLIGHT_ADDS", 256, 1, 100_000),
      maxLists: int("SVGVEC_MAX_LISTS", 8, 1, 10_000),
      maxSearches: int("SVGVEC_MAX_SEARCHES", 64, 1, 100_000),
      listPageBytes: int("SVGVEC_LIST_PAGE_BYTES", 3 * 1024 * 1024, 64 * 1024, 64 * 1024 * 1024),
    },
    milvus: {
      address,
      token: str("SVGVEC_MILVUS_TOKEN", ""),
      collection,
      liteDataDir: resolve(cwd, str("SVGVEC_DATA_DIR", "data")),
      litePort: int("SVGVEC_MILVUS_LITE_PORT", 0, 0, 65535),
      liteBinary: str("SVGVEC_MILVUS_LITE_BIN", ""),
      python: str("SVGVEC_PYTHON", existsSync(venvPython) ? venvPython : "python3"),
      index: {
        type: indexType as IndexType,
        nlist: int("SVGVEC_INDEX_NLIST", DEFAULT_INDEX.nlist, 1, 65536),
        m: int("SVGVEC_INDEX_HNSW_M", DEFAULT_INDEX.m, 2, 2048),
        efConstruction: int("SVGVEC_INDEX_HNSW_EF_CONSTRUCTION", DEFAULT_INDEX.efConstruction, 1, 65536),
      },
      searchEf: int("SVGVEC_SEARCH_EF", 64, 1, 65536),
    },
    model: {
      dir: resolve(cwd, str("SVGVEC_MODEL_DIR", `models/${DEFAULT_MODEL.split("/")[1]}`)),
      name: str("SVGVEC_MODEL_NAME", ""),
      pretrained: str("SVGVEC_MODEL_PRETRAINED", ""),
      intraOpThreads: int("SVGVEC_INTRA_OP_THREADS", 0, 0, 256),
      textSessions: int("SVGVEC_TEXT_SESSIONS", 2, 1, 16),
    },
    fetch: {
      allowPrivateAddresses: bool("SVGVEC_FETCH_ALLOW_PRIVATE", false),
      allowCidrs,
      maxBytes: int("SVGVEC_FETCH_MAX_BYTES", 5 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      timeoutMs: int("SVGVEC_FETCH_TIMEOUT_MS", 10_000, 100, 600_000),
      maxRedirects: int("SVGVEC_FETCH_MAX_REDIRECTS", 5, 0, 20),
      revealAddresses: bool("SVGVEC_FETCH_REVEAL_ADDRESSES", false),
    },
    render: {
      background: background ?? [255, 255, 255],
      timeoutMs: int("SVGVEC_RENDER_TIMEOUT_MS", 5_000, 10, 600_000),
      workers: int("SVGVEC_RENDER_WORKERS", availableParallelism(), 1, 256),
      maxMemoryMb: int("SVGVEC_RENDER_MAX_MEMORY_MB", 256, 16, 4096),
      maxQueue: int("SVGVEC_RENDER_QUEUE", 1024, 1, 100_000),
    },
    streamConcurrency: int("SVGVEC_STREAM_CONCURRENCY", 32, 1, 1024),
    searchNprobe: int("SVGVEC_SEARCH_NPROBE", 16, 1, 65536),
    searchConsistency: searchConsistency as Config["searchConsistency"],
    embedCacheSize: int("SVGVEC_EMBED_CACHE_SIZE", 10_000, 0, 1_000_000),
    textCacheSize: int("SVGVEC_TEXT_CACHE_SIZE", 1024, 0, 1_000_000),
    upsertBatch: int("SVGVEC_UPSERT_BATCH", 512, 1, 16_384),
    shutdownGraceMs: int("SVGVEC_SHUTDOWN_GRACE_MS", 10_000, 0, 600_000),
    eventLoopWarnMs: int("SVGVEC_EVENT_LOOP_WARN_MS", 500, 0, 600_000),
    httpRequestTimeoutMs: int("SVGVEC_HTTP_REQUEST_TIMEOUT_MS", 300_000, 1_000, 3_600_000),
    hubEndpoint: str("SVGVEC_HF_ENDPOINT", "https://huggingface.co").replace(/\/+$/, ""),
    logLevel: logLevel as Config["logLevel"],
    unknownSettings: [],
  };
  if (problems.length > 0) throw new ConfigError(problems);
  config.unknownSettings = unknownSettings(env, read);
  return config;
}

/** Variables the svgvec CLI's client commands and the test suite read; not server settings. */
const OTHER_VARIABLES = new Set(["SVGVEC_ADDRESS", "SVGVEC_TOKEN"]);

/** SVGVEC_* variables no setting reads (a typo leaves the default in force), each with the likeliest intended name. */
function unknownSettings(env: Env, read: ReadonlySet<string>): string[] {
  return Object.keys(env)
    .filter((k) => k.startsWith("SVGVEC_") && !read.has(k) && !OTHER_VARIABLES.has(k) && !k.startsWith("SVGVEC_TEST_"))
    .sort()
    .map((k) => {
      const near = [...read].map((known) => ({ known, d: editDistance(k, known) })).sort((a, b) => a.d - b.d)[0];
      return near !== undefined && near.d <= 3 ? `${k} (did you mean ${near.known}?)` : k;
    });
}

/** Levenshtein distance; both strings are short variable names. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** host:port, the host a name, an IPv4 address or a bracketed IPv6 address, the port 0 to 65535. */
function isHostPort(listen: string): boolean {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(listen);
  return m !== null && Number(m[2]) <= 65_535;
}

/** The host and port of a checked host:port, an IPv6 host without its brackets. */
export function splitListen(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(":");
  return { host: listen.slice(0, colon).replace(/^\[(.*)\]$/, "$1"), port: Number(listen.slice(colon + 1)) };
}

/** Whether host:port binds only the loopback interface (127.0.0.0/8, ::1, IPv4-mapped loopback, or localhost). */
export function isLoopbackListen(listen: string): boolean {
  const host = splitListen(listen).host.toLowerCase();
  if (host === "localhost") return true;
  return isIP(host) !== 0 && addressRange(host) === "loopback";
}

function parseColor(s: string): [number, number, number] | undefined {
  const m = /^#?([0-9a-fA-F]{6})$/.exec(s);
  if (!m || m[1] === undefined) return undefined;
  const n = parseInt(m[1], 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}
