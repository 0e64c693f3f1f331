// Where API-owned flows persist: a compacted one-partition topic (`__geo.flows` by default) in
// the cluster `flowStore.cluster` names. Redis keeps nothing on disk here and is only the lease
// authority, so flows live in Kafka, which keeps them across restarts of coordinators and Redis.
// Every change has a key of its own (`<flow>/<version>`), so compaction never drops history.
import type { FlowStoreConfig, GeoConfig } from "@geo/config";
import { createKafkaClient, kafkaClientOptions } from "@geo/kafka";
import { createPartitionFetcher, createWireClient, type KafkaWireClient } from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import { ensureProgressTopics, scanTopic } from "@geo/progress";
import {
  decodeFlowChange,
  encodeFlowChange,
  type FlowChange,
  FlowChangeFormatError,
} from "./flow-changes";

/** The persistence the flow registry needs; tests substitute an in-memory one. */
export interface FlowLog {
  /** Where the log lives, for messages ("topic __geo.flows in cluster us-east"). */
  readonly description: string;
  /** Every change in log order. */
  readAll(): Promise<FlowChange[]>;
  /** Appends once acknowledged by all in-sync replicas. */
  append(change: FlowChange): Promise<void>;
  close(): Promise<void>;
}

type Producer = ReturnType<ReturnType<typeof createKafkaClient>["producer"]>;

export function createKafkaFlowLog(config: GeoConfig, logger: Logger): FlowLog {
  const store: FlowStoreConfig = config.flowStore;
  const cluster = config.clusters[store.cluster];
  if (cluster === undefined) throw new Error(`flowStore.cluster "${store.cluster}" is unknown`);
  const log = logger.child({ component: "flow-log", cluster: store.cluster, topic: store.topic });
  const clientOptions = { clientId: "geo-coordinator-flows", logger, requestTimeoutMs: 10_000 };
  let wire: KafkaWireClient | undefined;
  let producer: Producer | undefined;
  let topicReady = false;

  const ensureTopic = async () => {
    if (topicReady) return;
    const created = await ensureProgressTopics(cluster, {
      logger,
      topics: [store.topic],
      clientId: "geo-coordinator-flows",
    });
    if (created.length > 0) log.info("created the flow history topic");
    topicReady = true;
  };

  return {
    description: `topic ${store.topic} in cluster ${store.cluster}`,

    async readAll() {
      await ensureTopic();
      wire ??= createWireClient(kafkaClientOptions(cluster, clientOptions), { logger });
      const fetcher = createPartitionFetcher(wire, { maxWaitMs: 100 });
      const changes: FlowChange[] = [];
      let skipped = 0;
      try {
        await scanTopic(wire, fetcher, store.topic, 10_000, (record) => {
          try {
            changes.push(decodeFlowChange(record.value));
          } catch (error) {
            if (!(error instanceof FlowChangeFormatError)) throw error;
            skipped++;
          }
        });
      } finally {
        await fetcher.close();
      }
      // A newer coordinator's format must not stop this one from reading the rest.
      if (skipped > 0) log.warn({ skipped }, "skipped flow changes in an unknown format");
      return changes;
    },

    async append(change) {
      await ensureTopic();
      if (producer === undefined) {
        const created = createKafkaClient(cluster, clientOptions).producer({
          idempotent: true,
          maxInFlightRequests: 1,
        });
        await created.connect();
        producer = created;
      }
      await producer.send({
        topic: store.topic,
        acks: -1,
        messages: [
          {
            key: `${change.flow}/${change.version}`,
            value: encodeFlowChange(change),
            partition: 0,
          },
        ],
      });
    },

    async close() {
      await Promise.allSettled([producer?.disconnect(), wire?.close()]);
      producer = undefined;
      wire = undefined;
    },
  };
}

/** A log in memory, for unit tests of the registry. */
export function createMemoryFlowLog(): FlowLog & { readonly changes: FlowChange[] } {
  const changes: FlowChange[] = [];
  return {
    description: "memory",
    changes,
    readAll: async () => [...changes],
    append: async (change) => {
      changes.push(change);
    },
    close: async () => {},
  };
}
