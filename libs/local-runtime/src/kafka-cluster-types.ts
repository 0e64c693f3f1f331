import type { KafkaDistribution } from "./ensure-kafka-distribution";

export type PropertyValue = string | number | boolean;

export interface KafkaClusterOptions {
  /** Alias used in dir names and messages, e.g. the region `us-east`. */
  name: string;
  /** Brokers, each also a KRaft controller voter. Default 1. */
  brokers?: number;
  /** Extra or overriding server.properties entries, applied to every broker. */
  brokerProperties?: Record<string, PropertyValue>;
  /**
   * Per-broker entries that depend on its ports (e.g. an extra listener advertised through a
   * proxy), applied after brokerProperties.
   */
  brokerPropertiesFor?: (broker: {
    nodeId: number;
    port: number;
    controllerPort: number;
  }) => Record<string, PropertyValue>;
  /** Max heap per broker in MiB. Default 256 (benchmarks: 1024). */
  heapMb?: number;
  /** Kafka version of the jars. Default 3.9.2. */
  version?: string;
  /**
   * Bound for all brokers to be ready. Default 60 s. Past it, brokers whose JVMs still use CPU
   * (starved on a loaded machine, not stuck) get up to three times as long in all.
   */
  startTimeoutMs?: number;
  /** Extra JVM flags for the brokers. */
  jvmArgs?: string[];
  /**
   * A second client listener (named SECURE) with TLS or SASL, besides the PLAINTEXT one the
   * harness itself and inter-broker traffic use. Its addresses are `secureBootstrapServers`.
   */
  secureListener?: SecureListenerOptions;
  /**
   * Turns on KRaft's StandardAuthorizer with a SASL_PLAINTEXT (PLAIN) SECURE listener for the
   * given users; replaces `secureListener`. See `AuthorizerOptions`.
   */
  authorizer?: AuthorizerOptions;
}

/**
 * An authorizer-enabled cluster: clients that authenticate on the SECURE listener (SASL PLAIN,
 * `secureBootstrapServers`) are checked against ACLs. Topics without ACLs stay open to everyone
 * (`allow.everyone.if.no.acl.found`), so ACLs are only needed to take rights away (e.g. a DENY).
 * The PLAINTEXT listener the harness and the brokers use is User:ANONYMOUS, a super user: it is
 * the operator's own door, not an application's.
 */
export interface AuthorizerOptions {
  /** SASL/PLAIN users of the SECURE listener: name -> password. */
  readonly users: Readonly<Record<string, string>>;
  /** Those of `users` that bypass ACLs (super.users), e.g. the replication agents' principal. */
  readonly superUsers: readonly string[];
}

export interface SecureListenerOptions {
  readonly protocol: "SSL" | "SASL_SSL" | "SASL_PLAINTEXT";
  /** server.properties entries for it, e.g. `listener.name.secure.ssl.keystore.location`. */
  readonly properties?: Record<string, PropertyValue>;
  /** SCRAM credentials written at format time (KRaft has no ZooKeeper to hold them). */
  readonly scramUsers?: readonly {
    readonly mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512";
    readonly name: string;
    readonly password: string;
  }[];
}

export interface KafkaBroker {
  readonly nodeId: number;
  /** PLAINTEXT listener on 127.0.0.1, the port clients use. */
  readonly port: number;
  readonly controllerPort: number;
  /** Pid of the broker's JVM; undefined before the first start. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Holds server.properties, server.log and the log dir `data/`. */
  readonly dir: string;
  readonly logFile: string;
}

export interface KafkaCluster {
  readonly name: string;
  readonly clusterId: string;
  /** `127.0.0.1:port` of every broker, running or not. */
  readonly bootstrapServers: string[];
  /** `127.0.0.1:port` of every broker's secure listener, when `secureListener` was given. */
  readonly secureBootstrapServers: string[];
  readonly brokers: readonly KafkaBroker[];
  /** The version the broker reported in its own start-up log ("Kafka version: 3.9.2"). */
  readonly version: string;
  readonly distribution: KafkaDistribution;
  /** The cluster's temp folder (`geo-harness-<run>-kafka-<name>-XXXXXX`). */
  readonly dir: string;
  /** Graceful stop (SIGTERM, SIGKILL after 30 s): controlled shutdown moves leadership first. */
  stopBroker(nodeId: number): Promise<void>;
  /** Start a stopped or killed broker again with the same data dir and ports. */
  startBroker(nodeId: number): Promise<void>;
  /** SIGKILL: no controlled shutdown, the controller notices after the session timeout. */
  killBroker(nodeId: number): Promise<void>;
  /** Last lines of a broker's log, for diagnostics. */
  logTail(nodeId: number, lines?: number): string;
  /** Stop every broker and delete the cluster's folder (kept when GEO_HARNESS_KEEP=1). */
  stop(): Promise<void>;
}
