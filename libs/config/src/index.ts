export { ConfigError, type ConfigIssue } from "./config-error";
export type {
  AgentServiceConfig,
  AutoFailoverConfig,
  ClusterConfig,
  DiscoveryConfig,
  FlowConfig,
  FlowGroupConfig,
  FlowStoreConfig,
  GeoConfig,
  GrpcAuthConfig,
  GrpcConfig,
  GrpcPrincipalConfig,
  GrpcRole,
  GrpcTlsConfig,
  HostPortConfig,
  LeasesConfig,
  LoggingConfig,
  LogLevel,
  MonitoringConfig,
  NamingPolicy,
  OffsetOutOfRangePolicy,
  PassiveProtectionConfig,
  RedisConfig,
  RegionStoreConfig,
  SaslConfig,
  SaslMechanism,
  ServiceEndpointConfig,
  ServicesConfig,
  StartFrom,
  TelemetryConfig,
  TlsConfig,
  TopicFilterConfig,
} from "./geo-config";
export { hostPortProblem, parseHostPort } from "./host-port";
export type { Env } from "./interpolate-env";
export { FLOW_LIMITS, type FlowLimits } from "./limits";
export { type LoadConfigOptions, loadConfig } from "./load-config";
export {
  DEFAULT_GROUP_EXCLUDES,
  DEFAULT_PORTS,
  ENV_OVERRIDES,
  type ParseConfigOptions,
  parseConfig,
  validateFlows,
} from "./parse-config";
export { readTlsOptions } from "./read-tls-options";
export { configJsonSchema } from "./schema/json-schema";
export {
  anchored,
  createTopicFilter,
  GEO_TOPICS,
  isHeartbeatsTopic,
  isInternalTopic,
  PROVENANCE_HEADER,
  remoteTopicName,
} from "./topic-names";
