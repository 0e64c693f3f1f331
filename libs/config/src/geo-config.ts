// The typed, defaulted shape every service receives from parseConfig/loadConfig, derived from the
// schema (schema/config-schema.ts), which documents each field. Everything is readonly because
// the object is deep-frozen: a service that wants a variation builds a new object instead of
// mutating what other components also hold.
import type { z } from "zod";
import type { configSections, flowSchema } from "./schema/config-schema";

export type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

type Sections = ReturnType<typeof configSections>;
type Section<K extends keyof Sections> = DeepReadonly<z.output<Sections[K]>>;

export type ClusterConfig = Section<"clusters">[string];
/** TLS for a Kafka or Redis connection. File paths are resolved against the config file's folder. */
export type TlsConfig = NonNullable<ClusterConfig["tls"]>;
export type SaslConfig = NonNullable<ClusterConfig["sasl"]>;
export type SaslMechanism = SaslConfig["mechanism"];

type ParsedFlow = DeepReadonly<z.output<ReturnType<typeof flowSchema>>>;
export type TopicFilterConfig = ParsedFlow["topics"];
/**
 * A flow. parseConfig and validateFlows always set `groups` and `syncGroupOffsets`; they are
 * optional here because flows recorded in the flow history before those options existed lack them.
 */
export type FlowConfig = Omit<ParsedFlow, "groups" | "syncGroupOffsets"> & {
  readonly groups?: TopicFilterConfig;
  readonly syncGroupOffsets?: boolean;
};
export type NamingPolicy = FlowConfig["naming"];
export type StartFrom = FlowConfig["startFrom"];
export type OffsetOutOfRangePolicy = FlowConfig["onOffsetOutOfRange"];

/** Where flows created through the coordinator's admin API persist. */
export type FlowStoreConfig = Section<"flowStore">;
/** Where region states and transition records persist besides Redis. */
export type RegionStoreConfig = Section<"regionStore">;

/**
 * A flow group: the flows between two clusters in different regions whose producers and
 * consumers must all use the same region. The health service records which of the two regions
 * is active, and moves it (switchover, failover, failback).
 */
export type FlowGroupConfig = Omit<Section<"flowGroups">[number], "clusters" | "initialActive"> & {
  /** The two cluster aliases of the pair, in two different regions. */
  readonly clusters: readonly [string, string];
  /** Region active until a transition is recorded. Default: the first cluster's region. */
  readonly initialActive: string;
};

/** flowGroups[].autoFailover: the health service's own failover; off by default. */
export type AutoFailoverConfig = FlowGroupConfig["autoFailover"];
/** flowGroups[].passiveProtection: the health service's protection keeper. */
export type PassiveProtectionConfig = FlowGroupConfig["passiveProtection"];

export interface HostPortConfig {
  readonly host: string;
  readonly port: number;
}

export type RedisConfig = Section<"redis">;
export type ServicesConfig = Section<"services">;
export type ServiceEndpointConfig = ServicesConfig["coordinator"];
export type AgentServiceConfig = ServicesConfig["agent"];
export type LeasesConfig = Section<"leases">;
export type DiscoveryConfig = Section<"discovery">;
/** The health service's probes, heartbeats and lag series. */
export type MonitoringConfig = Section<"monitoring">;
export type LoggingConfig = Section<"logging">;
export type LogLevel = LoggingConfig["level"];
export type TelemetryConfig = Section<"telemetry">;
export type GrpcConfig = Section<"grpc">;
/** TLS for gRPC servers (this process's certificate) and clients (the same one, for mTLS). */
export type GrpcTlsConfig = NonNullable<GrpcConfig["tls"]>;
export type GrpcAuthConfig = NonNullable<GrpcConfig["auth"]>;
/** A caller known by its client certificate or its bearer token, and what it may do. */
export type GrpcPrincipalConfig = GrpcAuthConfig["principals"][number];
export type GrpcRole = GrpcPrincipalConfig["roles"][number];

export interface GeoConfig {
  /** Where the configuration came from (file path, or the `source` given to parseConfig). */
  readonly source: string;
  readonly clusters: Readonly<Record<string, ClusterConfig>>;
  readonly flows: readonly FlowConfig[];
  readonly flowStore: FlowStoreConfig;
  readonly flowGroups: readonly FlowGroupConfig[];
  readonly regionStore: RegionStoreConfig;
  readonly redis: RedisConfig;
  readonly services: ServicesConfig;
  readonly leases: LeasesConfig;
  readonly discovery: DiscoveryConfig;
  readonly monitoring: MonitoringConfig;
  readonly logging: LoggingConfig;
  readonly telemetry: TelemetryConfig;
  readonly grpc: GrpcConfig;
}
