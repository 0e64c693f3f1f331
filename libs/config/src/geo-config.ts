// The typed, defaulted shape every service receives from parseConfig/loadConfig. Everything is
// readonly because the object is deep-frozen: a service that wants a variation builds a new object
// instead of mutating what other components also hold.

/** TLS for a Kafka or Redis connection. File paths are resolved against the config file's folder. */
export interface TlsConfig {
  readonly enabled: boolean;
  /** PEM file with the CA bundle that signed the server certificates. */
  readonly caFile?: string;
  /** PEM client certificate, for mutual TLS. Requires keyFile. */
  readonly certFile?: string;
  /** PEM client key, for mutual TLS. Requires certFile. */
  readonly keyFile?: string;
  /** Default true; false accepts any server certificate (test set-ups only). */
  readonly rejectUnauthorized: boolean;
}

export type SaslMechanism = "plain" | "scram-sha-256" | "scram-sha-512";

export interface SaslConfig {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  readonly password: string;
}

export interface ClusterConfig {
  /** The key under `clusters`; also the prefix of remote topics replicated from this cluster. */
  readonly alias: string;
  /** Region the cluster lives in; agents of this region write into it. Defaults to the alias. */
  readonly region: string;
  /** "host:port" entries, at least one. */
  readonly bootstrapServers: readonly string[];
  readonly tls?: TlsConfig;
  readonly sasl?: SaslConfig;
}

export type NamingPolicy = "prefix" | "identity";
export type StartFrom = "earliest" | "latest";
export type OffsetOutOfRangePolicy = "fail" | "earliest" | "latest";

export interface TopicFilterConfig {
  /** Full-name regular expressions (implicitly anchored, like MirrorMaker 2's filters). */
  readonly include: readonly string[];
  readonly exclude: readonly string[];
}

export interface FlowConfig {
  /** Unique; defaults to "<source>-><target>". */
  readonly name: string;
  /** Alias of the cluster records are read from. */
  readonly source: string;
  /** Alias of the cluster records are written to. */
  readonly target: string;
  readonly topics: TopicFilterConfig;
  /** prefix: "<source>.<topic>" (MirrorMaker 2's default); identity: same name as the source. */
  readonly naming: NamingPolicy;
  /**
   * Whether records written by this flow carry a header naming the cluster they came from, so a
   * reverse flow can refuse to send them back. Defaults to true for identity naming (the only
   * way to break identity loops) and false for prefix naming (names already carry provenance).
   */
  readonly provenanceHeader: boolean;
  /** Where a partition that has no progress yet starts. */
  readonly startFrom: StartFrom;
  /**
   * What to do when the next source offset no longer exists (retention ran past it). "fail"
   * stops the partition with a visible reason, the default, since skipping loses data.
   */
  readonly onOffsetOutOfRange: OffsetOutOfRangePolicy;
  readonly paused: boolean;
  /**
   * Consumer groups whose offsets the offset-translation service checkpoints into the target
   * (full-name regexes). Default: every group but MirrorMaker 2's default excludes
   * (`console-consumer-.*`, `connect-.*`, `__.*`).
   */
  readonly groups?: TopicFilterConfig;
  /**
   * Whether translated offsets are committed into target groups that are empty or absent there
   * (MirrorMaker 2's `sync.group.offsets.enabled`, but on by default). Default true; absent in
   * flows that predate the option.
   */
  readonly syncGroupOffsets?: boolean;
}

export interface HostPortConfig {
  readonly host: string;
  readonly port: number;
}

export interface RedisConfig {
  /** redis:// or rediss:// URL of a standalone Redis; ignored for the host when sentinels are set. */
  readonly url: string;
  /** Prefix of every key the project writes, so several installations can share one Redis. */
  readonly keyPrefix: string;
  /** Sentinel nodes; when present, the master named sentinelName is used instead of url's host. */
  readonly sentinels?: readonly HostPortConfig[];
  readonly sentinelName?: string;
  /** Password of the Redis master/replicas; overrides a password in url. */
  readonly password?: string;
  /** Password of the Sentinel nodes, when they require one. */
  readonly sentinelPassword?: string;
  /** TLS; also enabled by a rediss:// URL. */
  readonly tls?: TlsConfig;
}

export interface ServiceEndpointConfig {
  /** "host:port" the service binds. */
  readonly listen: string;
  /** "host:port" other components use to reach the service. */
  readonly address: string;
  /** "host:port" of the Prometheus `/metrics` endpoint; default: the gRPC port + 1. */
  readonly metricsListen: string;
}

export interface AgentServiceConfig {
  /** "host:port" of the agent's own health/metrics endpoint. Port 0 picks a free port. */
  readonly listen: string;
  /** "host:port" of the Prometheus `/metrics` endpoint; default 0.0.0.0:7401. */
  readonly metricsListen: string;
  /** The region this agent serves (the target side of the flows it runs). */
  readonly region?: string;
  /** Stable agent identity; defaults are left to the agent (host name and pid). */
  readonly id?: string;
}

export interface ServicesConfig {
  readonly coordinator: ServiceEndpointConfig;
  readonly offsets: ServiceEndpointConfig;
  readonly health: ServiceEndpointConfig;
  readonly agent: AgentServiceConfig;
}

export interface LeasesConfig {
  /** Lifetime of a lease in Redis. */
  readonly ttlMs: number;
  /** How often an agent renews. */
  readonly renewIntervalMs: number;
  /** An agent trusts its lease until renew-sent-time + ttl - safetyMargin (monotonic clock). */
  readonly safetyMarginMs: number;
  /** Extra wait after an owner's lease expired before the coordinator grants the unit again. */
  readonly graceMs: number;
}

export interface DiscoveryConfig {
  /** How often the coordinator lists source topics and partitions. */
  readonly intervalMs: number;
}

/** The health service's probes, heartbeats and lag series. */
export interface MonitoringConfig {
  /** How often every cluster is probed and every flow's lag computed. Default 2000 ms. */
  readonly probeIntervalMs: number;
  /** How often a heartbeat is written for every flow at its source. Default 1000 ms (MM2's). */
  readonly heartbeatIntervalMs: number;
  /**
   * "partition" exports lag per flow, topic and partition; "topic" sums partitions per topic,
   * for fleets whose partition count would make too many series. Default "partition".
   */
  readonly lagSeries: "partition" | "topic";
  /**
   * How long a record in a passive region's remote topic, of a producer not known as an agent's,
   * may wait for the agents' offset map to claim it before it counts as a foreign write.
   * Default 10000 ms.
   */
  readonly foreignWriteGraceMs: number;
  /**
   * Active-active pairs (flows both ways between two clusters, in no flow group): the same key
   * written in both regions within this window counts as a conflict. 0 (default) turns the
   * check off: it reads every record the applications write to the pair's topics.
   */
  readonly keyConflictWindowMs: number;
  /** Keys remembered per pair at most; past it keys are sampled (README). Default 100000. */
  readonly keyConflictMaxKeys: number;
}

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface LoggingConfig {
  readonly level: LogLevel;
}

export interface TelemetryConfig {
  /** Defaults to true when otlpEndpoint is set (in the file or GEO_OTLP_ENDPOINT), else false. */
  readonly enabled: boolean;
  /** OTLP/gRPC collector URL, default http://127.0.0.1:4317. */
  readonly otlpEndpoint: string;
  /** Overrides the service name each entry point passes. */
  readonly serviceName?: string;
  /**
   * The agent traces one in this many replicated batches (a source-read span and a target-write
   * span linking it). 0 traces none; default 100 when telemetry is enabled.
   */
  readonly traceBatchesOneIn?: number;
}

export interface GrpcConfig {
  /** Deadline of a unary call when the caller gives none. */
  readonly defaultDeadlineMs: number;
  /**
   * Largest request message a server accepts (default 4 MiB). parseConfig always sets it;
   * optional so that configs built in code before it existed still compile.
   */
  readonly maxMessageBytes?: number;
  /** Longest a server lets a unary call run, whatever deadline the caller set (default 300000). */
  readonly maxCallMs?: number;
  /** TLS of every gRPC server and client of this process; absent means plaintext (warned). */
  readonly tls?: GrpcTlsConfig;
  /** Who may call what; absent means every caller may call everything (warned). */
  readonly auth?: GrpcAuthConfig;
  /** Bearer token this process's gRPC clients send (the CLI, tools). Secret. */
  readonly clientToken?: string;
}

/** TLS for gRPC servers (this process's certificate) and clients (the same one, for mTLS). */
export interface GrpcTlsConfig {
  /** PEM certificate chain this process presents, as server and as client. */
  readonly certFile: string;
  /** PEM private key of certFile. */
  readonly keyFile: string;
  /** PEM CA bundle that signed the peers' certificates (servers' and clients'). */
  readonly caFile?: string;
  /** Servers refuse clients without a certificate signed by caFile. Default: true with caFile. */
  readonly requireClientCert: boolean;
  /** How often the files are read again, so a rotated certificate is used without restart. */
  readonly reloadIntervalMs: number;
  /** Name clients verify in server certificates instead of the address's host. */
  readonly serverName?: string;
}

export type GrpcRole = "viewer" | "operator" | "admin" | "agent" | "service";

/** A caller known by its client certificate or its bearer token, and what it may do. */
export interface GrpcPrincipalConfig {
  /** Name recorded in the flow history and logs. */
  readonly name: string;
  /** Matched against the client certificate's subject CN and its SAN entries. */
  readonly certificate?: string;
  /** Bearer token (`authorization: Bearer <token>`). Secret. */
  readonly token?: string;
  readonly roles: readonly GrpcRole[];
  /** For the agent role: the only region and agent id this caller may speak for. */
  readonly region?: string;
  readonly agentId?: string;
}

export interface GrpcAuthConfig {
  readonly principals: readonly GrpcPrincipalConfig[];
}

/** Where flows created through the coordinator's admin API persist. */
export interface FlowStoreConfig {
  /**
   * Alias of the cluster holding the flow history topic. Defaults to the first cluster of the
   * file; name one explicitly in production, since adding a cluster must not move the store.
   */
  readonly cluster: string;
  /** The history topic; default `__geo.flows`. */
  readonly topic: string;
}

/**
 * A flow group: the flows between two clusters in different regions whose producers and
 * consumers must all use the same region. The health service records which of the two regions
 * is active, and moves it (switchover, failover, failback).
 */
export interface FlowGroupConfig {
  /** Unique name, used in the region-state API. */
  readonly name: string;
  /** The two cluster aliases of the pair, in two different regions. */
  readonly clusters: readonly [string, string];
  /**
   * Names of the group's flows (file flows between the two clusters). Empty: every flow between
   * the two clusters, from the file or the coordinator's admin API.
   */
  readonly flows: readonly string[];
  /** Region active until a transition is recorded. Default: the first cluster's region. */
  readonly initialActive: string;
  /** Consumer groups whose offsets a transition translates and commits on the new side. */
  readonly consumerGroups: readonly string[];
  /** Longest wait for a switchover's drain (lag 0), when the request gives none. */
  readonly drainTimeoutMs: number;
  /** Longest wait for a failback's reversed flow to catch up, when the request gives none. */
  readonly catchUpTimeoutMs: number;
  /** Consecutive failed probes of the active cluster before an unforced failover is allowed. */
  readonly failoverAfterProbeFailures: number;
  /** Failover started by the health service itself; off by default. */
  readonly autoFailover: AutoFailoverConfig;
}

/** flowGroups[].autoFailover. */
export interface AutoFailoverConfig {
  /** Default false: only an operator moves the active region. */
  readonly enabled: boolean;
  /**
   * How long the active cluster must have been unreachable (since the first of its failed
   * probes) before the health service fails over; the failover's own checks still apply
   * (failoverAfterProbeFailures, live agents in the other region...). Default 60000.
   */
  readonly unreachableForMs: number;
}

/** Where region states and transition records persist besides Redis. */
export interface RegionStoreConfig {
  /**
   * Compacted topic written in BOTH clusters of each flow group, so that either region alone
   * still knows which region is active after Redis came back empty. Default `__geo.regions`.
   */
  readonly topic: string;
}

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
