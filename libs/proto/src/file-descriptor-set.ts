import type { DescFile, Registry } from "@bufbuild/protobuf";
import { create, createRegistry, toBinary } from "@bufbuild/protobuf";
import type { FileDescriptorSet } from "@bufbuild/protobuf/wkt";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { file_geo_agent_v1_agent } from "./gen/geo/agent/v1/agent_pb.js";
import { file_geo_coordinator_v1_coordinator } from "./gen/geo/coordinator/v1/coordinator_pb.js";
import { file_geo_health_v1_health } from "./gen/geo/health/v1/health_pb.js";
import { file_geo_offsets_v1_offsets } from "./gen/geo/offsets/v1/offsets_pb.js";
import { file_geo_replication_v1_replication } from "./gen/geo/replication/v1/replication_pb.js";
import { file_google_rpc_error_details } from "./gen/google/rpc/error_details_pb.js";
import { file_google_rpc_status } from "./gen/google/rpc/status_pb.js";
import { file_grpc_health_v1_health } from "./gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "./gen/grpc/reflection/v1/reflection_pb.js";
import { file_grpc_reflection_v1alpha_reflection } from "./gen/grpc/reflection/v1alpha/reflection_pb.js";

// Every file under proto/, as generated. A test compares this list with the generated folder so
// a new proto cannot be forgotten here.
const generatedFiles: readonly DescFile[] = [
  file_geo_replication_v1_replication,
  file_geo_coordinator_v1_coordinator,
  file_geo_agent_v1_agent,
  file_geo_offsets_v1_offsets,
  file_geo_health_v1_health,
  file_grpc_health_v1_health,
  file_grpc_reflection_v1_reflection,
  file_grpc_reflection_v1alpha_reflection,
  // The rich error model: reflection serves them so clients can print a failed call's details.
  file_google_rpc_status,
  file_google_rpc_error_details,
];

/**
 * All generated proto files plus everything they import (google/protobuf/*), each after its
 * dependencies, as protobuf-es describes them at runtime.
 */
export function protoFiles(): readonly DescFile[] {
  const ordered: DescFile[] = [];
  const seen = new Set<string>();
  const visit = (file: DescFile): void => {
    if (seen.has(file.proto.name)) return;
    seen.add(file.proto.name);
    for (const dependency of file.dependencies) visit(dependency);
    ordered.push(file);
  };
  for (const file of generatedFiles) visit(file);
  return ordered;
}

/**
 * A `google.protobuf.FileDescriptorSet` of {@link protoFiles}, built from protobuf-es's own
 * descriptors so it can never drift from the generated code. Feeds server reflection.
 */
export function fileDescriptorSet(): FileDescriptorSet {
  return create(FileDescriptorSetSchema, { file: protoFiles().map((file) => file.proto) });
}

/** {@link fileDescriptorSet} serialized, as `buf build --as-file-descriptor-set` would write it. */
export function fileDescriptorSetBinary(): Uint8Array {
  return toBinary(FileDescriptorSetSchema, fileDescriptorSet());
}

/** A registry of every message, enum and service of {@link protoFiles}, e.g. for JSON with Any. */
export function createProtoRegistry(): Registry {
  return createRegistry(...protoFiles());
}
