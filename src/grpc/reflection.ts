/**
 * gRPC server reflection, so grpcurl can list and describe every service
 * without .proto files: svgvec.v1 from the generated protobuf-es descriptors,
 * grpc.health.v1 and grpc.reflection.v1 from the .proto files their packages ship.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fromBinary, toBinary, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, type DescriptorProto } from "@bufbuild/protobuf/wkt";
import { loadSync } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";

type PackageDefinition = ConstructorParameters<typeof ReflectionService>[0];

const require = createRequire(import.meta.url);

function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

export function createReflection(files: readonly DescFile[]): ReflectionService {
  const seen = new Map<string, Buffer>();
  const visit = (file: DescFile): void => {
    if (seen.has(file.proto.name)) return;
    file.dependencies.forEach(visit);
    seen.set(file.proto.name, Buffer.from(toBinary(FileDescriptorProtoSchema, file.proto)));
  };
  files.forEach(visit);
  const standard = loadSync(
    [
      join(packageDir("grpc-health-check"), "proto/health/v1/health.proto"),
      join(packageDir("@grpc/reflection"), "build/proto/grpc/reflection/v1/reflection.proto"),
    ],
    { keepCase: true },
  );
  for (const entry of Object.values(standard)) {
    if ("fileDescriptorProtos" in entry && Array.isArray(entry.fileDescriptorProtos)) {
      entry.fileDescriptorProtos = entry.fileDescriptorProtos.map(fixMapEntries);
    }
  }
  // @grpc/reflection reads the serialised files of every entry; one entry can carry all of ours.
  const definition: PackageDefinition = {
    ...standard,
    "svgvec.reflection.files": {
      format: "Protocol Buffer 3 EnumDescriptorProto",
      type: {},
      fileDescriptorProtos: [...seen.values()],
    },
  };
  return new ReflectionService(definition);
}

/**
 * proto-loader names a map field's entry type after the field ("Statuses")
 * where protoc names it "StatusesEntry", and strict clients such as grpcurl
 * reject the descriptor. Rename the entries and point their fields at them.
 */
function fixMapEntries(bytes: Buffer): Buffer {
  const file = fromBinary(FileDescriptorProtoSchema, bytes);
  const fix = (msg: DescriptorProto, scope: string): void => {
    const fqn = `${scope}.${msg.name}`;
    for (const nested of msg.nestedType) {
      if (nested.options?.mapEntry === true && !nested.name.endsWith("Entry")) {
        const oldName = nested.name;
        nested.name = `${oldName}Entry`;
        for (const field of msg.field) {
          if (field.typeName === oldName || field.typeName === `${fqn}.${oldName}`) field.typeName = `${fqn}.${nested.name}`;
        }
      }
      fix(nested, fqn);
    }
  };
  const pkg = file.package ? `.${file.package}` : "";
  file.messageType.forEach((m) => fix(m, pkg));
  return Buffer.from(toBinary(FileDescriptorProtoSchema, file));
}
