// Where region states and transition records persist besides Redis: a compacted topic
// (`regionStore.topic`, default `__geo.regions`) in BOTH clusters of each flow group, so that
// either region alone still knows which region is active after Redis came back empty. Keys:
// `state/<group>` (compaction keeps the latest) and `transition/<group>/<id>` (one per record).
import type { GeoConfig } from "@geo/config";
import { createKafkaClient, kafkaClientOptions } from "@geo/kafka";
import { createPartitionFetcher, createWireClient, type KafkaWireClient } from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import { ensureProgressTopics, scanTopic } from "@geo/progress";
import {
  normalizeRecord,
  normalizeState,
  type RegionState,
  regionJson,
  type TransitionRecord,
} from "./types";

export type RegionLogEntry =
  | { readonly type: "state"; readonly state: RegionState }
  | { readonly type: "transition"; readonly record: TransitionRecord };

/** The persistence the store needs, per cluster; tests substitute an in-memory one. */
export interface RegionLog {
  /** Where it lives, for messages. */
  describe(cluster: string): string;
  /** Every entry in the cluster's topic, in log order. */
  read(cluster: string): Promise<RegionLogEntry[]>;
  /** Appends once acknowledged by all in-sync replicas. */
  append(cluster: string, entries: readonly RegionLogEntry[]): Promise<void>;
  close(): Promise<void>;
}

const FORMAT = 1;

export function entryKey(entry: RegionLogEntry): string {
  return entry.type === "state"
    ? `state/${entry.state.flowGroup}`
    : `transition/${entry.record.flowGroup}/${entry.record.id}`;
}

export function encodeEntry(entry: RegionLogEntry): Buffer {
  return Buffer.from(regionJson({ v: FORMAT, ...entry }));
}

/** undefined for a record this version cannot read (a newer format, or garbage). */
export function decodeEntry(value: Buffer | null): RegionLogEntry | undefined {
  if (value === null) return undefined;
  try {
    const raw = JSON.parse(value.toString("utf8")) as { v?: number; type?: string };
    if (raw.v !== FORMAT) return undefined;
    if (raw.type === "state")
      return { type: "state", state: normalizeState((raw as never as { state: unknown }).state) };
    if (raw.type === "transition") {
      return {
        type: "transition",
        record: normalizeRecord((raw as never as { record: unknown }).record),
      };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

type Producer = ReturnType<ReturnType<typeof createKafkaClient>["producer"]>;

export function createKafkaRegionLog(config: GeoConfig, logger: Logger): RegionLog {
  const topic = config.regionStore.topic;
  const clientId = "geo-health-regions";
  const producers = new Map<string, Promise<Producer>>();
  const wires = new Map<string, KafkaWireClient>();
  const ready = new Set<string>();
  const clusterOf = (alias: string) => {
    const cluster = config.clusters[alias];
    if (cluster === undefined) throw new Error(`unknown cluster "${alias}"`);
    return cluster;
  };
  const options = { clientId, logger, requestTimeoutMs: 10_000, connectionTimeoutMs: 3000 };
  const ensureTopic = async (alias: string) => {
    if (ready.has(alias)) return;
    const created = await ensureProgressTopics(clusterOf(alias), {
      logger,
      topics: [topic],
      clientId,
    });
    if (created.length > 0)
      logger.info({ cluster: alias, topic }, "created the region state topic");
    ready.add(alias);
  };
  const producerOf = (alias: string) => {
    let producer = producers.get(alias);
    if (producer === undefined) {
      const created = createKafkaClient(clusterOf(alias), options).producer({
        idempotent: true,
        maxInFlightRequests: 1,
      });
      producer = created.connect().then(() => created);
      producer.catch(() => producers.delete(alias));
      producers.set(alias, producer);
    }
    return producer;
  };
  return {
    describe: (alias) => `topic ${topic} in cluster ${alias}`,
    async read(alias) {
      await ensureTopic(alias);
      let wire = wires.get(alias);
      if (wire === undefined) {
        wire = createWireClient(kafkaClientOptions(clusterOf(alias), options), { logger });
        wires.set(alias, wire);
      }
      const fetcher = createPartitionFetcher(wire, { maxWaitMs: 100 });
      const entries: RegionLogEntry[] = [];
      try {
        await scanTopic(wire, fetcher, topic, 10_000, (record) => {
          const entry = decodeEntry(record.value);
          if (entry !== undefined) entries.push(entry);
        });
      } finally {
        await fetcher.close();
      }
      return entries;
    },
    async append(alias, entries) {
      if (entries.length === 0) return;
      await ensureTopic(alias);
      const producer = await producerOf(alias);
      await producer.send({
        topic,
        acks: -1,
        timeout: 10_000,
        messages: entries.map((entry) => ({
          key: entryKey(entry),
          value: encodeEntry(entry),
          partition: 0,
        })),
      });
    },
    async close() {
      const all = [...producers.values()].map((p) => p.then((producer) => producer.disconnect()));
      await Promise.allSettled([...all, ...[...wires.values()].map((wire) => wire.close())]);
      producers.clear();
      wires.clear();
    },
  };
}

/** A log in memory, for tests: one list of entries per cluster; `failing` clusters throw. */
export function createMemoryRegionLog(): RegionLog & {
  readonly entries: Map<string, RegionLogEntry[]>;
  readonly failing: Set<string>;
} {
  const entries = new Map<string, RegionLogEntry[]>();
  const failing = new Set<string>();
  const check = (alias: string) => {
    if (failing.has(alias)) throw new Error(`cluster ${alias} is unreachable (test)`);
  };
  return {
    entries,
    failing,
    describe: (alias) => `memory log of ${alias}`,
    read: async (alias) => {
      check(alias);
      return [...(entries.get(alias) ?? [])];
    },
    append: async (alias, added) => {
      check(alias);
      entries.set(alias, [...(entries.get(alias) ?? []), ...added]);
    },
    close: async () => {},
  };
}
