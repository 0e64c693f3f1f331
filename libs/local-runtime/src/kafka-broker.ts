import { join } from "node:path";
import type { KafkaDistribution } from "./ensure-kafka-distribution";
import type { KafkaBroker } from "./kafka-cluster-types";
import type { ManagedProcess } from "./managed-process";

export class Broker implements KafkaBroker {
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

/** What formatting and starting a cluster's brokers needs to know of the cluster. */
export interface BrokerSetup {
  readonly name: string;
  readonly clusterId: string;
  /** The cluster's folder, which holds the brokers' log4j configuration. */
  readonly dir: string;
  readonly distribution: KafkaDistribution;
  readonly heapMb: number;
  readonly jvmArgs: string[];
  readonly startTimeoutMs: number;
  /** kafka-storage format arguments for SCRAM credentials. */
  readonly scramArgs: string[];
  readonly brokers: readonly Broker[];
}
