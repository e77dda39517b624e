/**
 * A real svgvec server on a free loopback port, with the tiny generated model,
 * a real Milvus and a typed gRPC client.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type App, startApp } from "../../src/app.js";
import { type Config, loadConfig } from "../../src/config.js";
import { SvgVecClient, type SvgVecClientOptions } from "./grpc-client.js";
import { type Logger, createLogger } from "../../src/log.js";
import { uniqueCollection } from "./milvus.js";
import { TINY_MODEL_DIR } from "./models.js";

export interface TestApp {
  app: App;
  client: SvgVecClient;
  config: Config;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Milvus address; empty starts the embedded Milvus Lite. */
  milvusAddress: string;
  collection?: string;
  env?: Record<string, string>;
  /** How the test client connects (TLS, token). */
  client?: SvgVecClientOptions;
  /** Where the server logs; stderr at SVGVEC_LOG_LEVEL (error) unless given. */
  log?: Logger;
}

export async function testConfig(opts: TestAppOptions): Promise<Config> {
  return loadConfig({
    ...process.env,
    SVGVEC_LISTEN: "127.0.0.1:0",
    SVGVEC_MILVUS_ADDRESS: opts.milvusAddress,
    SVGVEC_COLLECTION: opts.collection ?? uniqueCollection("t"),
    SVGVEC_MODEL_DIR: TINY_MODEL_DIR,
    SVGVEC_DATA_DIR: await mkdtemp(join(tmpdir(), "svgvec-data-")),
    // Tests serve SVGs from loopback, which is refused by default.
    SVGVEC_FETCH_ALLOW_PRIVATE: "true",
    SVGVEC_LOG_LEVEL: "error",
    ...opts.env,
  });
}

export async function startTestApp(opts: TestAppOptions): Promise<TestApp> {
  const config = await testConfig(opts);
  const app = await startApp(config, opts.log ?? createLogger(config.logLevel));
  const client = new SvgVecClient(app.address, opts.client);
  return {
    app,
    client,
    config,
    close: async () => {
      client.close();
      await app.close(2_000);
    },
  };
}
