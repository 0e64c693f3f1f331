import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, GeoError, requireNonEmpty, type ServiceImpl } from "@geo/grpc";
import type { healthV1, ReplicationHealthService } from "@geo/proto";
import type { ClusterHealthView } from "./cluster-probe";
import type { FlowLag } from "./flow-lag";
import type { HealthChange, HealthMonitor } from "./health-monitor";
import type { PassiveFlowReport } from "./passive-guard";

type Impl = ServiceImpl<typeof ReplicationHealthService>;
type WatchMessage = MessageInitShape<typeof healthV1.WatchHealthResponseSchema>;

/** Bounds a watch's backlog: a client that reads slower than changes come is cut off. */
const MAX_PENDING_CHANGES = 10_000;

/**
 * The cluster and flow health RPCs of geo.health.v1, answered from the monitor's last rounds
 * (never waiting on Kafka). Spread into the service's addService beside the region-state RPCs.
 */
export function healthHandlers(
  monitor: HealthMonitor,
  passive?: (flow: string) => PassiveFlowReport | undefined,
): Pick<Impl, "getClusterHealth" | "listClusterHealth" | "getFlowHealth" | "watchHealth"> {
  const clusterHealth = (alias: string): ClusterHealthView =>
    monitor.cluster(alias)?.health ?? {
      cluster: alias,
      reachable: false,
      controllerId: -1,
      error: "not probed yet",
    };
  return {
    listClusterHealth: () => ({ clusters: monitor.clusterAliases().map(clusterHealth) }),
    getClusterHealth: (request) => {
      requireNonEmpty(request.cluster, "cluster");
      if (!monitor.clusterAliases().includes(request.cluster)) {
        throw new GeoError(
          Code.NOT_FOUND,
          `no cluster "${request.cluster}"; known clusters: ${monitor.clusterAliases().join(", ")}`,
        );
      }
      return { health: clusterHealth(request.cluster) };
    },
    getFlowHealth: (request) => {
      requireNonEmpty(request.flow, "flow");
      const flow = monitor.flows.find((f) => f.name === request.flow);
      if (flow === undefined) {
        throw new GeoError(
          Code.NOT_FOUND,
          `no flow "${request.flow}"; known flows: ${monitor.flows.map((f) => f.name).join(", ") || "none"}`,
        );
      }
      const lag = monitor.lag(flow.name);
      if (lag === undefined) {
        throw new GeoError(
          Code.UNAVAILABLE,
          `flow "${flow.name}" not measured yet; retry in a few seconds`,
          {
            retriable: true,
          },
        );
      }
      return {
        ...flowHealth(lag, request.topics, monitor),
        ...passiveFields(passive?.(flow.name)),
      };
    },
    watchHealth: (request, context) => watch(monitor, request, context.signal),
  };
}

function flowHealth(lag: FlowLag, topics: readonly string[], monitor: HealthMonitor) {
  const wanted = topics.length === 0 ? undefined : new Set(topics);
  const heartbeat = monitor.heartbeat(lag.flow);
  const status = monitor.status(lag.flow);
  const measureTime = timestampFromMs(lag.time);
  const now = Date.now();
  return {
    flow: lag.flow,
    sourceCluster: lag.source,
    targetCluster: lag.target,
    partitions: lag.partitions
      .filter((p) => wanted === undefined || wanted.has(p.sourceTopic))
      .map((p) => ({
        sourceTopic: p.sourceTopic,
        partition: p.partition,
        remoteTopic: p.remoteTopic,
        sourceEndOffset: p.endOffset.toString(),
        nextSourceOffset: p.nextSourceOffset.toString(),
        lag: { records: p.records.toString(), time: durationFromMs(p.ageMs ?? 0), measureTime },
      })),
    ...(lag.unknown === undefined
      ? {
          totalLag: {
            records: lag.totalRecords.toString(),
            time: durationFromMs(lag.maxAgeMs),
            measureTime,
          },
        }
      : { lagUnknown: true, lagUnknownReason: lag.unknown }),
    ...(heartbeat.lastLatencyMs === undefined
      ? {}
      : { heartbeatLatency: durationFromMs(heartbeat.lastLatencyMs) }),
    ...(heartbeat.lastArrival === undefined
      ? {}
      : { lastHeartbeatTime: timestampFromMs(heartbeat.lastArrival) }),
    ...(heartbeat.lastTimestamp === undefined
      ? {}
      : { heartbeatAge: durationFromMs(Math.max(0, now - heartbeat.lastTimestamp)) }),
    status: status?.status ?? 0,
    statusReason: status?.reason ?? "not measured yet",
  };
}

function passiveFields(report: PassiveFlowReport | undefined) {
  if (report === undefined) return {};
  const write = (w: PassiveFlowReport["recentKeyConflicts"][number]["first"]) => ({
    cluster: w.cluster,
    partition: w.partition,
    offset: w.offset.toString(),
    timestamp: timestampFromMs(w.timestamp),
  });
  return {
    foreignWrites: report.foreignWrites.toString(),
    splitBrainReason: report.splitBrainReason,
    keyConflicts: report.keyConflicts.toString(),
    keyConflictSampleRate: report.keyConflictSampleRate,
    recentKeyConflicts: report.recentKeyConflicts.map((c) => ({
      topic: c.topic,
      key: new Uint8Array(c.key),
      first: write(c.first),
      second: write(c.second),
    })),
  };
}

function toMessage(change: HealthChange, initial: boolean): WatchMessage {
  if (change.kind === "cluster") {
    return { change: { case: "cluster", value: change.snapshot.health }, initial };
  }
  return {
    change: {
      case: "flow",
      value: {
        flow: change.flow,
        status: change.status,
        previousStatus: change.previous,
        reason: change.reason,
        changeTime: timestampFromMs(change.time),
      },
    },
    initial,
  };
}

async function* watch(
  monitor: HealthMonitor,
  request: { flows: readonly string[]; clusters: readonly string[] },
  signal: AbortSignal,
): AsyncGenerator<WatchMessage> {
  const flows = request.flows.length === 0 ? undefined : new Set(request.flows);
  const clusters = request.clusters.length === 0 ? undefined : new Set(request.clusters);
  const wanted = (change: HealthChange) =>
    change.kind === "cluster"
      ? clusters === undefined || clusters.has(change.snapshot.health.cluster ?? "")
      : flows === undefined || flows.has(change.flow);
  const pending: HealthChange[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = monitor.onChange((change) => {
    if (!wanted(change)) return;
    pending.push(change);
    wake?.();
  });
  try {
    for (const alias of monitor.clusterAliases()) {
      const snapshot = monitor.cluster(alias);
      if (snapshot !== undefined && wanted({ kind: "cluster", snapshot })) {
        yield toMessage({ kind: "cluster", snapshot }, true);
      }
    }
    for (const flow of monitor.flows) {
      const status = monitor.status(flow.name);
      if (status === undefined || (flows !== undefined && !flows.has(flow.name))) continue;
      yield toMessage(
        {
          kind: "flow",
          flow: flow.name,
          status: status.status,
          previous: 0,
          reason: status.reason,
          time: status.since,
        },
        true,
      );
    }
    while (!signal.aborted) {
      if (pending.length > MAX_PENDING_CHANGES) {
        throw new GeoError(Code.RESOURCE_EXHAUSTED, "watch fell too far behind; reconnect", {
          retriable: true,
        });
      }
      const change = pending.shift();
      if (change !== undefined) {
        yield toMessage(change, false);
        continue;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
      wake = undefined;
    }
  } finally {
    unsubscribe();
  }
}
