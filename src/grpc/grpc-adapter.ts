/**
 * Bridges protobuf-es service descriptors and Connect-style implementations to @grpc/grpc-js: one
 * service definition derived from the generated descriptor, with protobuf-es doing the
 * (de)serialisation, and handlers derived from the same implementation the HTTP edge serves.
 */
import { setMaxListeners } from "node:events";
import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type DescService, type MessageShape } from "@bufbuild/protobuf";
import { createHandlerContext, type HandlerContext } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { CancelledError } from "../errors.js";
import type { Logger } from "../log.js";
import { type RequestDone, startRequest } from "../metrics/metrics.js";
import { markMalformed } from "../rpc/svgvec-impl.js";
import { logFailure, statusMessage } from "../rpc/status.js";

export function grpcServiceDefinition(service: DescService): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    const def: grpc.MethodDefinition<MessageShape<DescMessage>, MessageShape<DescMessage>> = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: serializer(method.input),
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
      originalName: method.localName,
    };
    definition[method.name] = def as grpc.MethodDefinition<unknown, unknown>;
  }
  return definition;
}

type Message = MessageShape<DescMessage>;
type UnaryFn = (req: Message, ctx: HandlerContext) => Promise<Message> | Message;
type ClientStreamFn = (reqs: AsyncIterable<Message>, ctx: HandlerContext) => Promise<Message>;
type ServerStreamFn = (req: Message, ctx: HandlerContext) => AsyncIterable<Message>;

/**
 * grpc-js handlers for every method of service, each calling impl's method of the same local name.
 * Failures become statuses through toServiceError, nowhere else.
 */
export function grpcHandlers(service: DescService, impl: object, log: Logger): grpc.UntypedServiceImplementation {
  const handlers: grpc.UntypedServiceImplementation = {};
  const fns = impl as Record<string, unknown>;
  for (const method of service.methods) {
    const fn = fns[method.localName];
    if (typeof fn !== "function") throw new Error(`no implementation for ${service.typeName}/${method.name}`);
    const name = method.name;
    switch (method.methodKind) {
      case "unary":
        handlers[name] = unary(service, method, fn as UnaryFn, log);
        break;
      case "client_streaming":
        handlers[name] = clientStream(service, method, fn as ClientStreamFn, log);
        break;
      case "server_streaming":
        handlers[name] = serverStream(service, method, fn as ServerStreamFn, log);
        break;
      default:
        throw new Error(`${service.typeName}/${method.name}: ${method.methodKind} calls are not served over grpc-js here`);
    }
  }
  return handlers;
}

/** What every grpc-js call has, whatever its kind. */
interface CancellableCall {
  metadata: grpc.Metadata;
  on(event: "cancelled", listener: () => void): unknown;
}

/** A handler context for a grpc-js call, aborted with CancelledError when the call is cancelled or its deadline passes. */
function contextFor(service: DescService, method: DescMethod, call: CancellableCall, what: string) {
  const requestHeader = new Headers();
  for (const [key, value] of Object.entries(call.metadata.getMap())) {
    if (typeof value === "string") requestHeader.set(key, value);
  }
  const ctx = createHandlerContext({
    service,
    method,
    protocolName: "grpc",
    requestMethod: "POST",
    url: `/${service.typeName}/${method.name}`,
    requestHeader,
  });
  // Every item of a stream in flight listens for its cancellation.
  setMaxListeners(0, ctx.signal);
  // grpc-js reports a passed deadline as a cancellation too.
  call.on("cancelled", () => ctx.abort(new CancelledError(`the ${what} was cancelled or its deadline passed`)));
  return ctx;
}

function unary(service: DescService, method: DescMethod, fn: UnaryFn, log: Logger): grpc.handleUnaryCall<Message, Message> {
  return (call, callback) => {
    const done = startRequest("grpc", method.name);
    const ctx = contextFor(service, method, call, "call");
    Promise.resolve()
      .then(() => fn(call.request, ctx))
      .then(
        (res) => {
          done(grpc.status.OK);
          callback(null, create(method.output, res));
        },
        (err: unknown) => callback(failed(toServiceError(err, log, method.name), done)),
      );
  };
}

function clientStream(service: DescService, method: DescMethod, fn: ClientStreamFn, log: Logger): grpc.handleClientStreamingCall<Message, Message> {
  return (call, callback) => {
    const done = startRequest("grpc", method.name);
    const ctx = contextFor(service, method, call, "stream");
    fn(call, ctx).then(
      (res) => {
        done(grpc.status.OK);
        callback(null, create(method.output, res));
      },
      // A cancelled stream's reads fail with "Premature close"; report the cancellation instead.
      (err: unknown) => callback(failed(toServiceError(ctx.signal.aborted ? ctx.signal.reason : err, log, method.name), done)),
    );
  };
}

function serverStream(service: DescService, method: DescMethod, fn: ServerStreamFn, log: Logger): grpc.handleServerStreamingCall<Message, Message> {
  return (call) => {
    const done = startRequest("grpc", method.name);
    const ctx = contextFor(service, method, call, "call");
    let stopped = false;
    call.on("cancelled", () => (stopped = true));
    call.on("close", () => (stopped = true));
    void (async () => {
      try {
        // Leaving the loop returns the implementation's iterator, which releases what it holds.
        for await (const res of fn(call.request, ctx)) {
          if (stopped) return;
          if (!call.write(create(method.output, res))) await writable(call);
          if (stopped) return;
        }
        done(grpc.status.OK);
        call.end();
      } catch (err) {
        call.emit("error", failed(toServiceError(err, log, method.name), done));
      } finally {
        // The caller left before the end.
        done(grpc.status.CANCELLED);
      }
    })();
  };
}

/**
 * Resolves when the call can take more messages, or never will: a client that stops reading and
 * then cancels, or a server that shuts down, emits no 'drain'.
 */
function writable(call: grpc.ServerWritableStream<Message, Message>): Promise<void> {
  return new Promise((resolve) => {
    const events = ["drain", "cancelled", "close", "error"] as const;
    const done = () => {
      for (const event of events) call.off(event, done);
      resolve();
    };
    for (const event of events) call.once(event, done);
  });
}

/** err, once its code is recorded for the request. */
function failed(err: Partial<grpc.ServiceError>, done: RequestDone): Partial<grpc.ServiceError> {
  done(err.code ?? grpc.status.UNKNOWN);
  return err;
}

/** A domain error as grpc-js's status, through the one mapping in rpc/status.ts. */
export function toServiceError(err: unknown, log: Logger, method: string): Partial<grpc.ServiceError> {
  const code = logFailure(err, log, method);
  // Connect's codes are gRPC's numbers.
  return { code: code as number as grpc.status, details: statusMessage(err), metadata: new grpc.Metadata() };
}

function serializer<D extends DescMessage>(schema: D): (msg: MessageShape<D>) => Buffer {
  return (msg) => {
    const bytes = toBinary(schema, msg);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/**
 * grpc-js answers a request that fails to deserialise with INTERNAL, which
 * blames the server for the client's bytes. So a malformed request becomes an
 * empty message marked with why, and the implementation answers INVALID_ARGUMENT.
 */
function deserializer<D extends DescMessage>(schema: D): (buf: Buffer) => MessageShape<D> {
  return (buf) => {
    try {
      return fromBinary(schema, buf);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      return markMalformed(create(schema), `is not a valid ${schema.typeName} message (${why})`);
    }
  };
}
