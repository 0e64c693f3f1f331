import { launchBroker } from "./broker-launch";
import { awaitBrokersVisible } from "./brokers-visible";
import type { KafkaDistribution } from "./ensure-kafka-distribution";
import { removeHarnessDir } from "./harness-dir";
import { HarnessError } from "./harness-error";
import type { Broker, BrokerSetup } from "./kafka-broker";
import type { KafkaCluster } from "./kafka-cluster-types";
import { readLogTail } from "./log-file";
import { registerStoppable } from "./stop-all";

const BROKER_STOP_GRACE_MS = 30_000;
// Data dirs are thrown away after stop(), so a clean shutdown buys nothing; a KRaft voter whose
// peers are already gone waits 5 s for them before giving up.
const CLUSTER_STOP_GRACE_MS = 3_000;

export class Cluster implements KafkaCluster, BrokerSetup {
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
    readonly heapMb: number,
    readonly jvmArgs: string[],
    readonly startTimeoutMs: number,
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
    await launchBroker(this, broker, deadline);
    await awaitBrokersVisible(this, [nodeId], deadline);
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
