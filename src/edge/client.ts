/**
 * A typed promise client for svgvec.v1 on @grpc/grpc-js, built from the same
 * descriptor as the server. Other languages generate theirs from the proto.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  AddImageRequestSchema,
  ListImagesRequestSchema,
  RemoveRequestSchema,
  SearchRequestSchema,
  StatsRequestSchema,
  StreamAddImagesRequestSchema,
  SvgVecService,
  type AddImageResponse,
  type ListImagesResponse,
  type RemoveResponse,
  type SearchResponse,
  type StatsResponse,
  type StreamAddImagesRequest,
  type StreamAddImagesResponse,
} from "../gen/svgvec/v1/svgvec_pb.js";
import { grpcServiceDefinition } from "./grpc-adapter.js";

export interface CallOptions {
  metadata?: grpc.Metadata;
  deadline?: Date;
}

type Unary<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Res) => void,
) => grpc.ClientUnaryCall;

const Constructor = grpc.makeGenericClientConstructor(grpcServiceDefinition(SvgVecService), SvgVecService.name);

export class SvgVecClient {
  readonly raw: grpc.Client;

  constructor(address: string, credentials = grpc.credentials.createInsecure(), options: grpc.ClientOptions = {}) {
    this.raw = new Constructor(address, credentials, options);
  }

  addImage(req: MessageInitShape<typeof AddImageRequestSchema>, opts?: CallOptions): Promise<AddImageResponse> {
    return this.unary("AddImage", create(AddImageRequestSchema, req), opts);
  }

  /** Streams items (any iterable) and resolves with the server's summary. */
  async streamAddImages(
    items: Iterable<MessageInitShape<typeof StreamAddImagesRequestSchema>> | AsyncIterable<MessageInitShape<typeof StreamAddImagesRequestSchema>>,
    opts?: CallOptions,
  ): Promise<StreamAddImagesResponse> {
    const method = this.method("StreamAddImages") as (
      metadata: grpc.Metadata,
      options: grpc.CallOptions,
      cb: (err: grpc.ServiceError | null, res?: StreamAddImagesResponse) => void,
    ) => grpc.ClientWritableStream<StreamAddImagesRequest>;
    let call!: grpc.ClientWritableStream<StreamAddImagesRequest>;
    const done = new Promise<StreamAddImagesResponse>((resolve, reject) => {
      call = method.call(this.raw, opts?.metadata ?? new grpc.Metadata(), callOptions(opts), (err, res) =>
        err ? reject(err) : resolve(res!),
      );
    });
    try {
      for await (const item of items) {
        if (!call.write(create(StreamAddImagesRequestSchema, item))) {
          await new Promise((r) => call.once("drain", r));
        }
      }
      call.end();
    } catch (e) {
      call.cancel();
      throw e;
    }
    return done;
  }

  listImages(req: MessageInitShape<typeof ListImagesRequestSchema> = {}, opts?: CallOptions): AsyncIterable<ListImagesResponse> {
    const method = this.method("ListImages") as (
      req: unknown,
      metadata: grpc.Metadata,
      options: grpc.CallOptions,
    ) => grpc.ClientReadableStream<ListImagesResponse>;
    return method.call(this.raw, create(ListImagesRequestSchema, req), opts?.metadata ?? new grpc.Metadata(), callOptions(opts));
  }

  search(req: MessageInitShape<typeof SearchRequestSchema>, opts?: CallOptions): Promise<SearchResponse> {
    return this.unary("Search", create(SearchRequestSchema, req), opts);
  }

  stats(opts?: CallOptions): Promise<StatsResponse> {
    return this.unary("Stats", create(StatsRequestSchema, {}), opts);
  }

  remove(req: MessageInitShape<typeof RemoveRequestSchema>, opts?: CallOptions): Promise<RemoveResponse> {
    return this.unary("Remove", create(RemoveRequestSchema, req), opts);
  }

  close(): void {
    this.raw.close();
  }

  private method(name: string): unknown {
    return (this.raw as unknown as Record<string, unknown>)[name];
  }

  private unary<Res>(name: string, req: unknown, opts?: CallOptions): Promise<Res> {
    const method = this.method(name) as Unary<unknown, Res>;
    return new Promise((resolve, reject) => {
      method.call(this.raw, req, opts?.metadata ?? new grpc.Metadata(), callOptions(opts), (err, res) =>
        err ? reject(err) : resolve(res!),
      );
    });
  }
}

function callOptions(opts?: CallOptions): grpc.CallOptions {
  return opts?.deadline ? { deadline: opts.deadline } : {};
}
