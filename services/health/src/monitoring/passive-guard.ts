import { runLoop } from "@geo/backoff";
import { isHeartbeatsTopic } from "@geo/config";
import { createPartitionFetcher, type KafkaWireClient } from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import { ActiveActiveWatch, activeActivePairs, sharedTopics } from "./active-active-watch";
import {
  ForeignWriteDetector,
  type ForeignWriteReaders,
  type ForeignWriteReport,
} from "./foreign-writes";
import type { HealthMonitor } from "./health-monitor";
import type { KeyConflict } from "./key-conflicts";
import type { MonitoredFlow } from "./monitored-flow";
import type { GroupView, RegionView } from "./region-view";
import { createSegmentTail } from "./segment-tail";
import { SplitBrainTracker } from "./split-brain";

export interface PassiveGuardOptions {
  readonly monitor: HealthMonitor;
  readonly regions: RegionView;
  readonly logger: Logger;
  /** Round interval; default 2000 ms. */
  readonly intervalMs?: number;
  /** How long an uncovered batch of an unknown producer may wait for its segment. Default 10 s. */
  readonly foreignGraceMs?: number;
  /** How long a group stays in split brain after the last write seen in its passive region. Default 5 min. */
  readonly splitBrainHoldMs?: number;
  /** Active-active key conflicts; off when absent. */
  readonly keyConflicts?: {
    readonly windowMs: number;
    readonly maxKeys: number;
    onConflict?(pair: string, conflict: KeyConflict): void;
  };
  onForeign?(report: ForeignWriteReport, added: bigint): void;
  onWatched?(report: ForeignWriteReport): void;
}

/**
 * The passive-side checks of every flow group declared active-passive, one round every
 * interval: foreign writes in the remote topics of the flows into the passive region, and
 * split brain (the passive region accepting application writes). Reads the monitor's last lag
 * round for the partitions and sources; never writes anything.
 */
export class PassiveGuard {
  readonly detector: ForeignWriteDetector;
  readonly splitBrain: SplitBrainTracker;
  readonly activeActive: ActiveActiveWatch | undefined;
  private readonly readers = new Map<string, ForeignWriteReaders>();
  private readonly abort = new AbortController();
  private readonly watched = new Set<string>();
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly options: PassiveGuardOptions) {
    const intervalMs = options.intervalMs ?? 2000;
    this.detector = new ForeignWriteDetector({
      graceMs: options.foreignGraceMs ?? 10_000,
      segmentsMaxAgeMs: intervalMs * 3 + 2000,
      ...(options.onForeign === undefined ? {} : { onForeign: options.onForeign }),
      ...(options.onWatched === undefined ? {} : { onWatched: options.onWatched }),
    });
    this.splitBrain = new SplitBrainTracker(options.splitBrainHoldMs ?? 300_000);
    this.activeActive =
      options.keyConflicts === undefined ? undefined : new ActiveActiveWatch(options.keyConflicts);
  }

  start(): void {
    const signal = this.abort.signal;
    const onError = (what: string) => (error: unknown, _delayMs: number, failures: number) => {
      if (failures === 1 || failures % 30 === 0) {
        this.options.logger.warn(
          { err: (error as Error).message, failures },
          `${what} failed; retrying`,
        );
      }
    };
    this.loops.push(
      runLoop(() => this.round(), {
        intervalMs: this.options.intervalMs ?? 2000,
        signal,
        onError: onError("passive-side round"),
      }),
    );
    for (const alias of this.options.monitor.clusterAliases()) {
      const readers = this.readersOf(alias);
      if (readers === undefined) continue;
      this.loops.push(
        runLoop(() => readers.segments.step(), {
          intervalMs: 10,
          signal,
          onError: onError(`offset-map read of ${alias}`),
        }),
      );
    }
  }

  groups(): readonly GroupView[] {
    return this.options.regions.groups();
  }

  flows(): readonly MonitoredFlow[] {
    return this.options.monitor.flows;
  }

  /** One round: foreign writes of every flow into a passive region, then split brain per group. */
  async round(): Promise<void> {
    // Before the region store answers, no group is known: every pair would look active-active.
    if (!this.options.regions.ready()) return;
    const groups = this.options.regions.groups();
    const flows = this.options.monitor.flows;
    const watched = flows.filter((f) => passiveTargetOf(f, groups) !== undefined);
    for (const flow of watched) {
      if (this.watched.has(flow.name)) continue;
      this.watched.add(flow.name);
      this.options.logger.info(
        { flow: flow.name, target: flow.target },
        "passive-side checks: watching the flow's remote topics for foreign writes",
      );
    }
    await Promise.all(watched.map((flow) => this.checkFlow(flow)));
    const now = Date.now();
    for (const group of groups) {
      const inGroup = flows.filter((f) => group.includes(f));
      const into = inGroup.filter((f) => f.target === group.passiveCluster);
      const outOf = inGroup.filter((f) => f.source === group.passiveCluster);
      this.splitBrain.observe(
        group.name,
        {
          epoch: group.epoch,
          stable: group.stable,
          foreignWrites: into.reduce((sum, f) => sum + this.detector.total(f.name), 0n),
          passiveSourceRecords: this.applicationRecords(outOf),
        },
        now,
      );
    }
    const names = new Set(groups.map((g) => g.name));
    for (const name of this.splitBrain.groups()) if (!names.has(name)) this.splitBrain.forget(name);
    await this.readActiveActive(flows, groups);
  }

  private async readActiveActive(
    flows: readonly MonitoredFlow[],
    groups: readonly GroupView[],
  ): Promise<void> {
    const watch = this.activeActive;
    if (watch === undefined) return;
    for (const pair of activeActivePairs(flows, groups)) {
      const topics = sharedTopics(pair, (alias) => this.options.monitor.cluster(alias));
      await watch.read(pair, topics, (alias) => this.readersOf(alias)?.fetcher);
    }
  }

  private async checkFlow(flow: MonitoredFlow): Promise<void> {
    const lag = this.options.monitor.lag(flow.name);
    const readers = this.readersOf(flow.target);
    if (lag === undefined || lag.unknown !== undefined || readers === undefined) return;
    await this.detector.check(flow, lag.partitions, readers);
  }

  /** End offsets of the flows' application source partitions, summed; undefined if one is unknown. */
  private applicationRecords(flows: readonly MonitoredFlow[]): bigint | undefined {
    if (flows.length === 0) return undefined;
    let sum = 0n;
    for (const flow of flows) {
      const lag = this.options.monitor.lag(flow.name);
      if (lag === undefined || lag.unknown !== undefined) return undefined;
      for (const p of lag.partitions) if (!isHeartbeatsTopic(p.sourceTopic)) sum += p.endOffset;
    }
    return sum;
  }

  private readersOf(alias: string): ForeignWriteReaders | undefined {
    let readers = this.readers.get(alias);
    if (readers !== undefined) return readers;
    const client: KafkaWireClient | undefined = this.options.monitor.client(alias);
    if (client === undefined) return undefined;
    readers = {
      client,
      fetcher: createPartitionFetcher(client, { isolationLevel: "read_uncommitted", maxWaitMs: 0 }),
      segments: createSegmentTail(client, { logger: this.options.logger }),
    };
    this.readers.set(alias, readers);
    return readers;
  }

  async close(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
    for (const readers of this.readers.values()) {
      await readers.segments.close().catch(() => {});
      await readers.fetcher.close().catch(() => {});
    }
  }
}

/** The group in which the flow writes into the passive region, if any. */
export function passiveTargetOf(
  flow: MonitoredFlow,
  groups: readonly GroupView[],
): GroupView | undefined {
  return groups.find((g) => g.includes(flow) && flow.target === g.passiveCluster);
}

/** What GetFlowHealth adds from the passive-side checks for one flow. */
export interface PassiveFlowReport {
  readonly foreignWrites: bigint;
  readonly splitBrainReason: string;
  readonly keyConflicts: bigint;
  readonly keyConflictSampleRate: number;
  readonly recentKeyConflicts: readonly KeyConflict[];
}

export function passiveFlowReport(guard: PassiveGuard, flow: MonitoredFlow): PassiveFlowReport {
  const groups = guard.groups();
  const group = groups.find((g) => g.includes(flow));
  const splitBrain = group === undefined ? undefined : guard.splitBrain.state(group.name);
  const pair = activeActivePairs(guard.flows(), groups).find((p) => p.flows.includes(flow));
  const tracker = pair === undefined ? undefined : guard.activeActive?.tracker(pair.name);
  let conflicts = 0n;
  for (const count of tracker?.counts.values() ?? []) conflicts += BigInt(count);
  return {
    foreignWrites: guard.detector.total(flow.name),
    splitBrainReason: splitBrain?.splitBrain ? splitBrain.reason : "",
    keyConflicts: conflicts,
    keyConflictSampleRate: tracker?.sampleRate ?? 0,
    recentKeyConflicts: tracker?.recent() ?? [],
  };
}
