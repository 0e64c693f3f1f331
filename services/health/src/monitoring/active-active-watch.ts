// Reads the applications' writes of every active-active pair (flows both ways between two
// clusters, in no flow group) and feeds them to the pair's KeyConflictTracker. A partition is
// read from its end when first seen: conflicts are about writes from now on.
import { isHeartbeatsTopic, isInternalTopic, PROVENANCE_HEADER } from "@geo/config";
import type { PartitionFetcher } from "@geo/kafka-wire";
import type { ClusterSnapshot } from "./cluster-probe";
import { type KeyConflict, KeyConflictTracker } from "./key-conflicts";
import type { MonitoredFlow } from "./monitored-flow";
import type { GroupView } from "./region-view";

/** Two opposite flows between two clusters; `name` is the two aliases in order. */
export interface ActiveActivePair {
  readonly name: string;
  readonly flows: readonly [MonitoredFlow, MonitoredFlow];
}

const FETCH_MAX_BYTES_PER_PARTITION = 256 * 1024;
const provenance = Buffer.from(PROVENANCE_HEADER, "utf8");

/** Pairs of opposite flows of which neither belongs to an (active-passive) flow group. */
export function activeActivePairs(
  flows: readonly MonitoredFlow[],
  groups: readonly GroupView[],
): ActiveActivePair[] {
  const grouped = (f: MonitoredFlow) => groups.some((g) => g.includes(f));
  const out = new Map<string, ActiveActivePair>();
  for (const forward of flows) {
    if (grouped(forward)) continue;
    const reverse = flows.find(
      (f) => f.source === forward.target && f.target === forward.source && !grouped(f),
    );
    if (reverse === undefined) continue;
    const [a, b] = [forward, reverse].sort((x, y) => x.source.localeCompare(y.source));
    const name = `${a!.source}<->${a!.target}`;
    if (!out.has(name)) out.set(name, { name, flows: [a!, b!] });
  }
  return [...out.values()];
}

/** The application topics a pair shares: in both clusters, each replicated by its flow out. */
export function sharedTopics(
  pair: ActiveActivePair,
  snapshot: (alias: string) => ClusterSnapshot | undefined,
): Map<string, number> {
  const [a, b] = pair.flows;
  const out = new Map<string, number>();
  const inA = snapshot(a.source)?.topics;
  const inB = snapshot(b.source)?.topics;
  if (inA === undefined || inB === undefined) return out;
  for (const [topic, partitions] of inA) {
    if (isInternalTopic(topic) || isHeartbeatsTopic(topic)) continue;
    if (inB.has(topic) && a.replicates(topic) && b.replicates(topic)) {
      out.set(topic, Math.min(partitions, inB.get(topic)!));
    }
  }
  return out;
}

export class ActiveActiveWatch {
  private readonly trackers = new Map<string, KeyConflictTracker>();
  /** "cluster\0topic\0partition" -> next offset to read. */
  private readonly positions = new Map<string, bigint>();

  constructor(
    private readonly options: {
      readonly windowMs: number;
      readonly maxKeys: number;
      onConflict?(pair: string, conflict: KeyConflict): void;
    },
  ) {}

  tracker(pair: string): KeyConflictTracker | undefined {
    return this.trackers.get(pair);
  }

  pairs(): string[] {
    return [...this.trackers.keys()].sort();
  }

  /** Reads what was written to the pair's shared topics in both clusters since the last round. */
  async read(
    pair: ActiveActivePair,
    topics: ReadonlyMap<string, number>,
    fetcherOf: (alias: string) => PartitionFetcher | undefined,
  ): Promise<void> {
    let tracker = this.trackers.get(pair.name);
    if (tracker === undefined) {
      tracker = new KeyConflictTracker(this.options);
      this.trackers.set(pair.name, tracker);
    }
    for (const flow of pair.flows) {
      const fetcher = fetcherOf(flow.source);
      if (fetcher !== undefined)
        await this.readCluster(pair.name, flow.source, topics, fetcher, tracker);
    }
  }

  private async readCluster(
    pair: string,
    cluster: string,
    topics: ReadonlyMap<string, number>,
    fetcher: PartitionFetcher,
    tracker: KeyConflictTracker,
  ): Promise<void> {
    const wanted = [...topics].flatMap(([topic, count]) =>
      Array.from({ length: count }, (_, partition) => ({ topic, partition })),
    );
    const unknown = wanted.filter((p) => !this.positions.has(positionKey(cluster, p)));
    for (const { topic, partition } of unknown) {
      const [end] = await fetcher.listOffsets(topic, [partition], "latest", { timeoutMs: 5000 });
      this.positions.set(positionKey(cluster, { topic, partition }), end!.offset);
    }
    if (wanted.length === 0) return;
    const results = await fetcher.fetch(
      wanted.map((p) => ({
        ...p,
        offset: this.positions.get(positionKey(cluster, p))!,
        maxBytes: FETCH_MAX_BYTES_PER_PARTITION,
      })),
      { maxWaitMs: 0 },
    );
    for (const result of results) {
      if (result.error !== null) continue; // read again next round
      const key = positionKey(cluster, result);
      const from = this.positions.get(key)!;
      for (const batch of result.batches) {
        for (const record of batch.records()) {
          if (record.offset < from || record.key === null) continue;
          if (record.headers.some((h) => h.key.equals(provenance))) continue; // a replicated copy
          const conflict = tracker.observe(record.key, {
            cluster,
            topic: result.topic,
            partition: result.partition,
            offset: record.offset,
            timestamp: Number(record.timestamp),
          });
          if (conflict !== undefined) this.options.onConflict?.(pair, conflict);
        }
      }
      if (result.nextOffset > from) this.positions.set(key, result.nextOffset);
    }
  }
}

const positionKey = (cluster: string, p: { topic: string; partition: number }) =>
  `${cluster}\u0000${p.topic}\u0000${p.partition}`;
