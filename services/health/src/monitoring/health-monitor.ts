import { runLoop, sleep } from "@geo/backoff";
import type { GeoConfig } from "@geo/config";
import { type ClusterAdmin, createClusterAdmin, kafkaClientOptions } from "@geo/kafka";
import {
  createPartitionFetcher,
  createWireClient,
  type KafkaWireClient,
  type PartitionFetcher,
} from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import { type ClusterSnapshot, probeCluster } from "./cluster-probe";
import { type FlowLag, measureFlowLag, unknownLag } from "./flow-lag";
import {
  classifyFlow,
  DEFAULT_THRESHOLDS,
  type FlowStatus,
  type FlowStatusThresholds,
} from "./flow-status";
import { createHeartbeatReader, createHeartbeatWriter, type HeartbeatState } from "./heartbeats";
import { type KnownPartitionLag, LastKnownLags } from "./last-known-lag";
import type { FlowSource, MonitoredFlow } from "./monitored-flow";
import { createProgressTail, type ProgressTail } from "./progress-tail";

/** A cluster that does not answer a probe within this long counts as unreachable. */
const PROBE_TIMEOUT_MS = 5000;

export type HealthChange =
  | { kind: "cluster"; snapshot: ClusterSnapshot }
  | {
      kind: "flow";
      flow: string;
      status: FlowStatus;
      previous: FlowStatus;
      reason: string;
      time: number;
    };

export interface MonitorOptions {
  config: Pick<GeoConfig, "clusters" | "monitoring">;
  flows: FlowSource;
  logger: Logger;
  thresholds?: FlowStatusThresholds;
  /** Told of every heartbeat read in a target (latency undefined for one that was already there). */
  onHeartbeat?(flow: MonitoredFlow, latencyMs: number | undefined): void;
}

interface ClusterHandles {
  readonly alias: string;
  readonly admin: ClusterAdmin;
  readonly wire: KafkaWireClient;
  readonly fetcher: PartitionFetcher;
  readonly progress: ProgressTail;
  readonly minIsrCache: Map<string, number>;
  snapshot: ClusterSnapshot | undefined;
  /** Probes failed in a row (an unplanned failover needs N of them). */
  failures: number;
  /** When the first of those failed probes started (automatic failover counts from it). */
  failingSinceMs: number | undefined;
}

/**
 * Everything the health service knows, measured in the background and read by requests and
 * scrapes: the last probe of every cluster, the last lag of every flow, heartbeats and each
 * flow's status. No request waits on Kafka.
 */
export class HealthMonitor {
  readonly startedAt = Date.now();
  private readonly clusters = new Map<string, ClusterHandles>();
  private readonly lags = new Map<string, FlowLag>();
  private readonly lastKnownLags = new LastKnownLags();
  private readonly heartbeats = new Map<string, HeartbeatState>();
  private readonly statuses = new Map<
    string,
    { status: FlowStatus; reason: string; since: number }
  >();
  private readonly listeners = new Set<(change: HealthChange) => void>();
  private readonly timestamps = new Map<string, number>();
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  /** Duration of the last lag round (all flows), ms. */
  readonly rounds = { lagMs: 0 };

  constructor(private readonly options: MonitorOptions) {
    const { logger } = options;
    for (const cluster of Object.values(options.config.clusters).sort((a, b) =>
      a.alias.localeCompare(b.alias),
    )) {
      const wire = createWireClient(
        kafkaClientOptions(cluster, {
          clientId: "geo-health",
          logger,
          connectionTimeoutMs: 3000,
          requestTimeoutMs: 5000,
        }),
        { logger, requestTimeoutMs: 5000 },
      );
      this.clusters.set(cluster.alias, {
        alias: cluster.alias,
        admin: createClusterAdmin(cluster, { clientId: "geo-health", logger }),
        wire,
        fetcher: createPartitionFetcher(wire, { maxWaitMs: 0 }),
        progress: createProgressTail(wire, { logger }),
        minIsrCache: new Map(),
        snapshot: undefined,
        failures: 0,
        failingSinceMs: undefined,
      });
    }
  }

  get flows(): readonly MonitoredFlow[] {
    return this.options.flows.list();
  }

  clusterAliases(): string[] {
    return [...this.clusters.keys()];
  }

  cluster(alias: string): ClusterSnapshot | undefined {
    return this.clusters.get(alias)?.snapshot;
  }

  /** Probes in a row that found `alias` unreachable; 0 for an unknown cluster. */
  consecutiveFailures(alias: string): number {
    return this.clusters.get(alias)?.failures ?? 0;
  }

  /** Since when (Date.now()) `alias` has failed every probe; undefined while it answers. */
  unreachableSinceMs(alias: string): number | undefined {
    return this.clusters.get(alias)?.failingSinceMs;
  }

  /** Probes `alias` now (counted like the background probes); undefined for an unknown cluster. */
  async probeNow(alias: string): Promise<ClusterSnapshot | undefined> {
    const handles = this.clusters.get(alias);
    if (handles === undefined) return undefined;
    await this.probe(handles);
    return handles.snapshot;
  }

  /** The monitor's wire client of a cluster, shared by the passive-side checks. */
  client(alias: string): KafkaWireClient | undefined {
    return this.clusters.get(alias)?.wire;
  }

  lag(flow: string): FlowLag | undefined {
    return this.lags.get(flow);
  }

  /**
   * Every partition of `flow` as last measured successfully, with when: kept while the source
   * is unreachable (a failover reports it as the records at risk). Undefined if never measured.
   */
  lastKnownLag(flow: string): KnownPartitionLag[] | undefined {
    return this.lastKnownLags.get(flow);
  }

  heartbeat(flow: string): HeartbeatState {
    let state = this.heartbeats.get(flow);
    if (state === undefined) {
      state = {
        lastTimestamp: undefined,
        lastLatencyMs: undefined,
        lastArrival: undefined,
        received: 0,
      };
      this.heartbeats.set(flow, state);
    }
    return state;
  }

  status(flow: string): { status: FlowStatus; reason: string; since: number } | undefined {
    return this.statuses.get(flow);
  }

  onChange(listener: (change: HealthChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    const { monitoring } = this.options.config;
    const signal = this.abort.signal;
    const onError = (what: string) => (error: unknown, delayMs: number, failures: number) => {
      if (failures === 1 || failures % 30 === 0) {
        this.options.logger.warn(
          { err: (error as Error).message, delayMs, failures },
          `${what} failed; retrying`,
        );
      }
    };
    this.loops.push(
      paced(() => this.lagRound(), monitoring.probeIntervalMs, signal, onError("lag round")),
    );
    for (const handles of this.clusters.values()) {
      const cluster = { cluster: handles.alias };
      const writer = createHeartbeatWriter(handles.admin, handles.wire, {
        deliveryTimeoutMs: Math.max(2000, monitoring.heartbeatIntervalMs * 2),
      });
      const reader = createHeartbeatReader(handles.alias, handles.wire, {
        state: (flow) => this.heartbeat(flow),
        onHeartbeat: (flow, latency) => this.options.onHeartbeat?.(flow, latency),
      });
      const log = (what: string) => onError(`${what} of ${cluster.cluster}`);
      this.loops.push(
        // One loop per cluster: a slow or dead cluster delays only its own probes.
        paced(() => this.probe(handles), monitoring.probeIntervalMs, signal, log("probe")),
        paced(
          () => writer.write(this.flows.filter((f) => f.source === handles.alias && !f.paused)),
          monitoring.heartbeatIntervalMs,
          signal,
          log("heartbeat write"),
        ).finally(() => writer.close()),
        runLoop(() => reader.step(this.flows), {
          intervalMs: 10,
          signal,
          onError: log("heartbeat read"),
        }).finally(() => reader.close()),
        runLoop(() => handles.progress.step(), {
          intervalMs: 10,
          signal,
          onError: log("progress read"),
        }),
      );
    }
  }

  private async probe(handles: ClusterHandles): Promise<void> {
    const previous = handles.snapshot;
    if (Math.random() < 0.05) handles.minIsrCache.clear(); // pick up changed topic configs now and then
    const startedMs = Date.now();
    const snapshot = await probeCluster(handles.admin, {
      timeoutMs: PROBE_TIMEOUT_MS,
      minIsrCache: handles.minIsrCache,
    });
    handles.snapshot = snapshot;
    handles.failures = snapshot.reachable ? 0 : handles.failures + 1;
    handles.failingSinceMs = snapshot.reachable ? undefined : (handles.failingSinceMs ?? startedMs);
    if (previous === undefined || previous.reachable !== snapshot.reachable) {
      this.emit({ kind: "cluster", snapshot });
    }
  }

  private async lagRound(): Promise<void> {
    const started = performance.now();
    const progressMaxAgeMs = this.options.config.monitoring.probeIntervalMs * 3 + 2000;
    const flows = this.flows;
    await Promise.all(
      flows.map(async (flow) => {
        const source = this.clusters.get(flow.source);
        const target = this.clusters.get(flow.target);
        const lag =
          source === undefined || target === undefined
            ? unknownLag(flow, "flow names an unknown cluster")
            : await measureFlowLag(flow, {
                sourceSnapshot: source.snapshot,
                sourceClient: source.wire,
                sourceFetcher: source.fetcher,
                progress: target.progress,
                progressMaxAgeMs,
                timestamps: this.timestamps,
              });
        this.lags.set(flow.name, lag);
        this.lastKnownLags.update(lag);
        this.classify(flow, lag);
      }),
    );
    const names = new Set(flows.map((f) => f.name));
    for (const name of [...this.lags.keys()]) if (!names.has(name)) this.forget(name);
    this.rounds.lagMs = performance.now() - started;
  }

  private classify(flow: MonitoredFlow, lag: FlowLag): void {
    const now = Date.now();
    const next = classifyFlow(
      lag,
      this.heartbeats.get(flow.name),
      { now, monitoringSince: this.startedAt, paused: flow.paused },
      this.options.thresholds ?? DEFAULT_THRESHOLDS,
    );
    const previous = this.statuses.get(flow.name);
    if (previous?.status === next.status) {
      previous.reason = next.reason;
      return;
    }
    this.statuses.set(flow.name, { ...next, since: now });
    this.options.logger.info(
      { flow: flow.name, status: next.status, reason: next.reason },
      "flow health changed",
    );
    this.emit({
      kind: "flow",
      flow: flow.name,
      status: next.status,
      previous: previous?.status ?? 0,
      reason: next.reason,
      time: now,
    });
  }

  private forget(flow: string): void {
    this.lags.delete(flow);
    this.lastKnownLags.forget(flow);
    this.statuses.delete(flow);
    this.heartbeats.delete(flow);
  }

  private emit(change: HealthChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.options.logger.warn(
          { err: (error as Error).message },
          "health change listener failed",
        );
      }
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
    for (const handles of this.clusters.values()) {
      await handles.progress.close().catch(() => {});
      await handles.fetcher.close().catch(() => {});
      await handles.wire.close().catch(() => {});
      await handles.admin.close();
    }
  }
}

/**
 * runLoop whose iterations start every `intervalMs` (the pause makes up the rest of the period),
 * so "every 2 s" holds however long the work took, and failures back off as everywhere else.
 */
function paced(
  work: () => Promise<void>,
  intervalMs: number,
  signal: AbortSignal,
  onError: (error: unknown, delayMs: number, failures: number) => void,
): Promise<void> {
  return runLoop(
    async () => {
      const started = performance.now();
      await work();
      await sleep(Math.max(0, intervalMs - (performance.now() - started) - 1), signal);
    },
    { intervalMs: 1, signal, onError },
  );
}
