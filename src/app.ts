/**
 * Puts svgvec together from its configuration: model, Milvus (the embedded
 * Milvus Lite unless an address is configured), image service, gRPC server;
 * and takes it apart again in the reverse order.
 */
import type { Config } from "./config.js";
import { startGrpcServer } from "./edge/server.js";
import type { Logger } from "./log.js";
import { readModelDir } from "./models/model-dir.js";
import { ClipModel } from "./pipeline/clip.js";
import { ImagePipeline } from "./pipeline/image-pipeline.js";
import { ImageService } from "./service/image-service.js";
import { MilvusLite } from "./store/milvus-lite.js";
import { MilvusStore } from "./store/milvus-store.js";

export interface App {
  /** host:port the gRPC server listens on. */
  address: string;
  port: number;
  milvusAddress: string;
  service: ImageService;
  pipeline: ImagePipeline;
  store: MilvusStore;
  close(graceMs?: number): Promise<void>;
}

export async function startApp(config: Config, log: Logger): Promise<App> {
  // The model first: a missing model is the likeliest start-up error, and it needs no Milvus to report.
  const model = await ClipModel.load(await readModelDir(config.model), config.model.intraOpThreads);
  log.info("model loaded", { model: model.info.name, dir: model.info.dir, visualBatch: model.info.visualBatch ?? "dynamic" });

  // Render threads start while Milvus does; the pipeline needs nothing from it.
  const pipeline = new ImagePipeline(model, config.fetch, config.render, config.embedCacheSize);
  let lite: MilvusLite | undefined;
  let store: MilvusStore | undefined;
  try {
    let address = config.milvus.address;
    if (address === "") {
      lite = await MilvusLite.start({
        dataDir: config.milvus.liteDataDir,
        port: config.milvus.litePort,
        binary: config.milvus.liteBinary,
        python: config.milvus.python,
      });
      address = lite.address;
      log.info("Milvus Lite started", { address, db: lite.dbFile });
    }
    store = await MilvusStore.open({
      address,
      token: config.milvus.token,
      collection: config.milvus.collection,
      ...(lite ? { deployment: "lite" as const } : {}),
    });
    const service = new ImageService(pipeline, model, store, {
      nprobe: config.searchNprobe,
      searchConsistency: config.searchConsistency,
      streamConcurrency: config.streamConcurrency,
      textCacheSize: config.textCacheSize,
      upsertBatch: config.upsertBatch,
      maxStreams: config.limits.maxStreams,
      maxInflightAdds: config.limits.maxInflightAdds,
      maxLists: config.limits.maxLists,
      maxSearches: config.limits.maxSearches,
      listPageBytes: config.limits.listPageBytes,
    });
    const server = await startGrpcServer({ listen: config.listen, access: config.access }, service, log);
    log.info("svgvec listening", { address: server.address, milvus: address, collection: config.milvus.collection });
    const openStore = store;
    let closing: Promise<void> | undefined;
    return {
      address: server.address,
      port: server.port,
      milvusAddress: address,
      service,
      pipeline,
      store: openStore,
      close: (graceMs = 10_000) =>
        (closing ??= (async () => {
          await server.close(graceMs);
          await pipeline.close();
          await openStore.close();
          await lite?.stop();
          await model.release();
          log.info("svgvec stopped");
        })()),
    };
  } catch (e) {
    await pipeline.close();
    await store?.close();
    await lite?.stop();
    await model.release();
    throw e;
  }
}
