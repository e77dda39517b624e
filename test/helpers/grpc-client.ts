/**
 * A typed promise client for svgvec.v1 on @grpc/grpc-js, built from the same
 * descriptor as the server. Tests use it to reach into grpc-js itself (raw
 * channels, metadata, cancellation); users get src/client (Connect) instead.
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
} from "../../src/gen/svgvec/v1/svgvec_pb.js";
import { grpcServiceDefinition } from "../../src/grpc/grpc-adapter.js";

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

export interface SvgVecClientOptions {
  /** Channel credentials; plaintext unless given (grpc.credentials.createSsl(ca) for TLS). */
  credentials?: grpc.ChannelCredentials;
  /** Bearer token sent as "authorization" metadata on every call. */
  token?: string;
  channel?: grpc.ClientOptions;
}

export class SvgVecClient {
  readonly raw: grpc.Client;

  constructor(address: string, opts: SvgVecClientOptions = {}) {
    const { token } = opts;
    const interceptors: grpc.Interceptor[] =
      token === undefined
        ? []
        : [
            (options, next) =>
              new grpc.InterceptingCall(next(options), {
                start: (metadata, listener, nextStart) => {
                  metadata.set("authorization", `Bearer ${token}`);
                  nextStart(metadata, listener);
                },
              }),
          ];
    this.raw = new Constructor(address, opts.credentials ?? grpc.credentials.createInsecure(), {
      ...opts.channel,
      interceptors: [...(opts.channel?.interceptors ?? []), ...interceptors],
    });
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
    // Write on the side: when the call fails first (a deadline, a refusal), stop waiting on the items.
    const pump = (async () => {
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
    })();
    done.catch(() => undefined);
    return Promise.race([done, pump.then(() => done)]);
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
