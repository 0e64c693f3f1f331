import { randomUUID } from "node:crypto";
import { closeSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { classDataArchive } from "./class-data-archive";
import { ensureKafkaDistribution, type KafkaDistribution } from "./ensure-kafka-distribution";
import { findFreePorts } from "./free-ports";
import { createHarnessDir, removeHarnessDir } from "./harness-dir";
import { HarnessError } from "./harness-error";
import { brokerLog4jFile, formatProperties, writeClusterFiles } from "./kafka-files";
import { logFileSize, readLogFrom, readLogTail } from "./log-file";
import { describeExit, type ManagedProcess, spawnManaged } from "./managed-process";
import { probeBrokers } from "./probe-brokers";
import { progressWatch } from "./process-state";
import { registerStoppable } from "./stop-all";

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

const STARTED = /Kafka Server started/;
const VERSION = /Kafka version: (\S+)/;
const BIND_FAILED = /BindException|Address already in use/;
const BROKER_STOP_GRACE_MS = 30_000;
// Data dirs are thrown away after stop(), so a clean shutdown buys nothing; a KRaft voter whose
// peers are already gone waits 5 s for them before giving up.
const CLUSTER_STOP_GRACE_MS = 3_000;
const PORT_ATTEMPTS = 3;
// Past its start bound a broker whose JVM still uses CPU is starved (a loaded machine), not
// stuck: it gets up to this many bounds in all. One that used no CPU for 30 s fails at the bound.
const STARVED_BOUNDS = 3;

/** A v4 UUID as Kafka writes cluster ids: base64url without padding, never starting with "-". */
function newClusterId(): string {
  for (;;) {
    const id = Buffer.from(randomUUID().replaceAll("-", ""), "hex").toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

/** The SECURE listener and broker entries of an authorizer-enabled cluster. */
function authorizerSettings(authorizer: AuthorizerOptions): {
  secure: SecureListenerOptions;
  properties: Record<string, PropertyValue>;
} {
  const unknown = authorizer.superUsers.filter((name) => authorizer.users[name] === undefined);
  if (unknown.length > 0) {
    throw new RangeError(
      `authorizer.superUsers names ${unknown.join(", ")}, not in authorizer.users: add their passwords`,
    );
  }
  const jaasUsers = Object.entries(authorizer.users)
    .map(([name, password]) => `user_${name}="${password}"`)
    .join(" ");
  return {
    secure: {
      protocol: "SASL_PLAINTEXT",
      properties: {
        "listener.name.secure.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.secure.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ${jaasUsers};`,
      },
    },
    properties: {
      "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
      "allow.everyone.if.no.acl.found": true,
      // ANONYMOUS: the PLAINTEXT and CONTROLLER listeners, i.e. the brokers and the harness.
      "super.users": [
        "User:ANONYMOUS",
        ...authorizer.superUsers.map((name) => `User:${name}`),
      ].join(";"),
    },
  };
}

/** Listener entries for the optional SECURE listener, then its own properties. */
function secureListenerProperties(
  broker: { port: number; controllerPort: number; securePort?: number },
  secure: SecureListenerOptions | undefined,
): Record<string, PropertyValue> {
  if (secure === undefined || broker.securePort === undefined) return {};
  const plain = `PLAINTEXT://127.0.0.1:${broker.port}`;
  const secured = `SECURE://127.0.0.1:${broker.securePort}`;
  return {
    listeners: `${plain},${secured},CONTROLLER://127.0.0.1:${broker.controllerPort}`,
    "advertised.listeners": `${plain},${secured}`,
    "listener.security.protocol.map": `PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SECURE:${secure.protocol}`,
    ...secure.properties,
  };
}

function brokerDefaults(
  nodeId: number,
  count: number,
  ports: { port: number; controllerPort: number },
  voters: string,
  dataDir: string,
): Record<string, PropertyValue> {
  const rf = Math.min(3, count);
  return {
    "process.roles": "broker,controller",
    "node.id": nodeId,
    "controller.quorum.voters": voters,
    listeners: `PLAINTEXT://127.0.0.1:${ports.port},CONTROLLER://127.0.0.1:${ports.controllerPort}`,
    // 127.0.0.1, not localhost: Node may resolve localhost to ::1.
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${ports.port}`,
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "log.dirs": dataDir,
    "num.partitions": 1,
    "default.replication.factor": rf,
    "min.insync.replicas": 1,
    "offsets.topic.replication.factor": rf,
    "transaction.state.log.replication.factor": rf,
    "transaction.state.log.min.isr": Math.min(2, count),
    // Tests start consumer groups constantly; the broker's 3 s wait would dominate them.
    "group.initial.rebalance.delay.ms": 0,
    "auto.create.topics.enable": false,
    // Footprint settings from Kafka's own integration-test harness.
    "num.network.threads": 2,
    "num.io.threads": 2,
    "background.threads": 2,
    "num.recovery.threads.per.data.dir": 1,
    "offsets.topic.num.partitions": 1,
    "transaction.state.log.num.partitions": 1,
    "log.cleaner.dedupe.buffer.size": 2_097_152,
    // A killed broker is fenced after 4 s instead of 9 s, and a killed broker that restarts is
    // refused as a duplicate registration until the old session expires, so this also bounds
    // killBroker() + startBroker().
    "broker.heartbeat.interval.ms": 500,
    "broker.session.timeout.ms": 4000,
  };
}

class Broker implements KafkaBroker {
  process: ManagedProcess | undefined;
  /** This broker's JVM writes the class-data archive when it exits; do not SIGKILL it early. */
  writingArchive = false;
  readonly propertiesFile: string;
  readonly logFile: string;

  constructor(
    readonly nodeId: number,
    readonly port: number,
    readonly controllerPort: number,
    readonly dir: string,
    readonly securePort?: number,
  ) {
    this.propertiesFile = join(dir, "server.properties");
    this.logFile = join(dir, "server.log");
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }
}

interface Launch {
  version: string | undefined;
}

class Cluster implements KafkaCluster {
  readonly bootstrapServers: string[];
  readonly secureBootstrapServers: string[];
  readonly brokers: Broker[];
  version = "unknown";
  scramArgs: string[] = [];
  private stopping: Promise<void> | undefined;
  private forget: () => void = () => {};

  constructor(
    readonly name: string,
    readonly clusterId: string,
    readonly dir: string,
    readonly distribution: KafkaDistribution,
    brokers: Broker[],
    private readonly heapMb: number,
    private readonly jvmArgs: string[],
    private readonly startTimeoutMs: number,
  ) {
    this.brokers = brokers;
    this.bootstrapServers = brokers.map((b) => `127.0.0.1:${b.port}`);
    this.secureBootstrapServers = brokers
      .filter((b) => b.securePort !== undefined)
      .map((b) => `127.0.0.1:${b.securePort}`);
  }

  track(): void {
    this.forget = registerStoppable(this);
  }

  broker(nodeId: number): Broker {
    const broker = this.brokers.find((b) => b.nodeId === nodeId);
    if (broker === undefined) {
      throw new HarnessError(
        "UNKNOWN_BROKER",
        `cluster ${this.name} has no broker ${nodeId} (brokers: ${this.brokers.map((b) => b.nodeId).join(", ")})`,
      );
    }
    return broker;
  }

  private assertActive(): void {
    if (this.stopping !== undefined) {
      throw new HarnessError("ALREADY_STOPPED", `cluster ${this.name} was stopped`);
    }
  }

  async format(broker: Broker): Promise<void> {
    const { javaBin, classpath } = this.distribution;
    const cds = classDataArchive(this.distribution, "format");
    const formatter = spawnManaged(
      javaBin,
      [
        ...quickJvmFlags(),
        ...cds.flags,
        `-Dlog4j.configuration=file:${brokerLog4jFile(this.dir)}`,
        "-cp",
        classpath,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        this.clusterId,
        "-c",
        broker.propertiesFile,
        ...this.scramArgs,
      ],
      { stdio: ["ignore", "pipe", "pipe"], keepAlive: true },
    );
    let output = "";
    formatter.child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    formatter.child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => void formatter.kill(), this.startTimeoutMs);
    const exit = await formatter.exited;
    clearTimeout(timer);
    cds.settle(exit);
    if (exit.code !== 0) {
      throw new HarnessError(
        "FORMAT_FAILED",
        `kafka-storage format of ${this.name} broker ${broker.nodeId} failed (${describeExit(exit)}):\n${output.trim()}`,
      );
    }
  }

  /** Start the broker's JVM and wait for "Kafka Server started" in the part of the log it writes. */
  async launch(broker: Broker, deadline: number): Promise<Launch> {
    const { javaBin, classpath } = this.distribution;
    const from = logFileSize(broker.logFile);
    const log = openSync(broker.logFile, "a");
    const cds = classDataArchive(this.distribution, "broker");
    broker.writingArchive = cds.writing;
    try {
      broker.process = spawnManaged(
        javaBin,
        [
          `-Xms${Math.min(128, this.heapMb)}m`,
          `-Xmx${this.heapMb}m`,
          "-server",
          "-XX:+UseG1GC",
          "-XX:MaxGCPauseMillis=20",
          "-XX:InitiatingHeapOccupancyPercent=35",
          "-XX:+ExplicitGCInvokesConcurrent",
          // No hsperfdata file to leave behind in /tmp when a test SIGKILLs the broker.
          "-XX:-UsePerfData",
          "-Djava.awt.headless=true",
          `-Dlog4j.configuration=file:${brokerLog4jFile(this.dir)}`,
          `-Dkafka.logs.dir=${broker.dir}`,
          ...cds.flags,
          ...this.jvmArgs,
          "-cp",
          classpath,
          "kafka.Kafka",
          broker.propertiesFile,
        ],
        { stdio: ["ignore", log, log], cwd: broker.dir },
      );
    } finally {
      closeSync(log);
    }
    const jvm = broker.process;
    const working = progressWatch(() => [jvm.pid]);
    const limit = deadline + (STARVED_BOUNDS - 1) * this.startTimeoutMs;
    let exited = false;
    void jvm.exited.then((exit) => {
      exited = true;
      broker.writingArchive = false;
      cds.settle(exit);
    });
    for (;;) {
      const text = readLogFrom(broker.logFile, from);
      if (STARTED.test(text)) return { version: VERSION.exec(text)?.[1] };
      const failure = (code: HarnessError["code"], what: string) => {
        void jvm.kill();
        return new HarnessError(
          code,
          `Kafka broker ${broker.nodeId} of cluster ${this.name} ${what}; last lines of ${broker.logFile}:\n${readLogTail(broker.logFile)}`,
        );
      };
      if (BIND_FAILED.test(text)) {
        const address = /failed to bind to (\S+?):? Address/.exec(text)?.[1];
        throw failure(
          "PORT_IN_USE",
          `could not bind ${address ?? `port ${broker.port} or ${broker.controllerPort}`} (address in use)`,
        );
      }
      if (exited) {
        const exit = await jvm.exited;
        throw failure("START_FAILED", `exited during start-up (${describeExit(exit)})`);
      }
      if (this.pastBound(deadline, limit, working())) {
        throw failure(
          "START_TIMEOUT",
          `did not log "Kafka Server started" within ${Math.round((Date.now() - deadline + this.startTimeoutMs) / 1000)} s (bound ${Math.round(this.startTimeoutMs / 1000)} s, longer while its JVM uses CPU)`,
        );
      }
      await sleep(100);
    }
  }

  /** Past the start bound, and either past the starved limit or not working any more. */
  private pastBound(deadline: number, limit: number, working: boolean): boolean {
    const now = Date.now();
    return now > deadline && (now > limit || !working);
  }

  /**
   * Poll every running broker's metadata until each lists all of `nodeIds`: a client that
   * bootstraps from any of them then sees the whole cluster.
   */
  async awaitBrokersVisible(nodeIds: number[], deadline: number): Promise<void> {
    let seen = "";
    const working = progressWatch(() => this.brokers.map((b) => b.pid));
    const limit = deadline + (STARVED_BOUNDS - 1) * this.startTimeoutMs;
    for (;;) {
      const running = this.brokers.filter((b) => b.running);
      const views = await Promise.all(
        running.map((b) =>
          probeBrokers(b.port).then(
            (ids) => ({ nodeId: b.nodeId, ids, error: "" }),
            (error: Error) => ({ nodeId: b.nodeId, ids: [] as number[], error: error.message }),
          ),
        ),
      );
      if (views.length > 0 && views.every((v) => nodeIds.every((id) => v.ids.includes(id)))) return;
      seen = views
        .map(
          (v) => `broker ${v.nodeId} sees [${v.ids.join(", ")}]${v.error ? ` (${v.error})` : ""}`,
        )
        .join("; ");
      if (this.pastBound(deadline, limit, working())) {
        const first = running[0] ?? this.brokers[0]!;
        throw new HarnessError(
          "START_TIMEOUT",
          `cluster ${this.name}: brokers ${nodeIds.join(", ")} not all visible in metadata within ${Math.round(this.startTimeoutMs / 1000)} s (${seen}); last lines of ${first.logFile}:\n${readLogTail(first.logFile)}`,
        );
      }
      await sleep(100);
    }
  }

  async stopBroker(nodeId: number): Promise<void> {
    const broker = this.broker(nodeId);
    await broker.process?.terminate(BROKER_STOP_GRACE_MS);
  }

  async killBroker(nodeId: number): Promise<void> {
    const broker = this.broker(nodeId);
    await broker.process?.kill();
  }

  async startBroker(nodeId: number): Promise<void> {
    this.assertActive();
    const broker = this.broker(nodeId);
    if (broker.running) return;
    const deadline = Date.now() + this.startTimeoutMs;
    await this.launch(broker, deadline);
    await this.awaitBrokersVisible([nodeId], deadline);
  }

  logTail(nodeId: number, lines = 40): string {
    return readLogTail(this.broker(nodeId).logFile, lines);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.forget();
      await Promise.all(
        this.brokers.map((b) =>
          b.process?.terminate(b.writingArchive ? BROKER_STOP_GRACE_MS : CLUSTER_STOP_GRACE_MS),
        ),
      );
      removeHarnessDir(this.dir);
    })();
    return this.stopping;
  }
}

/** Fast start-up for short-lived JVMs (formatting, CLI tools): no C2, small serial heap. */
export function quickJvmFlags(): string[] {
  return ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xss1m"];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function startOnce(
  options: KafkaClusterOptions,
  distribution: KafkaDistribution,
): Promise<Cluster> {
  const count = options.brokers ?? 1;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`brokers must be a positive integer, got ${count}`);
  }
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const deadline = Date.now() + startTimeoutMs;
  const dir = createHarnessDir(`kafka-${options.name}`);
  if (options.authorizer !== undefined && options.secureListener !== undefined) {
    throw new RangeError("give either authorizer or secureListener: authorizer makes its own");
  }
  const withAuthorizer =
    options.authorizer === undefined ? undefined : authorizerSettings(options.authorizer);
  const secure = withAuthorizer?.secure ?? options.secureListener;
  const perBroker = secure === undefined ? 2 : 3;
  const ports = await findFreePorts(perBroker * count);
  const brokers = Array.from(
    { length: count },
    (_, i) =>
      new Broker(
        i + 1,
        ports[perBroker * i]!,
        ports[perBroker * i + 1]!,
        join(dir, `broker-${i + 1}`),
        secure === undefined ? undefined : ports[perBroker * i + 2],
      ),
  );
  const voters = brokers.map((b) => `${b.nodeId}@127.0.0.1:${b.controllerPort}`).join(",");
  const cluster = new Cluster(
    options.name,
    newClusterId(),
    dir,
    distribution,
    brokers,
    options.heapMb ?? 256,
    options.jvmArgs ?? [],
    startTimeoutMs,
  );
  cluster.scramArgs = (secure?.scramUsers ?? []).flatMap((user) => [
    "--add-scram",
    `${user.mechanism}=[name=${user.name},password=${user.password}]`,
  ]);
  try {
    writeClusterFiles(dir, cluster.bootstrapServers);
    for (const broker of brokers) {
      mkdirSync(broker.dir, { recursive: true });
      writeFileSync(
        broker.propertiesFile,
        formatProperties({
          ...brokerDefaults(broker.nodeId, count, broker, voters, join(broker.dir, "data")),
          ...secureListenerProperties(broker, secure),
          ...withAuthorizer?.properties,
          ...options.brokerProperties,
          ...options.brokerPropertiesFor?.(broker),
        }),
      );
    }
    await Promise.all(brokers.map((b) => cluster.format(b)));
    // In parallel: with several voters no broker finishes starting before a quorum exists.
    const launches = await Promise.all(brokers.map((b) => cluster.launch(b, deadline)));
    await cluster.awaitBrokersVisible(
      brokers.map((b) => b.nodeId),
      deadline,
    );
    cluster.version = launches[0]?.version ?? "unknown";
    cluster.track();
    return cluster;
  } catch (error) {
    await Promise.all(brokers.map((b) => b.process?.kill()));
    removeHarnessDir(dir);
    throw error;
  }
}

/**
 * A KRaft cluster of real Apache Kafka brokers on loopback ports, each broker also a controller
 * voter (combined mode), in fresh temp dirs. Ready when every broker logged "Kafka Server started"
 * and appears in metadata. Stopped by `stop()`, `stopAll()`, or the reaper when this process ends.
 */
export async function startKafkaCluster(options: KafkaClusterOptions): Promise<KafkaCluster> {
  const distribution = await ensureKafkaDistribution(
    options.version === undefined ? {} : { version: options.version },
  );
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, distribution);
    } catch (error) {
      // Another process can grab a port between findFreePorts() and the broker's bind.
      if ((error as HarnessError).code === "PORT_IN_USE" && attempt < PORT_ATTEMPTS) continue;
      throw error;
    }
  }
}

/** Several independent clusters (e.g. one per region), started in parallel. */
export async function startKafkaClusters(
  clusters: ReadonlyArray<string | KafkaClusterOptions>,
  common: Omit<KafkaClusterOptions, "name"> = {},
): Promise<KafkaCluster[]> {
  const results = await Promise.allSettled(
    clusters.map((c) =>
      startKafkaCluster(typeof c === "string" ? { ...common, name: c } : { ...common, ...c }),
    ),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed !== undefined) {
    await Promise.all(results.map((r) => (r.status === "fulfilled" ? r.value.stop() : undefined)));
    throw failed.reason;
  }
  return results.map((r) => (r as PromiseFulfilledResult<KafkaCluster>).value);
}
