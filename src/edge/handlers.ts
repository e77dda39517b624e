/**
 * The svgvec.v1 RPCs: decode and validate the request, call the image service,
 * encode the answer. Errors leave through toServiceError, nowhere else.
 */
import { setMaxListeners } from "node:events";
import { create } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import {
  AddImageResponseSchema,
  AddOutcome,
  ImageSchema,
  ItemFailureSchema,
  ListImagesResponseSchema,
  MilvusDeployment,
  RemoveResponseSchema,
  SearchHitSchema,
  SearchResponseSchema,
  StatsResponseSchema,
  StreamAddImagesResponseSchema,
  type AddImageRequest,
  type AddImageResponse,
  type Image,
  type ListImagesRequest,
  type ListImagesResponse,
  type RemoveRequest,
  type RemoveResponse,
  type SearchRequest,
  type SearchResponse,
  type StatsRequest,
  type StatsResponse,
  type StreamAddImagesRequest,
  type StreamAddImagesResponse,
} from "../gen/svgvec/v1/svgvec_pb.js";
import { CancelledError, InvalidArgumentError, SvgVecError } from "../errors.js";
import type { Logger } from "../log.js";
import type { AddOutcome as ServiceOutcome, ImageService, StreamItem } from "../service/image-service.js";
import { type Deployment, type ImageRecord, URL_MAX_LENGTH } from "../store/milvus-store.js";
import { malformed } from "./grpc-adapter.js";
import { codeName, statusCode, statusMessage, toServiceError } from "./status.js";
import { requireId, requireK, requireLimit, requireNprobe, requirePageSize, requireText, requireUrl } from "./validate.js";

export interface SvgVecHandlers extends grpc.UntypedServiceImplementation {
  AddImage: grpc.handleUnaryCall<AddImageRequest, AddImageResponse>;
  StreamAddImages: grpc.handleClientStreamingCall<StreamAddImagesRequest, StreamAddImagesResponse>;
  ListImages: grpc.handleServerStreamingCall<ListImagesRequest, ListImagesResponse>;
  Search: grpc.handleUnaryCall<SearchRequest, SearchResponse>;
  Stats: grpc.handleUnaryCall<StatsRequest, StatsResponse>;
  Remove: grpc.handleUnaryCall<RemoveRequest, RemoveResponse>;
}

const OUTCOMES: Record<ServiceOutcome, AddOutcome> = {
  added: AddOutcome.ADDED,
  replaced: AddOutcome.REPLACED,
  unchanged: AddOutcome.UNCHANGED,
};

/**
 * Bytes of each listed failure's reason. With its URL cut to what the store takes, each failure is
 * at most about 3 KB, so a summary's 1,000 fit a stock client's 4 MiB messages whatever was sent.
 */
const FAILURE_REASON_BYTES = 1024;

const DEPLOYMENTS: Record<Deployment, MilvusDeployment> = {
  lite: MilvusDeployment.LITE,
  standalone: MilvusDeployment.STANDALONE,
  cluster: MilvusDeployment.CLUSTER,
  unknown: MilvusDeployment.UNSPECIFIED,
};

export function createHandlers(service: ImageService, log: Logger): SvgVecHandlers {
  /** Runs a unary handler body and answers with its result or its error's status. */
  const unary =
    <Req extends object, Res>(method: string, body: (req: Req, signal: AbortSignal) => Promise<Res>): grpc.handleUnaryCall<Req, Res> =>
    (call, callback) => {
      const abort = new AbortController();
      // grpc-js reports a passed deadline as a cancellation too.
      call.on("cancelled", () => abort.abort(new CancelledError("the call was cancelled or its deadline passed")));
      Promise.resolve()
        .then(() => body(requireDecoded(call.request), abort.signal))
        .then(
          (res) => callback(null, res),
          (err: unknown) => callback(toServiceError(err, log, method)),
        );
    };

  return {
    AddImage: unary("AddImage", async (req: AddImageRequest, signal) => {
      const id = requireId(req.id);
      const url = requireUrl(req.url);
      const { record, outcome } = await service.add(id, url, { includeVector: req.includeVector, signal });
      return create(AddImageResponseSchema, {
        image: toImage(record),
        outcome: OUTCOMES[outcome],
      });
    }),

    StreamAddImages: (call, callback) => {
      const abort = new AbortController();
      // Every item in flight listens for the stream's cancellation.
      setMaxListeners(0, abort.signal);
      call.on("cancelled", () => abort.abort(new CancelledError("the stream was cancelled or its deadline passed")));
      service.addStream(streamItems(call), abort.signal).then(
        (summary) =>
          callback(
            null,
            create(StreamAddImagesResponseSchema, {
              received: BigInt(summary.received),
              added: BigInt(summary.added),
              replaced: BigInt(summary.replaced),
              unchanged: BigInt(summary.unchanged),
              failed: BigInt(summary.failed),
              failures: summary.failures.map((f) =>
                create(ItemFailureSchema, {
                  id: f.id ?? 0n,
                  url: clipUtf8(f.url, URL_MAX_LENGTH),
                  code: codeName(statusCode(f.error)),
                  reason: statusMessage(f.error, FAILURE_REASON_BYTES),
                  index: BigInt(f.index),
                }),
              ),
            }),
          ),
        // A cancelled stream's reads fail with "Premature close"; report the cancellation instead.
        (err: unknown) => callback(toServiceError(abort.signal.aborted ? abort.signal.reason : err, log, "StreamAddImages")),
      );
    },

    ListImages: (call) => {
      let stopped = false;
      call.on("cancelled", () => (stopped = true));
      call.on("close", () => (stopped = true));
      void (async () => {
        try {
          const req = requireDecoded(call.request);
          const pages = service.list({
            includeVectors: req.includeVectors,
            limit: requireLimit(req.limit),
            pageSize: requirePageSize(req.pageSize),
          });
          // Leaving the loop returns the pages, which gives back the call's list slot.
          for await (const page of pages) {
            if (stopped) return;
            const ok = call.write(create(ListImagesResponseSchema, { images: page.map(toImage) }));
            if (!ok) await writable(call);
            if (stopped) return;
          }
          call.end();
        } catch (err) {
          call.emit("error", toServiceError(err, log, "ListImages"));
        }
      })();
    },

    Search: unary("Search", async (req: SearchRequest, signal) => {
      const text = requireText(req.text);
      const k = requireK(req.k);
      const hits = await service.search(text, k, requireNprobe(req.nprobe), signal);
      return create(SearchResponseSchema, {
        hits: hits.map((h) => create(SearchHitSchema, { id: h.id, url: h.url, similarity: h.similarity })),
      });
    }),

    Stats: unary("Stats", async () => {
      const s = await service.stats();
      return create(StatsResponseSchema, {
        totalImages: BigInt(s.totalImages),
        collectionName: s.store.collection,
        metricType: s.store.metricType,
        model: {
          name: s.model.name,
          pretrained: s.model.pretrained,
          dimension: s.model.embedDim,
          path: s.model.dir,
          visualBatch: s.model.visualBatch ?? 0,
        },
        index: { type: s.store.indexType, metricType: s.store.metricType, params: s.store.indexParams },
        milvus: { deployment: DEPLOYMENTS[s.store.deployment], version: s.store.version, address: s.store.address },
      });
    }),

    Remove: unary("Remove", async (req: RemoveRequest) => {
      const removed = await service.remove(requireId(req.id));
      return create(RemoveResponseSchema, { removed });
    }),
  };
}

/**
 * Resolves when the call can take more messages, or never will: a client that stops reading and
 * then cancels, or a server that shuts down, emits no 'drain'.
 */
function writable(call: grpc.ServerWritableStream<ListImagesRequest, ListImagesResponse>): Promise<void> {
  return new Promise((resolve) => {
    const events = ["drain", "cancelled", "close", "error"] as const;
    const done = () => {
      for (const event of events) call.off(event, done);
      resolve();
    };
    for (const event of events) call.once(event, done);
  });
}

async function* streamItems(call: AsyncIterable<StreamAddImagesRequest>): AsyncGenerator<StreamItem> {
  let index = 0;
  for await (const req of call) {
    const i = index++;
    try {
      requireDecoded(req);
      yield { index: i, id: requireId(req.id), url: requireUrl(req.url) };
    } catch (e) {
      if (!(e instanceof SvgVecError)) throw e;
      yield { index: i, id: req.id, url: req.url.slice(0, 2000), invalid: e };
    }
  }
}

/** s cut to at most maxBytes of UTF-8, at a character boundary. */
function clipUtf8(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s, "utf8") <= maxBytes) return s;
  let size = 0;
  let end = 0;
  for (const ch of s) {
    size += Buffer.byteLength(ch, "utf8");
    if (size > maxBytes) break;
    end += ch.length;
  }
  return s.slice(0, end);
}

function requireDecoded<T extends object>(req: T): T {
  const why = malformed(req);
  if (why !== undefined) throw new InvalidArgumentError("request", `${why}; send a message built from svgvec/v1/svgvec.proto`);
  return req;
}

function toImage(r: ImageRecord): Image {
  return create(ImageSchema, { id: r.id, url: r.url, vector: r.vector ?? [], addedAt: r.addedAt, updatedAt: r.updatedAt });
}
