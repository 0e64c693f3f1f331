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

/**
 * `${flow}\0${group}` → `${topic}\0${partition}` → the latest commit followed, not yet written
 * (per group, so that a flush finds its group's commits without a scan).
 */
type Pending = Map<string, { flow: string; commits: Map<string, OffsetCommitRecord> }>;

/** Commits taken from `pending` for one write. */
type Taken = { flow: string; commit: OffsetCommitRecord }[];

/**
 * What a flush did: `nothing` (no commit of the group waiting), `written`, `failed` (retried at
 * the next pass) or `timeout` (still being written).
 */
export type FlushOutcome = "nothing" | "written" | "failed" | "timeout";

/** Per flow and group, when its checkpoints were last written (the checkpoint age gauge). */
export type CheckpointTimes = Map<string, { flow: string; group: string; time: number }>;

/**
 * Commit-driven checkpoints: follows every flow source's `__consumer_offsets` and, every
 * `coalesceMs`, writes the checkpoints of the partitions that the flows' selected groups
 * committed since the last pass, so that a failover finds each group within about one pass of
 * its last commit rather than one checkpoint round. Only the latest commit per partition is
 * kept (memory follows the partitions committed, bounded by `maxPending`); a failed write is
 * retried at the next pass unless a newer commit replaced it. A translation from checkpoints
 * (the source lost) first flushes its group's pending commits (`flush`). The periodic round
 * stays the fallback for what the tail does not see (commits before the start, a broken
 * connection).
 */
export class CommitCheckpoints {
  private readonly tails = new Map<string, CommitTail>();
  private readonly clients: KafkaWireClient[] = [];
  private readonly pending: Pending = new Map();
  private pendingSize = 0;
  /** The write in flight or queued last (a pass or a flush): writes run one at a time. */
  private writing: Promise<unknown> = Promise.resolve();
  /** `${flow}\0${group}` of the commits the write in flight is writing. */
  private readonly inFlight = new Set<string>();
  /** Groups to flush at the next flush write, and that write once queued (not yet started). */
  private readonly flushWanted = new Set<string>();
  private flushWrite: Promise<ReadonlySet<string>> | undefined;
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
      // The backoff after failed passes starts at the period: never below it (the schema allows
      // a period up to 60 s).
      maxMs: Math.max(5000, this.coalesceMs),
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
    const key = groupKey(flow, commit.group);
    const id = partitionId(commit);
    let entry = this.pending.get(key);
    const known = entry?.commits.has(id) ?? false;
    if (!known && this.pendingSize >= (this.options.maxPending ?? 100_000)) return false;
    if (entry === undefined) {
      entry = { flow, commits: new Map() };
      this.pending.set(key, entry);
    }
    entry.commits.set(id, commit);
    if (!known) this.pendingSize++;
    return true;
  }

  /** Removes and returns up to `limit` pending commits (of `groups` only, when given). */
  private take(limit: number, groups?: ReadonlySet<string>): Taken {
    const taken: Taken = [];
    for (const key of groups ?? this.pending.keys()) {
      const entry = this.pending.get(key);
      if (entry === undefined) continue;
      for (const [id, commit] of entry.commits) {
        if (taken.length >= limit) return taken;
        taken.push({ flow: entry.flow, commit });
        entry.commits.delete(id);
        this.pendingSize--;
      }
      this.pending.delete(key);
    }
    return taken;
  }

  private count(cluster: string, outcome: string): void {
    this.metrics.commitRecords.inc({ cluster, outcome });
  }

  /** Writes up to `maxPerPass` pending partitions, grouped per flow; flows fail independently. */
  async pass(): Promise<void> {
    await this.serially(() => this.write(this.take(this.options.maxPerPass ?? 10_000)));
  }

  /**
   * Writes the commits of `group` on `flow` followed but not written yet, for a translation from
   * checkpoints (the source does not answer) to start from the newest commit this service saw
   * rather than from the checkpoint of the pass before. Sound because it only writes sooner what
   * the next pass would write: each commit is one the group made (never a position it did not
   * commit), and writes run one at a time, each taking the latest pending commit of a partition
   * when it starts, so a partition's checkpoints are written in the order its commits were
   * followed (never backwards; a failed write is put back only when no newer commit came). A
   * flush waits for the write in flight (it may hold the group's commits), then writes only the
   * groups asked for meanwhile, all in one write: one slow group cannot queue the others behind
   * a flush each. After `timeoutMs` it returns `timeout` and the write goes on: the caller
   * translates from what is written, a pass older at worst, as without a flush.
   */
  async flush(flow: string, group: string, timeoutMs = 1000): Promise<FlushOutcome> {
    const key = groupKey(flow, group);
    if (!this.pending.has(key) && !this.inFlight.has(key)) return "nothing";
    this.flushWanted.add(key);
    this.flushWrite ??= this.serially(() => {
      this.flushWrite = undefined;
      const groups = new Set(this.flushWanted);
      this.flushWanted.clear();
      return this.write(this.take(Number.POSITIVE_INFINITY, groups));
    });
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      this.flushWrite.then((failed): FlushOutcome => (failed.has(flow) ? "failed" : "written")),
      new Promise<FlushOutcome>((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    if (outcome === "timeout" || outcome === "failed") {
      this.core.logger.warn(
        { flow, group, outcome, timeoutMs },
        "offsets: the group's followed commits are not written yet; translating from the checkpoints written, which may be a pass older",
      );
    }
    return outcome;
  }

  /** Runs writes one at a time, in the order asked (see flush). */
  private serially<T>(write: () => Promise<T>): Promise<T> {
    const run = this.writing.then(write);
    this.writing = run.catch(() => {});
    return run;
  }

  /** Writes `taken` per flow; flows fail independently. Returns the flows whose write failed. */
  private async write(taken: Taken): Promise<ReadonlySet<string>> {
    const failed = new Set<string>();
    for (const { flow, commit } of taken) this.inFlight.add(groupKey(flow, commit.group));
    const perFlow = groupBy(
      taken,
      (e) => e.flow,
      (e) => e.commit,
    );
    await Promise.all(
      [...perFlow].map(async ([flow, commits]) => {
        try {
          await this.writeFlow(flow, commits);
        } catch (error) {
          failed.add(flow);
          this.metrics.commitCheckpointWrites.inc({ flow, outcome: "failed" });
          this.core.logger.warn(
            { flow, partitions: commits.length, err: (error as Error).message },
            "offsets: writing checkpoints of followed commits failed; retrying at the next pass",
          );
          this.putBack(flow, commits);
        }
      }),
    );
    this.inFlight.clear();
    return failed;
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
      if (!this.pending.get(groupKey(flow, c.group))?.commits.has(partitionId(c))) {
        this.hold(flow, c);
      }
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.writing;
    await Promise.all([...this.tails.values()].map((t) => t.close()));
    await Promise.all(this.clients.map((c) => c.close()));
  }
}

function groupKey(flow: string, group: string): string {
  return `${flow}\u0000${group}`;
}

function partitionId(c: OffsetCommitRecord): string {
  return `${c.topic}\u0000${c.partition}`;
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
