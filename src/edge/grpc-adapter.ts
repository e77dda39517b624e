/**
 * Bridges protobuf-es service descriptors to @grpc/grpc-js: one service
 * definition derived from the generated descriptor, with protobuf-es doing the
 * (de)serialisation, instead of hand-written stubs per method.
 */
import { create, fromBinary, toBinary, type DescMessage, type DescService, type MessageShape } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";

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

function serializer<D extends DescMessage>(schema: D): (msg: MessageShape<D>) => Buffer {
  return (msg) => {
    const bytes = toBinary(schema, msg);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

const MALFORMED = Symbol("malformed");

/**
 * grpc-js answers a request that fails to deserialise with INTERNAL, which
 * blames the server for the client's bytes. So a malformed request becomes an
 * empty message marked with why, and the handlers answer INVALID_ARGUMENT.
 */
function deserializer<D extends DescMessage>(schema: D): (buf: Buffer) => MessageShape<D> {
  return (buf) => {
    try {
      return fromBinary(schema, buf);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      return Object.assign(create(schema), { [MALFORMED]: `is not a valid ${schema.typeName} message (${why})` });
    }
  };
}

/** Why a request could not be decoded, or undefined when it was. */
export function malformed(message: object): string | undefined {
  return (message as { [MALFORMED]?: string })[MALFORMED];
}
