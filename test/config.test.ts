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
    expect(c.fetch).toEqual({ allowPrivateAddresses: false, maxBytes: 5 * 1024 * 1024, timeoutMs: 10_000, maxRedirects: 5 });
    expect(c.render.background).toEqual([255, 255, 255]);
    expect(c.searchConsistency).toBe("strong");
  });

  it("reads every setting", () => {
    const c = loadConfig(
      {
        SVGVEC_LISTEN: "0.0.0.0:6000",
        SVGVEC_MILVUS_ADDRESS: "milvus:19530",
        SVGVEC_MILVUS_TOKEN: "root:Milvus",
        SVGVEC_COLLECTION: "icons_v2",
        SVGVEC_DATA_DIR: "/var/lib/svgvec",
        SVGVEC_MODEL_DIR: "/models/x",
        SVGVEC_FETCH_ALLOW_PRIVATE: "yes",
        SVGVEC_FETCH_MAX_BYTES: "2048",
        SVGVEC_FETCH_TIMEOUT_MS: "500",
        SVGVEC_FETCH_MAX_REDIRECTS: "0",
        SVGVEC_BACKGROUND: "#000000",
        SVGVEC_STREAM_CONCURRENCY: "8",
        SVGVEC_LOG_LEVEL: "debug",
        SVGVEC_SEARCH_CONSISTENCY: "bounded",
        SVGVEC_SEARCH_NPROBE: "64",
      },
      "/",
    );
    expect(c.listen).toBe("0.0.0.0:6000");
    expect(c.milvus).toMatchObject({ address: "milvus:19530", token: "root:Milvus", collection: "icons_v2", liteDataDir: "/var/lib/svgvec" });
    expect(c.model.dir).toBe("/models/x");
    expect(c.fetch).toEqual({ allowPrivateAddresses: true, maxBytes: 2048, timeoutMs: 500, maxRedirects: 0 });
    expect(c.render.background).toEqual([0, 0, 0]);
    expect(c.streamConcurrency).toBe(8);
    expect(c.logLevel).toBe("debug");
    expect([c.searchConsistency, c.searchNprobe]).toEqual(["bounded", 64]);
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
  });
});
