import { join } from "node:path";
import { formatBroker, newClusterId } from "./broker-format";
import { launchBroker } from "./broker-launch";
import { writeBrokerProperties } from "./broker-properties";
import { awaitBrokersVisible } from "./brokers-visible";
import { ensureKafkaDistribution, type KafkaDistribution } from "./ensure-kafka-distribution";
import { findFreePorts } from "./free-ports";
import { createHarnessDir, removeHarnessDir } from "./harness-dir";
import type { HarnessError } from "./harness-error";
import { authorizerSettings, scramFormatArgs } from "./kafka-authorizer";
import { Broker } from "./kafka-broker";
import { Cluster } from "./kafka-cluster";
import type { KafkaCluster, KafkaClusterOptions } from "./kafka-cluster-types";
import { writeClusterFiles } from "./kafka-files";

export { quickJvmFlags } from "./jvm-flags";
export type {
  AuthorizerOptions,
  KafkaBroker,
  KafkaCluster,
  KafkaClusterOptions,
  PropertyValue,
  SecureListenerOptions,
} from "./kafka-cluster-types";

const PORT_ATTEMPTS = 3;

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
  const brokers = await brokersOnFreePorts(count, dir, secure !== undefined);
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
  cluster.scramArgs = scramFormatArgs(secure);
  try {
    writeClusterFiles(dir, cluster.bootstrapServers);
    writeBrokerProperties(brokers, options, secure, withAuthorizer?.properties);
    await Promise.all(brokers.map((b) => formatBroker(cluster, b)));
    // In parallel: with several voters no broker finishes starting before a quorum exists.
    const launches = await Promise.all(brokers.map((b) => launchBroker(cluster, b, deadline)));
    await awaitBrokersVisible(
      cluster,
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

/** `count` brokers with ports found free: PLAINTEXT, CONTROLLER and, when `secure`, SECURE. */
async function brokersOnFreePorts(count: number, dir: string, secure: boolean): Promise<Broker[]> {
  const perBroker = secure ? 3 : 2;
  const ports = await findFreePorts(perBroker * count);
  return Array.from(
    { length: count },
    (_, i) =>
      new Broker(
        i + 1,
        ports[perBroker * i]!,
        ports[perBroker * i + 1]!,
        join(dir, `broker-${i + 1}`),
        secure ? ports[perBroker * i + 2] : undefined,
      ),
  );
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
