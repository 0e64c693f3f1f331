// Shared set-up of the replication engine tests: two single-node clusters, wire clients to read
// them back, and the comparisons that decide byte-exactness.
import assert from "node:assert/strict";
import type { ClusterConfig } from "@geo/config";
import { kafkaClientOptions } from "@geo/kafka";
import {
  createIdempotentProducer,
  createPartitionFetcher,
  createWireClient,
  type IdempotentProducer,
  type KafkaWireClient,
  type PartitionFetcher,
} from "@geo/kafka-wire";
import { type KafkaCluster, runKafkaTool, startKafkaClusters } from "@geo/local-runtime";
import { createLogger, type Logger } from "@geo/logging";
import { toEpoch } from "@geo/positions";
import type { KafkaRecord } from "@geo/record-batch";
import type { FlowSpecLike, UnitAssignment, UnitStatus } from "@geo/replication";
import { type Admin, Kafka, logLevel } from "kafkajs";
import { createTopicsAndWaitForLeaders } from "./create-topics";
import { waitFor } from "./wait-for";

export const SOURCE = "us-east";
export const TARGET = "eu-west";
/**
 * Explicit record timestamps of the tests: an hour ago, so that the brokers' 7-day retention
 * (which goes by record timestamps) does not delete them under the test.
 */
export const TS = BigInt(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);

export interface Side {
  alias: string;
  cluster: KafkaCluster;
  config: ClusterConfig;
  kafka: Kafka;
  admin: Admin;
  wire: KafkaWireClient;
  fetcher: PartitionFetcher;
  producer: IdempotentProducer;
}

export interface Pair {
  source: Side;
  target: Side;
  clusters: Record<string, ClusterConfig>;
  logger: Logger;
  stop(): Promise<void>;
}

export async function startPair(name: string): Promise<Pair> {
  const logger = createLogger({ service: `${name}-test`, level: "warn" });
  const clusters = await startKafkaClusters([
    { name: `${name}-${SOURCE}` },
    { name: `${name}-${TARGET}` },
  ]);
  const sides: Side[] = [];
  for (const [i, alias] of [SOURCE, TARGET].entries()) {
    const cluster = clusters[i]!;
    const config: ClusterConfig = {
      alias,
      region: alias,
      bootstrapServers: cluster.bootstrapServers,
    };
    const kafka = new Kafka({
      clientId: `${name}-test`,
      brokers: cluster.bootstrapServers,
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    const wire = createWireClient(
      kafkaClientOptions(config, { clientId: `${name}-test`, logger }),
      { logger },
    );
    sides.push({
      alias,
      cluster,
      config,
      kafka,
      admin,
      wire,
      fetcher: createPartitionFetcher(wire, { maxWaitMs: 50 }),
      producer: createIdempotentProducer(wire, { deliveryTimeoutMs: 20_000 }),
    });
  }
  return {
    source: sides[0]!,
    target: sides[1]!,
    clusters: { [SOURCE]: sides[0]!.config, [TARGET]: sides[1]!.config },
    logger,
    async stop() {
      for (const s of sides) {
        await s.producer.close().catch(() => {});
        await s.fetcher.close().catch(() => {});
        await s.wire.close().catch(() => {});
        await s.admin.disconnect().catch(() => {});
      }
      await Promise.all(clusters.map((c) => c.stop()));
    },
  };
}

export async function createTopic(
  side: Side,
  topic: string,
  numPartitions = 1,
  configs: Record<string, string> = {},
): Promise<void> {
  await createTopicsAndWaitForLeaders(side.admin, [
    {
      topic,
      numPartitions,
      replicationFactor: 1,
      configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
    },
  ]);
}

export function flowSpec(name: string, over: Partial<FlowSpecLike> = {}): FlowSpecLike {
  return {
    name,
    sourceCluster: SOURCE,
    targetCluster: TARGET,
    naming: "prefix",
    provenanceHeader: false,
    startFrom: "earliest",
    onOffsetOutOfRange: "fail",
    paused: false,
    ...over,
  };
}

export function unitsOf(
  flow: FlowSpecLike,
  topic: string,
  partitions: number,
  epoch: bigint,
  remoteTopic = flow.naming === "identity" ? topic : `${flow.sourceCluster}.${topic}`,
): UnitAssignment[] {
  return Array.from({ length: partitions }, (_, partition) => ({
    unit: { flow: flow.name, sourceTopic: topic, partition },
    remoteTopic,
    epoch: toEpoch(epoch),
    flow,
  }));
}

export async function endOffset(side: Side, topic: string, partition: number): Promise<bigint> {
  const [o] = await side.wire.listOffsets(topic, [partition], "latest", {
    isolationLevel: "read_uncommitted",
  });
  return o!.offset;
}

/** Every record of a partition from `from` to its current end, in order. */
export async function readPartition(
  side: Side,
  topic: string,
  partition: number,
  from = 0n,
  timeoutMs = 20_000,
): Promise<KafkaRecord[]> {
  const end = await endOffset(side, topic, partition);
  const out: KafkaRecord[] = [];
  let offset = from;
  const deadline = Date.now() + timeoutMs;
  while (offset < end) {
    const [r] = await side.fetcher.fetch([{ topic, partition, offset, maxBytes: 8 * 1024 * 1024 }]);
    if (r!.error !== null && !r!.error.retriable) throw r!.error;
    for (const b of r!.batches) {
      for (const rec of b.records()) if (rec.offset >= offset) out.push(rec);
    }
    offset = r!.nextOffset;
    if (Date.now() > deadline) assert.fail(`timed out reading ${topic}-${partition} at ${offset}`);
  }
  return out;
}

/** Everything the agent must carry over, byte for byte. */
export function fidelity(r: KafkaRecord) {
  return {
    timestamp: r.timestamp,
    key: r.key === null ? null : r.key.toString("hex"),
    value: r.value === null ? null : r.value.toString("hex"),
    headers: r.headers.map((h) => [
      h.key.toString("hex"),
      h.value === null ? null : h.value.toString("hex"),
    ]),
  };
}

export const hex = (s: string) => Buffer.from(s).toString("hex");

export function statusOf(statuses: UnitStatus[], topic: string, partition: number, flow?: string) {
  return statuses.find(
    (s) =>
      s.unit.sourceTopic === topic &&
      s.unit.partition === partition &&
      (flow === undefined || s.unit.flow === flow),
  );
}

/** Waits until every unit's acknowledged position reached its source's end. */
export async function waitCaughtUp(
  source: Side,
  statuses: () => UnitStatus[],
  units: readonly UnitAssignment[],
  timeoutMs = 30_000,
): Promise<void> {
  const ends = new Map<string, bigint>();
  for (const u of units) {
    const k = `${u.unit.sourceTopic}/${u.unit.partition}`;
    if (!ends.has(k)) ends.set(k, await endOffset(source, u.unit.sourceTopic, u.unit.partition));
  }
  let behind: string[] = [];
  try {
    await waitFor(
      `${units.length} units caught up`,
      () => {
        const all = statuses();
        behind = [];
        for (const u of units) {
          const k = `${u.unit.sourceTopic}/${u.unit.partition}`;
          const s = statusOf(all, u.unit.sourceTopic, u.unit.partition, u.unit.flow);
          if (s?.state === "error") throw new Error(`unit ${u.unit.flow}/${k} failed: ${s.reason}`);
          if (s === undefined || s.nextSourceOffset !== ends.get(k)) {
            behind.push(
              `${u.unit.flow}/${k}: ${s?.state} ${s?.nextSourceOffset}/${ends.get(k)} ${s?.reason}`,
            );
          }
        }
        return behind.length === 0;
      },
      { timeoutMs, intervalMs: 50 },
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; behind: ${behind.join("; ")}`);
  }
}

export async function consoleConsume(
  side: Side,
  topic: string,
  count: number,
  partition?: number,
): Promise<string[]> {
  const out = await runKafkaTool(
    side.cluster,
    "console-consumer",
    [
      "--topic",
      topic,
      ...(partition === undefined
        ? ["--from-beginning"]
        : ["--partition", String(partition), "--offset", "earliest"]),
      "--max-messages",
      String(count),
      "--timeout-ms",
      "20000",
      "--property",
      "print.timestamp=true",
      "--property",
      "print.headers=true",
      "--property",
      "print.key=true",
    ],
    { timeoutMs: 45_000 },
  );
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.trim().split("\n");
}

/** The `clusters:` entries of a pair's two clusters, for a service config file (YAML). */
export function pairClustersYaml(pair: Pair): string {
  return [pair.source, pair.target]
    .map(
      (side) =>
        `  ${side.alias}: { bootstrapServers: [${side.cluster.bootstrapServers.join(", ")}] }`,
    )
    .join("\n");
}
