/**
 * The svgvec.v1 RPCs, once, for every edge: validate the request, call the image service, build the
 * answer. Failures leave as svgvec's domain errors; each edge turns them into its statuses through
 * status.ts, so gRPC, Connect, gRPC-Web and the REST routes answer the same input the same way.
 */
import { setMaxListeners } from "node:events";
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
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
  type Image,
  type ListImagesResponse,
  type SvgVecService,
  type StreamAddImagesRequest,
} from "../gen/svgvec/v1/svgvec_pb.js";
import { InvalidArgumentError, SvgVecError } from "../errors.js";
import type { AddOutcome as ServiceOutcome, ImageService, StreamItem } from "../service/image-service.js";
import { type Deployment, type ImageRecord, URL_MAX_LENGTH } from "../store/milvus-store.js";
import { codeName, statusCode, statusMessage } from "./status.js";
import {
  requireExcludeIds,
  requireId,
  requireK,
  requireLimit,
  requireMinSimilarity,
  requireNprobe,
  requirePageSize,
  requireQuery,
  requireUrl,
} from "./validate.js";

export type SvgVecImpl = ServiceImpl<typeof SvgVecService>;

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

const MALFORMED = Symbol("malformed");

/**
 * Marks a message that an edge could not decode, so the implementation answers INVALID_ARGUMENT with
 * why, instead of the edge blaming itself with INTERNAL.
 */
export function markMalformed<T extends object>(message: T, why: string): T {
  return Object.assign(message, { [MALFORMED]: why });
}

function requireDecoded<T extends object>(req: T): T {
  const why = (req as { [MALFORMED]?: string })[MALFORMED];
  if (why !== undefined) throw new InvalidArgumentError("request", `${why}; send a message built from svgvec/v1/svgvec.proto`);
  return req;
}

export function createSvgVecImpl(service: ImageService): SvgVecImpl {
  return {
    async addImage(req, ctx) {
      requireDecoded(req);
      const id = requireId(req.id);
      const url = requireUrl(req.url);
      const { record, outcome } = await service.add(id, url, { includeVector: req.includeVector, signal: ctx.signal });
      return create(AddImageResponseSchema, { image: toImage(record), outcome: OUTCOMES[outcome] });
    },

    async streamAddImages(reqs, ctx) {
      // Every item in flight listens for the stream's cancellation.
      setMaxListeners(0, ctx.signal);
      const summary = await service.addStream(streamItems(reqs), ctx.signal);
      return create(StreamAddImagesResponseSchema, {
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
      });
    },

    listImages: (req, ctx) => listPages(service, req, ctx),

    async search(req, ctx) {
      requireDecoded(req);
      const query = requireQuery(req);
      const k = requireK(req.k);
      const nprobe = requireNprobe(req.nprobe);
      const minSimilarity = requireMinSimilarity(req.minSimilarity);
      const excludeIds = requireExcludeIds(req.excludeIds);
      return searchResponse(await service.find(query, { k, nprobe, minSimilarity, excludeIds, signal: ctx.signal }));
    },

    async stats(req) {
      requireDecoded(req);
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
    },

    async remove(req) {
      requireDecoded(req);
      return create(RemoveResponseSchema, { removed: await service.remove(requireId(req.id)) });
    },
  };
}

async function* listPages(
  service: ImageService,
  req: Parameters<SvgVecImpl["listImages"]>[0],
  _ctx: HandlerContext,
): AsyncGenerator<ListImagesResponse> {
  requireDecoded(req);
  const pages = service.list({
    includeVectors: req.includeVectors,
    limit: requireLimit(req.limit),
    pageSize: requirePageSize(req.pageSize),
  });
  // A consumer that stops early returns this generator, which returns the pages and so gives back
  // the call's list slot.
  for await (const page of pages) yield create(ListImagesResponseSchema, { images: page.map(toImage) });
}

function searchResponse(hits: readonly { id: bigint; url: string; similarity: number }[]) {
  return create(SearchResponseSchema, {
    hits: hits.map((h) => create(SearchHitSchema, { id: h.id, url: h.url, similarity: h.similarity })),
  });
}

async function* streamItems(reqs: AsyncIterable<StreamAddImagesRequest>): AsyncGenerator<StreamItem> {
  let index = 0;
  for await (const req of reqs) {
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

function toImage(r: ImageRecord): Image {
  return create(ImageSchema, { id: r.id, url: r.url, vector: r.vector ?? [], addedAt: r.addedAt, updatedAt: r.updatedAt });
}
