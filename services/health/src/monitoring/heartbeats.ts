import { GEO_TOPICS } from "@geo/config";
import type { ClusterAdmin } from "@geo/kafka";
import {
  createIdempotentProducer,
  createPartitionFetcher,
  type KafkaWireClient,
} from "@geo/kafka-wire";
import { decodeHeartbeat, encodeHeartbeatKey, encodeHeartbeatValue } from "./heartbeat-format";
import type { MonitoredFlow } from "./monitored-flow";

/** What the target side saw of one flow's heartbeats. */
export interface HeartbeatState {
  /** Write time (at the source) of the newest heartbeat read in the target. */
  lastTimestamp: number | undefined;
  /** Arrival minus write time of the newest heartbeat seen arriving. */
  lastLatencyMs: number | undefined;
  /** Date.now() when that heartbeat was read. */
  lastArrival: number | undefined;
  received: number;
}

/**
 * Writes one heartbeat per flow leaving `source` into the source's `heartbeats` topic, key
 * (source, target), creating the topic as MM2 does (one partition, compacted) when missing.
 */
export function createHeartbeatWriter(
  source: ClusterAdmin,
  client: KafkaWireClient,
  options: { deliveryTimeoutMs: number },
) {
  const topic = GEO_TOPICS.heartbeats;
  const producer = createIdempotentProducer(client, {
    deliveryTimeoutMs: options.deliveryTimeoutMs,
  });
  let ensured = false;
  return {
    async write(flows: readonly MonitoredFlow[]): Promise<void> {
      if (flows.length === 0) return;
      if (!ensured) {
        await ensureHeartbeatsTopic(source);
        ensured = true;
      }
      const now = Date.now();
      const targets = [...new Set(flows.map((f) => f.target))].sort();
      const records = targets.map((target) => ({
        timestamp: BigInt(now),
        key: encodeHeartbeatKey(source.alias, target),
        value: encodeHeartbeatValue(now),
      }));
      try {
        await producer.produce(topic, 0, [{ records }], {
          deadline: performance.now() + options.deliveryTimeoutMs,
        });
      } catch (error) {
        // The producer stops a partition after a failure; start afresh for the next beat.
        await producer.resetPartition(topic, 0).catch(() => {});
        ensured = false;
        throw error;
      }
    },
    close: () => producer.close(),
  };
}

async function ensureHeartbeatsTopic(cluster: ClusterAdmin): Promise<void> {
  await cluster.use(async (admin) => {
    const existing = await admin.listTopics();
    if (existing.includes(GEO_TOPICS.heartbeats)) return;
    const { brokers } = await admin.describeCluster();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: GEO_TOPICS.heartbeats,
          numPartitions: 1,
          replicationFactor: Math.min(3, brokers.length),
          configEntries: [{ name: "cleanup.policy", value: "compact" }],
        },
      ],
    });
  });
}

/**
 * Reads, in one target cluster, the heartbeats each flow into it carried: the flow's remote
 * copy of its source's `heartbeats` topic, records keyed (flow source, this target). One long
 * poll covers every flow into the target. Latency counts only heartbeats seen arriving (written
 * after the reader started); older ones only set the age.
 */
export function createHeartbeatReader(
  target: string,
  client: KafkaWireClient,
  options: {
    onHeartbeat(flow: MonitoredFlow, latencyMs: number | undefined): void;
    state(flow: string): HeartbeatState;
  },
) {
  const fetcher = createPartitionFetcher(client, {
    maxWaitMs: 500,
    isolationLevel: "read_uncommitted",
  });
  /** remote heartbeats topic -> next offset, and the end when first seen (older = backlog). */
  const positions = new Map<string, { offset: bigint; liveFrom: bigint }>();

  const locate = async (topic: string) => {
    const [start] = await client.listOffsets(topic, [0], "earliest", { timeoutMs: 1500 });
    const [end] = await client.listOffsets(topic, [0], "latest", { timeoutMs: 1500 });
    // A few records back: the newest heartbeat already there gives the age at once.
    const back = end!.offset - 10n;
    positions.set(topic, {
      offset: back > start!.offset ? back : start!.offset,
      liveFrom: end!.offset,
    });
  };

  return {
    async step(flows: readonly MonitoredFlow[]): Promise<void> {
      const mine = flows.filter((f) => f.target === target);
      const byTopic = new Map<string, MonitoredFlow[]>();
      for (const flow of mine) {
        const topic = flow.remoteTopic(GEO_TOPICS.heartbeats);
        byTopic.set(topic, [...(byTopic.get(topic) ?? []), flow]);
      }
      for (const topic of byTopic.keys()) {
        if (!positions.has(topic)) await locate(topic).catch(() => {}); // not created yet
      }
      const wanted = [...byTopic.keys()].filter((t) => positions.has(t));
      if (wanted.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        return;
      }
      const results = await fetcher.fetch(
        wanted.map((topic) => ({ topic, partition: 0, offset: positions.get(topic)!.offset })),
      );
      for (const result of results) {
        const position = positions.get(result.topic)!;
        if (result.error !== null) {
          if (!result.error.retriable) positions.delete(result.topic);
          continue;
        }
        const arrival = Date.now();
        for (const batch of result.batches) {
          for (const record of batch.records()) {
            if (record.offset < position.offset) continue;
            const beat = decodeHeartbeat(record.key, record.value);
            if (beat === undefined || beat.targetClusterAlias !== target) continue;
            for (const flow of byTopic.get(result.topic) ?? []) {
              if (flow.source !== beat.sourceClusterAlias) continue;
              const state = options.state(flow.name);
              if (state.lastTimestamp !== undefined && beat.timestamp <= state.lastTimestamp)
                continue;
              state.lastTimestamp = beat.timestamp;
              const live = record.offset >= position.liveFrom;
              const latency = live ? Math.max(0, arrival - beat.timestamp) : undefined;
              if (latency !== undefined) {
                state.lastLatencyMs = latency;
                state.lastArrival = arrival;
              }
              state.received += 1;
              options.onHeartbeat(flow, latency);
            }
          }
        }
        position.offset = result.nextOffset;
      }
    },
    close: () => fetcher.close(),
  };
}
