/**
 * gRPC server reflection from the generated protobuf-es descriptors, so
 * grpcurl can list and describe the service without the .proto file.
 */
import { toBinary, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { ReflectionService } from "@grpc/reflection";

type PackageDefinition = ConstructorParameters<typeof ReflectionService>[0];

export function createReflection(files: readonly DescFile[]): ReflectionService {
  const seen = new Map<string, Buffer>();
  const visit = (file: DescFile): void => {
    if (seen.has(file.proto.name)) return;
    file.dependencies.forEach(visit);
    seen.set(file.proto.name, Buffer.from(toBinary(FileDescriptorProtoSchema, file.proto)));
  };
  files.forEach(visit);
  // @grpc/reflection reads the serialised files of every entry; one entry carrying them all is enough.
  const definition: PackageDefinition = {
    "svgvec.reflection.files": {
      format: "Protocol Buffer 3 EnumDescriptorProto",
      type: {},
      fileDescriptorProtos: [...seen.values()],
    },
  };
  return new ReflectionService(definition);
}
