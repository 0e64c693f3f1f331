export { actorMetadataKey, resolveActor } from "./actor.js";
export {
  type AuthorizationDecision,
  type AuthorizerOptions,
  type Caller,
  certificateNames,
  createAuthorizer,
  hasRole,
  METHOD_ROLES,
  type Principal,
  type Requirement,
  type Role,
  requireAgentIdentity,
  requiredRole,
} from "./authorization.js";
export {
  Code,
  codeName,
  codeOfStatus,
  isCode,
  isRetriableCode,
  statusNumber,
} from "./code.js";
export {
  DEFAULT_RETRY_DELAY_MS,
  type ErrorDetails,
  GeoError,
  type GeoErrorOptions,
} from "./geo-error.js";
export {
  type CallOptions,
  type ClientMethod,
  createGrpcClient,
  type GrpcClient,
  type GrpcClientOptions,
} from "./grpc-client.js";
export {
  createGrpcServer,
  DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
  DEFAULT_MAX_UNARY_CALL_MS,
  type GrpcServer,
  type GrpcServerOptions,
  type StopOptions,
} from "./grpc-server.js";
export type {
  HealthMonitor,
  HealthOptions,
  HealthProbe,
  ProbeFailure,
  ServingStatus,
} from "./health-monitor.js";
export { type GrpcLogger, silentLogger } from "./logger.js";
export { paginate } from "./paginate.js";
export { createRequestQueue } from "./request-queue.js";
export {
  decodeStatusDetails,
  ERROR_DOMAIN,
  encodeStatusDetails,
  type FieldViolation,
  STATUS_DETAILS_TRAILER,
  type StatusDetails,
} from "./rich-status.js";
export { createServiceDefinition, methodPath } from "./service-definition.js";
export type {
  BidiStreamingImpl,
  ClientStreamingImpl,
  HandlerContext,
  MethodImpl,
  ServerStreamingImpl,
  ServiceImpl,
  UnaryImpl,
} from "./service-impl.js";
export {
  clientTlsChannelOptions,
  clientTlsCredentials,
  type GrpcClientSecurity,
  secureClientOptions,
  serverTlsCredentials,
  type TlsFiles,
} from "./tls.js";
export {
  type Int64Range,
  invalidArgument,
  type PageSizeOptions,
  pageSize,
  requireEnum,
  requireEpoch,
  requireInt64,
  requireMaxLength,
  requireNonEmpty,
  requireOffset,
  requirePresent,
} from "./validate.js";
