import { Counter, Gauge, Histogram, type Registry } from "@geo/metrics";

const UNIT_LABELS = ["flow", "topic", "partition"] as const;
type UnitLabel = (typeof UNIT_LABELS)[number];
export type UnitLabels = Record<UnitLabel, string>;

// Replication latency spans local (ms) to cross-region backlogs (minutes, hours).
const LATENCY_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600,
];

/** The engine's Prometheus series. Shared registries get one set, whatever the engine count. */
export interface EngineMetrics {
  records: Counter<UnitLabel>;
  bytes: Counter<UnitLabel>;
  latency: Histogram<UnitLabel>;
  ageAtRead: Histogram<UnitLabel>;
  lagRecords: Gauge<UnitLabel>;
  lagSeconds: Gauge<UnitLabel>;
  offsetResets: Counter<UnitLabel | "policy">;
  skipped: Counter<UnitLabel>;
  unitErrors: Counter<UnitLabel | "reason">;
  progressWriteErrors: Counter<"cluster">;
  bufferedBytes: Gauge<"engine">;
  maxMessageBytesMismatch: Gauge<UnitLabel>;
  resumeDuplicates: Counter<UnitLabel>;
}

// One set per registry, whatever the engine count: an engine reuses the series another created.
function shared<T>(registry: Registry, name: string, make: (registers: Registry[]) => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make([registry]);
}

function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): Counter<L> {
  return shared(registry, name, (registers) => new Counter({ name, help, labelNames, registers }));
}

function gauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): Gauge<L> {
  return shared(registry, name, (registers) => new Gauge({ name, help, labelNames, registers }));
}

function latencyHistogram(registry: Registry, name: string, help: string): Histogram<UnitLabel> {
  return shared(
    registry,
    name,
    (registers) =>
      new Histogram({ name, help, labelNames: UNIT_LABELS, buckets: LATENCY_BUCKETS, registers }),
  );
}

export function createEngineMetrics(registry: Registry): EngineMetrics {
  return {
    records: counter(
      registry,
      "geo_agent_replicated_records_total",
      "Records written to the target and acknowledged, per unit.",
      UNIT_LABELS,
    ),
    bytes: counter(
      registry,
      "geo_agent_replicated_bytes_total",
      "Source batch bytes written to the target and acknowledged, per unit.",
      UNIT_LABELS,
    ),
    latency: latencyHistogram(
      registry,
      "geo_agent_replication_latency_seconds",
      "Target acknowledgement time minus record timestamp, per batch (its newest record).",
    ),
    ageAtRead: latencyHistogram(
      registry,
      "geo_agent_record_age_at_read_seconds",
      "Fetch time minus record timestamp, per batch (its newest record).",
    ),
    lagRecords: gauge(
      registry,
      "geo_agent_lag_records",
      "Source high watermark minus the next source offset the target acknowledged.",
      UNIT_LABELS,
    ),
    lagSeconds: gauge(
      registry,
      "geo_agent_lag_seconds",
      "Age of the oldest source record not yet acknowledged by the target; 0 when caught up.",
      UNIT_LABELS,
    ),
    offsetResets: counter(
      registry,
      "geo_agent_offset_resets_total",
      "Jumps of a unit's source position after OffsetOutOfRange (policy earliest/latest).",
      [...UNIT_LABELS, "policy"],
    ),
    skipped: counter(
      registry,
      "geo_agent_loop_skipped_records_total",
      "Source records not written because their provenance header names the target.",
      UNIT_LABELS,
    ),
    unitErrors: counter(
      registry,
      "geo_agent_unit_errors_total",
      "Units stopped by an error, by reason code.",
      [...UNIT_LABELS, "reason"],
    ),
    progressWriteErrors: counter(
      registry,
      "geo_agent_progress_write_errors_total",
      "Failed writes of progress or offset-map records, per target cluster.",
      ["cluster"],
    ),
    bufferedBytes: gauge(
      registry,
      "geo_agent_buffered_bytes",
      "Bytes fetched from sources and not yet acknowledged by targets.",
      ["engine"],
    ),
    maxMessageBytesMismatch: gauge(
      registry,
      "geo_agent_max_message_bytes_mismatch",
      "1 when the source topic's max.message.bytes exceeds the remote topic's (a batch between the two will be refused by the target and stop the unit); 0 when checked and not.",
      UNIT_LABELS,
    ),
    resumeDuplicates: counter(
      registry,
      "geo_agent_resume_duplicate_records_total",
      "Records a remote partition already held past the progress its unit resumed from (written after the previous owner's last progress record), which the unit writes again.",
      UNIT_LABELS,
    ),
  };
}
