import { Counter, Gauge, Histogram, type Registry } from "@geo/metrics";
import { FlowStatus } from "./flow-status";
import type { HealthMonitor } from "./health-monitor";
import type { MonitoredFlow } from "./monitored-flow";

const STATUS_NAMES: Record<number, string> = {
  [FlowStatus.UNSPECIFIED]: "unspecified",
  [FlowStatus.HEALTHY]: "healthy",
  [FlowStatus.DEGRADED]: "degraded",
  [FlowStatus.STUCK]: "stuck",
  [FlowStatus.UNKNOWN]: "unknown",
};

type GaugeFactory = (
  name: string,
  help: string,
  labelNames: string[],
  fill: (g: Gauge<string>) => void,
) => Gauge<string>;

type Lag = NonNullable<ReturnType<HealthMonitor["lag"]>>;

const FLOW = ["flow", "source", "target"];
const flowLabels = (f: MonitoredFlow) => ({ flow: f.name, source: f.source, target: f.target });

/**
 * The health service's series (names and the operator terms they stand for: README.md). Gauges
 * are filled from the monitor's last round when scraped, so a scrape never waits on Kafka and
 * series of removed flows or topics disappear. Per-partition lag series only with
 * `monitoring.lagSeries: partition`; per-topic and per-flow series always.
 */
export function registerHealthMetrics(
  registry: Registry,
  monitor: HealthMonitor,
  lagSeries: "partition" | "topic",
) {
  const registers = [registry];
  const gauge = (
    name: string,
    help: string,
    labelNames: string[],
    fill: (g: Gauge<string>) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        fill(this);
      },
    });
  registerClusterGauges(gauge, monitor);
  registerLagGauges(gauge, monitor, lagSeries);
  registerFlowGauges(gauge, monitor);
  const latency = new Histogram({
    name: "geo_health_flow_heartbeat_latency_seconds",
    help: "End-to-end latency of heartbeats through the flow: written at the source, read at the target.",
    labelNames: FLOW,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers,
  });
  const received = new Counter({
    name: "geo_health_flow_heartbeats_received_total",
    help: "Heartbeats read in the flow's target.",
    labelNames: FLOW,
    registers,
  });
  return {
    heartbeat(flow: MonitoredFlow, latencyMs: number | undefined) {
      received.inc(flowLabels(flow));
      if (latencyMs !== undefined) latency.observe(flowLabels(flow), latencyMs / 1000);
    },
  };
}

/** Per cluster, from the last probe. */
function registerClusterGauges(gauge: GaugeFactory, monitor: HealthMonitor): void {
  const clusters = () =>
    monitor.clusterAliases().flatMap((alias) => {
      const snapshot = monitor.cluster(alias);
      return snapshot === undefined ? [] : [{ cluster: alias, snapshot }];
    });
  const clusterGauge = (
    name: string,
    help: string,
    value: (s: NonNullable<ReturnType<HealthMonitor["cluster"]>>) => number | undefined,
  ) =>
    gauge(name, help, ["cluster"], (g) => {
      for (const { cluster, snapshot } of clusters()) {
        const v = value(snapshot);
        if (v !== undefined) g.set({ cluster }, v);
      }
    });
  clusterGauge(
    "geo_health_cluster_up",
    "1 when the last probe of the cluster read its metadata, 0 when it could not.",
    (s) => (s.reachable ? 1 : 0),
  );
  clusterGauge(
    "geo_health_cluster_brokers",
    "Live brokers in the cluster's metadata at the last probe.",
    (s) => (s.reachable ? (s.health.brokerCount ?? 0) : undefined),
  );
  clusterGauge(
    "geo_health_cluster_active_controllers",
    "1 when the last probe found an active controller (Kafka's ActiveControllerCount, cluster-wide).",
    (s) => (s.reachable ? ((s.health.controllerId ?? -1) >= 0 ? 1 : 0) : undefined),
  );
  clusterGauge(
    "geo_health_cluster_under_replicated_partitions",
    "Partitions with fewer in-sync replicas than replicas (Kafka's UnderReplicatedPartitions, summed over the cluster).",
    (s) => (s.reachable ? (s.health.underReplicatedPartitionCount ?? 0) : undefined),
  );
  clusterGauge(
    "geo_health_cluster_offline_partitions",
    "Partitions without a leader (Kafka's OfflinePartitionsCount).",
    (s) => (s.reachable ? (s.health.offlinePartitionCount ?? 0) : undefined),
  );
  clusterGauge(
    "geo_health_cluster_under_min_isr_partitions",
    "Partitions with fewer in-sync replicas than their topic's min.insync.replicas (Kafka's UnderMinIsrPartitionCount): acks=all writes to them fail.",
    (s) => (s.reachable ? (s.health.minIsrViolationCount ?? 0) : undefined),
  );
  clusterGauge(
    "geo_health_cluster_probe_duration_seconds",
    "How long the last probe of the cluster took.",
    (s) =>
      Number(s.health.probeDuration?.seconds ?? 0n) + (s.health.probeDuration?.nanos ?? 0) / 1e9,
  );
  clusterGauge(
    "geo_health_cluster_probe_timestamp_seconds",
    "When the last probe of the cluster started (Unix time).",
    (s) => s.time / 1000,
  );
}

const flowsOf = (monitor: HealthMonitor) =>
  monitor.flows.map((flow) => ({ flow, lag: monitor.lag(flow.name) }));

/** Lag per flow, topic and (optionally) partition, from the last lag round. */
function registerLagGauges(
  gauge: GaugeFactory,
  monitor: HealthMonitor,
  lagSeries: "partition" | "topic",
): void {
  const flows = () => flowsOf(monitor);
  const measured =
    (fill: (g: Gauge<string>, f: MonitoredFlow, lag: Lag) => void) => (g: Gauge<string>) => {
      for (const { flow, lag } of flows())
        if (lag !== undefined && lag.unknown === undefined) fill(g, flow, lag);
    };
  gauge(
    "geo_health_flow_lag_unknown",
    "1 when the flow's lag cannot be measured (source or target unreachable): its lag series are absent, not 0.",
    FLOW,
    (g) => {
      for (const { flow, lag } of flows())
        if (lag !== undefined) g.set(flowLabels(flow), lag.unknown === undefined ? 0 : 1);
    },
  );
  gauge(
    "geo_health_flow_lag_records",
    "Records in the flow's source partitions not yet acknowledged by the target, summed (MirrorMakerLag, which MM2 lacks).",
    FLOW,
    measured((g, f, lag) => g.set(flowLabels(f), Number(lag.totalRecords))),
  );
  gauge(
    "geo_health_flow_lag_seconds",
    "Age of the oldest record of the flow not yet acknowledged by the target; 0 when caught up.",
    FLOW,
    measured((g, f, lag) => g.set(flowLabels(f), lag.maxAgeMs / 1000)),
  );
  gauge(
    "geo_health_flow_source_records",
    "Sum of the end offsets of the flow's source partitions: records written to them (rate() is the flow's MessagesInPerSec).",
    FLOW,
    measured((g, f, lag) => g.set(flowLabels(f), Number(lag.sourceRecords))),
  );
  gauge(
    "geo_health_flow_replicated_records",
    "Sum of the next source offsets recorded in the target: records acknowledged by it (rate() is records out per second).",
    FLOW,
    measured((g, f, lag) => g.set(flowLabels(f), Number(lag.replicatedRecords))),
  );
  gauge(
    "geo_health_flow_partitions",
    "Source partitions the flow replicates, at the last measurement.",
    FLOW,
    measured((g, f, lag) => g.set(flowLabels(f), lag.partitions.length)),
  );
  gauge(
    "geo_health_topic_lag_records",
    "Records of one source topic not yet acknowledged by the target, summed over its partitions.",
    ["flow", "topic"],
    measured((g, f, lag) => {
      const sums = new Map<string, number>();
      for (const p of lag.partitions)
        sums.set(p.sourceTopic, (sums.get(p.sourceTopic) ?? 0) + Number(p.records));
      for (const [topic, records] of sums) g.set({ flow: f.name, topic }, records);
    }),
  );
  gauge(
    "geo_health_topic_lag_seconds",
    "Age of the oldest unreplicated record of one source topic; 0 when caught up.",
    ["flow", "topic"],
    measured((g, f, lag) => {
      const worst = new Map<string, number>();
      for (const p of lag.partitions)
        worst.set(p.sourceTopic, Math.max(worst.get(p.sourceTopic) ?? 0, p.ageMs ?? 0));
      for (const [topic, ms] of worst) g.set({ flow: f.name, topic }, ms / 1000);
    }),
  );
  if (lagSeries === "partition") {
    const PART = ["flow", "topic", "partition"];
    gauge(
      "geo_health_partition_lag_records",
      "Records of one source partition not yet acknowledged by the target (monitoring.lagSeries: partition).",
      PART,
      measured((g, f, lag) => {
        for (const p of lag.partitions)
          g.set({ flow: f.name, topic: p.sourceTopic, partition: p.partition }, Number(p.records));
      }),
    );
    gauge(
      "geo_health_partition_lag_seconds",
      "Age of the oldest unreplicated record of one source partition; 0 when caught up (monitoring.lagSeries: partition).",
      PART,
      measured((g, f, lag) => {
        for (const p of lag.partitions)
          if (p.ageMs !== undefined)
            g.set({ flow: f.name, topic: p.sourceTopic, partition: p.partition }, p.ageMs / 1000);
      }),
    );
  }
}

/** Heartbeat age and latency, status and the service's own round time. */
function registerFlowGauges(gauge: GaugeFactory, monitor: HealthMonitor): void {
  const flows = () => flowsOf(monitor);
  gauge(
    "geo_health_flow_heartbeat_age_seconds",
    "Now minus the write time of the newest heartbeat read in the target: grows while the flow is stuck.",
    FLOW,
    (g) => {
      const now = Date.now();
      for (const { flow } of flows()) {
        const last = monitor.heartbeat(flow.name).lastTimestamp;
        if (last !== undefined) g.set(flowLabels(flow), Math.max(0, now - last) / 1000);
      }
    },
  );
  gauge(
    "geo_health_flow_last_heartbeat_latency_seconds",
    "End-to-end latency of the newest heartbeat seen arriving: written at the source, read at the target (MM2's replication-latency-ms, as a consumer sees it).",
    FLOW,
    (g) => {
      for (const { flow } of flows()) {
        const latency = monitor.heartbeat(flow.name).lastLatencyMs;
        if (latency !== undefined) g.set(flowLabels(flow), latency / 1000);
      }
    },
  );
  gauge(
    "geo_health_flow_status",
    "1 for the flow's current status (healthy, degraded, stuck, unknown, unspecified), 0 for the others.",
    [...FLOW, "status"],
    (g) => {
      for (const { flow } of flows()) {
        const current = monitor.status(flow.name)?.status ?? FlowStatus.UNSPECIFIED;
        for (const [value, name] of Object.entries(STATUS_NAMES))
          g.set({ ...flowLabels(flow), status: name }, Number(value) === current ? 1 : 0);
      }
    },
  );
  gauge(
    "geo_health_lag_round_seconds",
    "How long the last lag round over every flow took.",
    [],
    (g) => g.set(monitor.rounds.lagMs / 1000),
  );
}
