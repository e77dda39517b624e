import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { ConfigError } from "../src/errors.js";

describe("loadConfig", () => {
  it("has safe defaults: loopback listener, embedded Milvus Lite, private addresses refused", () => {
    const c = loadConfig({}, "/srv/svgvec");
    expect(c.listen).toBe("127.0.0.1:50051");
    expect(c.milvus.address).toBe("");
    expect(c.milvus.collection).toBe("cloud_vector_collection");
    expect(c.milvus.liteDataDir).toBe("/srv/svgvec/data");
    expect(c.model.dir).toBe("/srv/svgvec/models/ViT-B-32__laion2b-s34b-b79k");
    expect(c.fetch).toEqual({ allowPrivateAddresses: false, allowCidrs: [], maxBytes: 5 * 1024 * 1024, timeoutMs: 10_000, maxRedirects: 5, revealAddresses: false });
    expect(c.render.background).toEqual([255, 255, 255]);
    expect(c.searchConsistency).toBe("strong");
    expect(c.access).toEqual({ tokens: [], allowUnauthenticated: false, tlsCert: "", tlsKey: "" });
    expect(c.render.maxQueue).toBe(1024);
    expect(c.eventLoopWarnMs).toBe(500);
    expect(c.limits).toEqual({ maxStreams: 16, maxInflightAdds: 256, maxLists: 8, maxSearches: 64, listPageBytes: 3 * 1024 * 1024 });
    expect(c.render.timeoutMs).toBe(5_000);
    expect(c.render.maxMemoryMb).toBe(256);
  });

  it("reads the access, limit and render settings", () => {
    const c = loadConfig(
      {
        SVGVEC_AUTH_TOKENS: "0123456789abcdef0123, fedcba9876543210fedc",
        SVGVEC_TLS_CERT: "package.json",
        SVGVEC_TLS_KEY: "package.json",
        SVGVEC_MAX_STREAMS: "2",
        SVGVEC_MAX_INFLIGHT_ADDS: "3",
        SVGVEC_MAX_LISTS: "4",
        SVGVEC_MAX_SEARCHES: "5",
        SVGVEC_LIST_PAGE_BYTES: "1048576",
        SVGVEC_RENDER_TIMEOUT_MS: "250",
        SVGVEC_RENDER_WORKERS: "3",
        SVGVEC_RENDER_MAX_MEMORY_MB: "64",
        SVGVEC_FETCH_ALLOW_CIDRS: "10.20.0.0/16, fd00:1::/64",
      },
      process.cwd(),
    );
    expect(c.access.tokens).toEqual(["0123456789abcdef0123", "fedcba9876543210fedc"]);
    expect(c.access.tlsCert).toMatch(/\/package\.json$/);
    expect(c.limits).toEqual({ maxStreams: 2, maxInflightAdds: 3, maxLists: 4, maxSearches: 5, listPageBytes: 1_048_576 });
    expect([c.render.timeoutMs, c.render.workers, c.render.maxMemoryMb]).toEqual([250, 3, 64]);
    expect(c.fetch.allowCidrs).toEqual(["10.20.0.0/16", "fd00:1::/64"]);
  });

  it("refuses weak tokens, half a TLS pair, missing files and bad ranges", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env, "/");
      } catch (e) {
        return (e as ConfigError).problems.join("\n");
      }
      return "";
    };
    expect(problems({ SVGVEC_AUTH_TOKENS: "short" })).toMatch(/at least 16 printable ASCII characters/);
    expect(problems({ SVGVEC_TLS_CERT: "/nonexistent/cert.pem" })).toMatch(/must be set together/);
    expect(problems({ SVGVEC_TLS_CERT: "/nonexistent/cert.pem", SVGVEC_TLS_KEY: "/nonexistent/key.pem" })).toMatch(/SVGVEC_TLS_KEY=\/nonexistent\/key\.pem: no such file/);
    expect(problems({ SVGVEC_FETCH_ALLOW_CIDRS: "10.0.0.0" })).toMatch(/10\.0\.0\.0 is not a CIDR range/);
    // A value that is no address gets one problem, not a second about who can reach it.
    expect(problems({ SVGVEC_HTTP_LISTEN: "8080" })).toBe(
      "SVGVEC_HTTP_LISTEN=8080 must be host:port with a port from 0 to 65535, e.g. 127.0.0.1:8080, or empty to serve no HTTP",
    );
    expect(problems({ SVGVEC_HTTP_LISTEN: "127.0.0.1:99999" })).toMatch(/SVGVEC_HTTP_LISTEN=127\.0\.0\.1:99999 must be host:port with a port from 0 to 65535/);
    expect(problems({ SVGVEC_LISTEN: "127.0.0.1:65536" })).toMatch(/SVGVEC_LISTEN=127\.0\.0\.1:65536 must be host:port with a port from 0 to 65535/);
    expect(problems({ SVGVEC_HTTP_LISTEN: "0.0.0.0:8080" })).toMatch(/SVGVEC_HTTP_LISTEN=0\.0\.0\.0:8080 accepts calls from other machines/);
    expect(problems({ SVGVEC_HTTP_LISTEN: "0.0.0.0:8080", SVGVEC_AUTH_TOKENS: "0123456789abcdef0123" })).toBe("");
    expect(problems({ SVGVEC_HTTP_REQUEST_TIMEOUT_MS: "10" })).toMatch(/SVGVEC_HTTP_REQUEST_TIMEOUT_MS/);
  });

  it("reads every setting", () => {
    const c = loadConfig(
      {
        SVGVEC_LISTEN: "0.0.0.0:6000",
        SVGVEC_HTTP_LISTEN: "[::]:8080",
        SVGVEC_ALLOW_UNAUTHENTICATED: "true",
        SVGVEC_RENDER_QUEUE: "7",
        SVGVEC_EVENT_LOOP_WARN_MS: "0",
        SVGVEC_HTTP_REQUEST_TIMEOUT_MS: "60000",
        SVGVEC_MILVUS_ADDRESS: "milvus:19530",
        SVGVEC_MILVUS_TOKEN: "root:Milvus",
        SVGVEC_COLLECTION: "icons_v2",
        SVGVEC_DATA_DIR: "/var/lib/svgvec",
        SVGVEC_MODEL_DIR: "/models/x",
        SVGVEC_FETCH_ALLOW_PRIVATE: "yes",
        SVGVEC_FETCH_MAX_BYTES: "2048",
        SVGVEC_FETCH_TIMEOUT_MS: "500",
        SVGVEC_FETCH_MAX_REDIRECTS: "0",
        SVGVEC_FETCH_REVEAL_ADDRESSES: "true",
        SVGVEC_BACKGROUND: "#000000",
        SVGVEC_STREAM_CONCURRENCY: "8",
        SVGVEC_LOG_LEVEL: "debug",
        SVGVEC_SEARCH_CONSISTENCY: "bounded",
        SVGVEC_SEARCH_NPROBE: "64",
      },
      "/",
    );
    expect(c.listen).toBe("0.0.0.0:6000");
    expect(c.httpListen).toBe("[::]:8080");
    expect(c.milvus).toMatchObject({ address: "milvus:19530", token: "root:Milvus", collection: "icons_v2", liteDataDir: "/var/lib/svgvec" });
    expect(c.model.dir).toBe("/models/x");
    expect(c.fetch).toEqual({ allowPrivateAddresses: true, allowCidrs: [], maxBytes: 2048, timeoutMs: 500, maxRedirects: 0, revealAddresses: true });
    expect(c.render.background).toEqual([0, 0, 0]);
    expect(c.streamConcurrency).toBe(8);
    expect(c.logLevel).toBe("debug");
    expect([c.searchConsistency, c.searchNprobe]).toEqual(["bounded", 64]);
    expect([c.access.allowUnauthenticated, c.render.maxQueue, c.eventLoopWarnMs]).toEqual([true, 7, 0]);
    expect(c.httpRequestTimeoutMs).toBe(60_000);
  });

  it("reads the index to build (type in any case, its parameters) and refuses a type svgvec cannot search", () => {
    expect(loadConfig({}, "/").milvus.index).toEqual({ type: "IVF_FLAT", nlist: 1024, m: 16, efConstruction: 200 });
    const c = loadConfig({ SVGVEC_MILVUS_ADDRESS: "milvus:19530", SVGVEC_INDEX_TYPE: "hnsw", SVGVEC_INDEX_HNSW_M: "32", SVGVEC_INDEX_HNSW_EF_CONSTRUCTION: "400", SVGVEC_SEARCH_EF: "128" }, "/");
    expect([c.milvus.index.type, c.milvus.index.m, c.milvus.index.efConstruction, c.milvus.searchEf]).toEqual(["HNSW", 32, 400, 128]);
    expect(loadConfig({ SVGVEC_MILVUS_ADDRESS: "milvus:19530", SVGVEC_INDEX_TYPE: "IVF_SQ8", SVGVEC_INDEX_NLIST: "4096" }, "/").milvus.index).toMatchObject({
      type: "IVF_SQ8",
      nlist: 4096,
    });
    // Milvus Lite builds IVF_FLAT only.
    expect(() => loadConfig({ SVGVEC_INDEX_TYPE: "HNSW" }, "/")).toThrow(/SVGVEC_INDEX_TYPE=HNSW needs a Milvus server \(set SVGVEC_MILVUS_ADDRESS\)/);
    expect(() => loadConfig({ SVGVEC_INDEX_TYPE: "DISKANN" }, "/")).toThrow(/SVGVEC_INDEX_TYPE=DISKANN must be one of IVF_FLAT, IVF_SQ8, HNSW/);
    expect(() => loadConfig({ SVGVEC_INDEX_NLIST: "0" }, "/")).toThrow(/SVGVEC_INDEX_NLIST/);
  });

  it("names SVGVEC_ variables that are no setting, with the likeliest intended one", () => {
    const c = loadConfig(
      { SVGVEC_FETCH_ALLOW_PRIVAT: "true", SVGVEC_LISTN: "0.0.0.0:1", SVGVEC_WHATEVER_ELSE: "1", SVGVEC_ADDRESS: "h:1", SVGVEC_TEST_X: "1", PATH: "/bin" },
      "/",
    );
    expect(c.unknownSettings).toEqual([
      "SVGVEC_FETCH_ALLOW_PRIVAT (did you mean SVGVEC_FETCH_ALLOW_PRIVATE?)",
      "SVGVEC_LISTN (did you mean SVGVEC_LISTEN?)",
      "SVGVEC_WHATEVER_ELSE",
    ]);
    expect(c.fetch.allowPrivateAddresses).toBe(false);
    expect(loadConfig({ SVGVEC_LISTEN: "127.0.0.1:1" }, "/").unknownSettings).toEqual([]);
  });

  it("refuses to listen beyond loopback without a token, unless told to", () => {
    const refusal = (listen: string, extra: Record<string, string> = {}) => {
      try {
        loadConfig({ SVGVEC_LISTEN: listen, ...extra }, "/");
      } catch (e) {
        return (e as ConfigError).problems.join("\n");
      }
      return "";
    };
    for (const listen of ["0.0.0.0:50051", "[::]:50051", "10.1.2.3:50051", "svgvec.internal:50051", "[::ffff:10.0.0.1]:1"]) {
      expect(refusal(listen), listen).toMatch(/accepts calls from other machines.*Set SVGVEC_AUTH_TOKENS.*SVGVEC_ALLOW_UNAUTHENTICATED=true/);
      expect(refusal(listen, { SVGVEC_AUTH_TOKENS: "0123456789abcdef0123" }), listen).toBe("");
      expect(refusal(listen, { SVGVEC_ALLOW_UNAUTHENTICATED: "true" }), listen).toBe("");
    }
    for (const listen of ["127.0.0.1:50051", "127.9.9.9:1", "localhost:50051", "[::1]:50051", "[::ffff:127.0.0.1]:1"]) {
      expect(refusal(listen), listen).toBe("");
    }
  });

  it("lists every invalid setting at once, saying what is expected", () => {
    const err = (() => {
      try {
        loadConfig({
          SVGVEC_LISTEN: "nope",
          SVGVEC_FETCH_MAX_BYTES: "-1",
          SVGVEC_FETCH_ALLOW_PRIVATE: "maybe",
          SVGVEC_BACKGROUND: "white",
          SVGVEC_COLLECTION: "bad-name",
          SVGVEC_SEARCH_CONSISTENCY: "eventual",
          SVGVEC_FETCH_REVEAL_ADDRESSES: "sometimes",
          SVGVEC_MAX_LISTS: "0",
          SVGVEC_MAX_SEARCHES: "many",
          SVGVEC_LIST_PAGE_BYTES: "1024",
        });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join("\n");
    expect(problems).toMatch(/SVGVEC_LISTEN=nope must be host:port/);
    expect(problems).toMatch(/SVGVEC_FETCH_MAX_BYTES=-1 must be an integer from 1024/);
    expect(problems).toMatch(/SVGVEC_FETCH_ALLOW_PRIVATE=maybe must be true or false/);
    expect(problems).toMatch(/SVGVEC_BACKGROUND=white must be a colour as #rrggbb/);
    expect(problems).toMatch(/SVGVEC_COLLECTION=bad-name must start with a letter/);
    expect(problems).toMatch(/SVGVEC_SEARCH_CONSISTENCY=eventual must be strong or bounded/);
    expect(problems).toMatch(/SVGVEC_FETCH_REVEAL_ADDRESSES=sometimes must be true or false/);
    expect(problems).toMatch(/SVGVEC_MAX_LISTS=0 must be an integer from 1 to 10000/);
    expect(problems).toMatch(/SVGVEC_MAX_SEARCHES=many must be an integer from 1 to 100000/);
    expect(problems).toMatch(/SVGVEC_LIST_PAGE_BYTES=1024 must be an integer from 65536 to 67108864/);
  });

  it("reads SVGVEC_TEXT_SESSIONS, 2 by default, within 1 to 16", () => {
    expect(loadConfig({}, "/").model.textSessions).toBe(2);
    expect(loadConfig({ SVGVEC_TEXT_SESSIONS: "1" }, "/").model.textSessions).toBe(1);
    for (const bad of ["0", "17", "two"]) {
      expect(() => loadConfig({ SVGVEC_TEXT_SESSIONS: bad }, "/")).toThrow(/SVGVEC_TEXT_SESSIONS/);
    }
  });
});
