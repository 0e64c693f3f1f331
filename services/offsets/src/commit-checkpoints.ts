import { runLoop } from "@geo/backoff";
import type { ClusterConfig } from "@geo/config";
import { kafkaClientOptions } from "@geo/kafka";
import { createWireClient, type KafkaWireClient } from "@geo/kafka-wire";
import { toOffset } from "@geo/positions";
import type { KafkaRecord } from "@geo/record-batch";
import { decodeConsumerOffsetsRecord, type OffsetCommitRecord } from "./commit-record";
import { CommitTail } from "./commit-tail";
import type { FlowDirectory } from "./flows";
import type { OffsetsCore } from "./offsets-core";
import type { OffsetsMetrics } from "./offsets-metrics";

export interface CommitCheckpointsOptions {
  /** How often pending commits are written. Default 250 ms. */
  coalesceMs?: number;
  /** Partitions of groups waiting to be written, at most; commits of new ones are dropped past it. */
  maxPending?: number;
  /** Partitions written per pass, at most (the rest wait for the next pass). */
  maxPerPass?: number;
}

/** `${flow}\0${group}\0${topic}\0${partition}` → the latest commit followed, not yet written. */
type Pending = Map<string, { flow: string; commit: OffsetCommitRecord }>;

/** Per flow and group, when its checkpoints were last written (the checkpoint age gauge). */
export type CheckpointTimes = Map<string, { flow: string; group: string; time: number }>;

/**
 * Commit-driven checkpoints: follows every flow source's `__consumer_offsets` and, every
 * `coalesceMs`, writes the checkpoints of the partitions that the flows' selected groups
 * committed since the last pass, so that a failover finds each group within about one pass of
 * its last commit rather than one checkpoint round. Only the latest commit per partition is
 * kept (memory follows the partitions committed, bounded by `maxPending`); a failed write is
 * retried at the next pass unless a newer commit replaced it. The periodic round stays the
 * fallback for what the tail does not see (commits before the start, a broken connection).
 */
export class CommitCheckpoints {
  private readonly tails = new Map<string, CommitTail>();
  private readonly clients: KafkaWireClient[] = [];
  private readonly pending: Pending = new Map();
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly coalesceMs: number;

  constructor(
    private readonly core: OffsetsCore,
    private readonly metrics: OffsetsMetrics,
    private readonly times: CheckpointTimes,
    private readonly clusters: Readonly<Record<string, ClusterConfig>>,
    private readonly options: CommitCheckpointsOptions = {},
  ) {
    this.coalesceMs = options.coalesceMs ?? 250;
  }

  /** Follows the sources of the current flows (call again when flows change). */
  sync(flows: FlowDirectory): void {
    for (const flow of flows.list()) {
      const cluster = this.clusters[flow.source];
      if (this.tails.has(flow.source) || cluster === undefined) continue;
      const logger = this.core.logger.child({ cluster: flow.source });
      // Its own connection: a broker answers one request of a connection at a time, and the
      // tail's long polls must not hold up the round's group reads.
      const client = createWireClient(
        kafkaClientOptions(cluster, {
          clientId: "geo-offsets-commits",
          logger: logger.child({}, { level: "fatal" }),
          connectionTimeoutMs: 3000,
          requestTimeoutMs: 10_000,
        }),
        { logger },
      );
      this.clients.push(client);
      const onRecord = (record: KafkaRecord) => this.accept(flow.source, record.key, record.value);
      const tail = new CommitTail({ client, cluster: flow.source, logger, onRecord });
      tail.start();
      this.tails.set(flow.source, tail);
    }
  }

  start(): void {
    this.loop ??= runLoop(() => this.pass(), {
      intervalMs: this.coalesceMs,
      signal: this.abort.signal,
      initialMs: this.coalesceMs,
      maxMs: 5000,
    });
  }

  /** One `__consumer_offsets` record of `cluster`; an undecodable one is counted, then thrown. */
  accept(cluster: string, key: Buffer | null, value: Buffer | null): void {
    let record: ReturnType<typeof decodeConsumerOffsetsRecord>;
    try {
      record = decodeConsumerOffsetsRecord(key, value);
    } catch (error) {
      this.count(cluster, "undecodable");
      throw error;
    }
    if (record.kind !== "commit") {
      this.count(cluster, record.kind);
      return;
    }
    let outcome = "unselected";
    for (const flow of this.core.flows.list()) {
      if (flow.source !== cluster || !flow.replicates(record.topic)) continue;
      if (!flow.checkpointsGroup(record.group)) continue;
      outcome = this.hold(flow.name, record) ? "followed" : "dropped";
    }
    this.count(cluster, outcome);
  }

  private hold(flow: string, commit: OffsetCommitRecord): boolean {
    const id = pendingId(flow, commit);
    if (!this.pending.has(id) && this.pending.size >= (this.options.maxPending ?? 100_000)) {
      return false;
    }
    this.pending.set(id, { flow, commit });
    return true;
  }

  private count(cluster: string, outcome: string): void {
    this.metrics.commitRecords.inc({ cluster, outcome });
  }

  /** Writes up to `maxPerPass` pending partitions, grouped per flow; flows fail independently. */
  async pass(): Promise<void> {
    const taken: Pending = new Map();
    for (const [id, entry] of this.pending) {
      if (taken.size >= (this.options.maxPerPass ?? 10_000)) break;
      taken.set(id, entry);
      this.pending.delete(id);
    }
    const perFlow = groupBy(
      [...taken.values()],
      (e) => e.flow,
      (e) => e.commit,
    );
    await Promise.all(
      [...perFlow].map(async ([flow, commits]) => {
        try {
          await this.writeFlow(flow, commits);
        } catch (error) {
          this.metrics.commitCheckpointWrites.inc({ flow, outcome: "failed" });
          this.core.logger.warn(
            { flow, partitions: commits.length, err: (error as Error).message },
            "offsets: writing checkpoints of followed commits failed; retrying at the next pass",
          );
          this.putBack(flow, commits);
        }
      }),
    );
  }

  private async writeFlow(name: string, commits: readonly OffsetCommitRecord[]): Promise<void> {
    const flow = this.core.flows.get(name);
    // A flow removed meanwhile, or a target index still being read: the round covers them.
    if (flow === undefined || !this.core.targets.isBuilt(flow.target)) return;
    const perGroup = groupBy(
      commits,
      (c) => c.group,
      (c) => c,
    );
    const entries = [...perGroup].map(([group, list]) => ({
      group,
      translations: this.core.translate(
        flow,
        list.map((c) => ({
          topic: c.topic,
          partition: c.partition,
          offset: toOffset(c.offset, `committed offset of ${c.topic}-${c.partition}`),
          metadata: c.metadata,
        })),
      ),
    }));
    await this.core.writer.writeMany(flow, entries);
    const now = Date.now();
    for (const group of perGroup.keys()) {
      this.times.set(`${name}\u0000${group}`, { flow: name, group, time: now });
    }
    for (const c of commits) {
      this.metrics.commitCheckpointLagSeconds.observe(
        { flow: name },
        Math.max(0, now - c.commitTimestamp) / 1000,
      );
    }
    this.metrics.commitCheckpointWrites.inc({ flow: name, outcome: "ok" });
  }

  /** Failed commits wait for the next pass, unless a newer commit of the partition came. */
  private putBack(flow: string, commits: readonly OffsetCommitRecord[]): void {
    for (const c of commits) {
      if (!this.pending.has(pendingId(flow, c))) this.hold(flow, c);
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await Promise.all([...this.tails.values()].map((t) => t.close()));
    await Promise.all(this.clients.map((c) => c.close()));
  }
}

function pendingId(flow: string, c: OffsetCommitRecord): string {
  return `${flow}\u0000${c.group}\u0000${c.topic}\u0000${c.partition}`;
}

function groupBy<T, V>(items: readonly T[], key: (item: T) => string, value: (item: T) => V) {
  const out = new Map<string, V[]>();
  for (const item of items) {
    const list = out.get(key(item));
    if (list === undefined) out.set(key(item), [value(item)]);
    else list.push(value(item));
  }
  return out;
}
