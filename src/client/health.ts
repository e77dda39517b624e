/**
 * grpc.health.v1, the standard health service every svgvec serves. Its
 * descriptor is built here from the three declarations of health.proto rather
 * than generated, so that src/gen stays the output of svgvec's own proto.
 */
import { type Message, create, createFileRegistry } from "@bufbuild/protobuf";
import { enumDesc, messageDesc, serviceDesc, type GenEnum, type GenMessage, type GenService } from "@bufbuild/protobuf/codegenv2";
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

const FILE_NAME = "grpc/health/v1/health.proto";

const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: FILE_NAME,
    package: "grpc.health.v1",
    syntax: "proto3",
    messageType: [
      {
        name: "HealthCheckRequest",
        field: [{ name: "service", number: 1, type: FieldDescriptorProto_Type.STRING, label: FieldDescriptorProto_Label.OPTIONAL, jsonName: "service" }],
      },
      {
        name: "HealthCheckResponse",
        field: [
          {
            name: "status",
            number: 1,
            type: FieldDescriptorProto_Type.ENUM,
            typeName: ".grpc.health.v1.HealthCheckResponse.ServingStatus",
            label: FieldDescriptorProto_Label.OPTIONAL,
            jsonName: "status",
          },
        ],
        enumType: [
          {
            name: "ServingStatus",
            value: [
              { name: "UNKNOWN", number: 0 },
              { name: "SERVING", number: 1 },
              { name: "NOT_SERVING", number: 2 },
              { name: "SERVICE_UNKNOWN", number: 3 },
            ],
          },
        ],
      },
    ],
    service: [
      {
        name: "Health",
        method: [{ name: "Check", inputType: ".grpc.health.v1.HealthCheckRequest", outputType: ".grpc.health.v1.HealthCheckResponse" }],
      },
    ],
  }),
  () => undefined,
);
const file = registry.getFile(FILE_NAME);
if (file === undefined) throw new Error(`${FILE_NAME} did not register`);

/** Whether a service answers calls (grpc.health.v1.HealthCheckResponse.ServingStatus). */
export enum ServingStatus {
  UNKNOWN = 0,
  SERVING = 1,
  NOT_SERVING = 2,
  SERVICE_UNKNOWN = 3,
}

export type HealthCheckRequest = Message<"grpc.health.v1.HealthCheckRequest"> & {
  /** The service asked about; "" asks about the server as a whole. */
  service: string;
};

export type HealthCheckResponse = Message<"grpc.health.v1.HealthCheckResponse"> & {
  status: ServingStatus;
};

export const HealthCheckRequestSchema: GenMessage<HealthCheckRequest> = messageDesc(file, 0);
export const HealthCheckResponseSchema: GenMessage<HealthCheckResponse> = messageDesc(file, 1);
export const ServingStatusSchema: GenEnum<ServingStatus> = enumDesc(file, 1, 0);

export const Health: GenService<{
  check: { methodKind: "unary"; input: typeof HealthCheckRequestSchema; output: typeof HealthCheckResponseSchema };
}> = serviceDesc(file, 0);
