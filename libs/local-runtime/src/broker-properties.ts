import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Broker } from "./kafka-broker";
import type {
  KafkaClusterOptions,
  PropertyValue,
  SecureListenerOptions,
} from "./kafka-cluster-types";
import { formatProperties } from "./kafka-files";

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

/**
 * Writes each broker's server.properties: the defaults, the SECURE listener, the authorizer's
 * entries, then the caller's.
 */
export function writeBrokerProperties(
  brokers: readonly Broker[],
  options: KafkaClusterOptions,
  secure: SecureListenerOptions | undefined,
  authorizerProperties: Record<string, PropertyValue> | undefined,
): void {
  const count = brokers.length;
  const voters = brokers.map((b) => `${b.nodeId}@127.0.0.1:${b.controllerPort}`).join(",");
  for (const broker of brokers) {
    mkdirSync(broker.dir, { recursive: true });
    writeFileSync(
      broker.propertiesFile,
      formatProperties({
        ...brokerDefaults(broker.nodeId, count, broker, voters, join(broker.dir, "data")),
        ...secureListenerProperties(broker, secure),
        ...authorizerProperties,
        ...options.brokerProperties,
        ...options.brokerPropertiesFor?.(broker),
      }),
    );
  }
}
