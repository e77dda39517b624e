/**
 * Puts svgvec together from its configuration: model, Milvus (the embedded
 * Milvus Lite unless an address is configured), image service, gRPC server;
 * and takes it apart again in the reverse order.
 */
import { type Config, isLoopbackListen } from "./config.js";
import { startGrpcServer } from "./grpc/server.js";
import { startHttpServer, type HttpServer, type HttpRoute } from "./http/server.js";
import { pageRoute } from "./http/page.js";
import { metricsRoute } from "./http/metrics-route.js";
import { restRoutes } from "./http/rest.js";
import { createSvgVecImpl } from "./rpc/svgvec-impl.js";
import { monitorEventLoop } from "./event-loop-monitor.js";
import type { Logger } from "./log.js";
import { readModelDir } from "./models/model-dir.js";
import { ClipModel } from "./clip/clip.js";
import { ImagePipeline } from "./pipeline/image-pipeline.js";
import { ImageService } from "./service/image-service.js";
import { MilvusLite } from "./store/milvus-lite.js";
import { MilvusStore } from "./store/milvus-store.js";

export interface App {
  /** host:port the gRPC server listens on. */
  address: string;
  port: number;
  /** host:port of the HTTP listener, or "" when SVGVEC_HTTP_LISTEN leaves it off. */
  httpAddress: string;
  milvusAddress: string;
  service: ImageService;
  pipeline: ImagePipeline;
  store: MilvusStore;
  model: ClipModel;
  close(graceMs?: number): Promise<void>;
}

export async function startApp(config: Config, log: Logger): Promise<App> {
  // The model first: a missing model is the likeliest start-up error, and it needs no Milvus to report.
  const model = await ClipModel.load(await readModelDir(config.model), config.model.intraOpThreads, config.model.textSessions);
  log.info("model loaded", { model: model.info.name, dir: model.info.dir, visualBatch: model.info.visualBatch ?? "dynamic" });

  // Render threads start while Milvus does; the pipeline needs nothing from it.
  const pipeline = new ImagePipeline(model, config.fetch, config.render, config.embedCacheSize, log);
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
      index: config.milvus.index,
      searchEf: config.milvus.searchEf,
      ...(lite ? { deployment: "lite" as const } : {}),
    });
    if (store.vectorIndexType !== config.milvus.index.type) {
      // The collection's index was built before (by the seed, or another setting): it is kept.
      log.warn("the collection keeps its existing vector index; SVGVEC_INDEX_TYPE applies only to a collection svgvec creates", {
        collection: config.milvus.collection,
        index: store.vectorIndexType,
        configured: config.milvus.index.type,
      });
    }
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
    // One implementation of svgvec.v1 behind both edges.
    const impl = createSvgVecImpl(service);
    // Why the encoders last went down, for the REST health route.
    let encoderProblem = "an encoder is restarting";
    const server = await startGrpcServer({ listen: config.listen, access: config.access }, impl, log);
    let http: HttpServer | undefined;
    try {
      if (config.httpListen !== "") {
        const unavailable = () => (model.ready ? undefined : `the CLIP model cannot encode now: ${encoderProblem}`);
        const routes: HttpRoute[] = [restRoutes({ impl, log, unavailable }), await pageRoute(), metricsRoute];
        http = await startHttpServer(
          { listen: config.httpListen, access: config.access, routes, requestTimeoutMs: config.httpRequestTimeoutMs },
          impl,
          log,
        );
        log.info("svgvec HTTP listening", { address: http.address });
      }
    } catch (e) {
      await server.close(0);
      throw e;
    }
    const monitor = monitorEventLoop(log, config.eventLoopWarnMs);
    warnAboutExposure(config, log);
    if (config.unknownSettings.length > 0) {
      log.warn("ignoring environment variables that are no svgvec setting", { variables: config.unknownSettings });
    }
    log.info("svgvec listening", { address: server.address, milvus: address, collection: config.milvus.collection });
    // An encoder whose worker died is restarted by its session; until it is back, health says NOT_SERVING.
    server.setServing(model.ready);
    model.onStateChange((ready, reason) => {
      if (ready) log.info("model encoders ready", { reason });
      else log.error("model encoder unavailable", { reason });
      if (!ready) encoderProblem = reason;
      server.setServing(ready);
    });
    const openStore = store;
    let closing: Promise<void> | undefined;
    return {
      address: server.address,
      port: server.port,
      httpAddress: http?.address ?? "",
      milvusAddress: address,
      service,
      pipeline,
      store: openStore,
      model,
      close: (graceMs = 10_000) =>
        (closing ??= (async () => {
          await Promise.all([server.close(graceMs), http?.close(graceMs)]);
          monitor.stop();
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

/** Says so at start when a listener beyond loopback is weaker than it should be. */
function warnAboutExposure(config: Config, log: Logger): void {
  for (const listen of [config.listen, config.httpListen]) {
    if (listen === "" || isLoopbackListen(listen)) continue;
    if (config.access.tokens.length === 0) {
      log.warn("serving without authentication beyond loopback (SVGVEC_ALLOW_UNAUTHENTICATED=true)", { listen });
    } else if (config.access.tlsCert === "") {
      log.warn("bearer tokens travel in plaintext: anyone on the network path can read and reuse them", {
        listen,
        hint: "set SVGVEC_TLS_CERT and SVGVEC_TLS_KEY, or terminate TLS in front of svgvec on this host",
      });
    }
  }
}
