// Generated schemas and service descriptors, one namespace per proto package so that equally
// named messages of different packages never clash. Service descriptors are also exported flat,
// since servers and clients are built from them.

export { ErrorReason } from "./error-reasons.js";
export {
  createProtoRegistry,
  fileDescriptorSet,
  fileDescriptorSetBinary,
  protoFiles,
} from "./file-descriptor-set.js";
export * as agentV1 from "./gen/geo/agent/v1/agent_pb.js";
export { AgentService, AgentSessionService } from "./gen/geo/agent/v1/agent_pb.js";
export * as coordinatorV1 from "./gen/geo/coordinator/v1/coordinator_pb.js";
export { CoordinatorService } from "./gen/geo/coordinator/v1/coordinator_pb.js";
export * as healthV1 from "./gen/geo/health/v1/health_pb.js";
export { ReplicationHealthService } from "./gen/geo/health/v1/health_pb.js";
export * as offsetsV1 from "./gen/geo/offsets/v1/offsets_pb.js";
export { OffsetTranslationService } from "./gen/geo/offsets/v1/offsets_pb.js";
export * as replicationV1 from "./gen/geo/replication/v1/replication_pb.js";
export * as grpcHealthV1 from "./gen/grpc/health/v1/health_pb.js";
export { Health } from "./gen/grpc/health/v1/health_pb.js";
export * as grpcReflectionV1 from "./gen/grpc/reflection/v1/reflection_pb.js";
export { ServerReflection } from "./gen/grpc/reflection/v1/reflection_pb.js";
export * as grpcReflectionV1alpha from "./gen/grpc/reflection/v1alpha/reflection_pb.js";
export { ServerReflection as ServerReflectionV1alpha } from "./gen/grpc/reflection/v1alpha/reflection_pb.js";
export * as googleRpc from "./google-rpc.js";
