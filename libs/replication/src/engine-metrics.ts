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

function get<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function createEngineMetrics(registry: Registry): EngineMetrics {
  const registers = [registry];
  return {
    records: get(
      registry,
      "geo_agent_replicated_records_total",
      () =>
        new Counter({
          name: "geo_agent_replicated_records_total",
          help: "Records written to the target and acknowledged, per unit.",
          labelNames: UNIT_LABELS,
          registers,
        }),
    ),
    bytes: get(
      registry,
      "geo_agent_replicated_bytes_total",
      () =>
        new Counter({
          name: "geo_agent_replicated_bytes_total",
          help: "Source batch bytes written to the target and acknowledged, per unit.",
          labelNames: UNIT_LABELS,
          registers,
        }),
    ),
    latency: get(
      registry,
      "geo_agent_replication_latency_seconds",
      () =>
        new Histogram({
          name: "geo_agent_replication_latency_seconds",
          help: "Target acknowledgement time minus record timestamp, per batch (its newest record).",
          labelNames: UNIT_LABELS,
          buckets: LATENCY_BUCKETS,
          registers,
        }),
    ),
    ageAtRead: get(
      registry,
      "geo_agent_record_age_at_read_seconds",
      () =>
        new Histogram({
          name: "geo_agent_record_age_at_read_seconds",
          help: "Fetch time minus record timestamp, per batch (its newest record).",
          labelNames: UNIT_LABELS,
          buckets: LATENCY_BUCKETS,
          registers,
        }),
    ),
    lagRecords: get(
      registry,
      "geo_agent_lag_records",
      () =>
        new Gauge({
          name: "geo_agent_lag_records",
          help: "Source high watermark minus the next source offset the target acknowledged.",
          labelNames: UNIT_LABELS,
          registers,
        }),
    ),
    lagSeconds: get(
      registry,
      "geo_agent_lag_seconds",
      () =>
        new Gauge({
          name: "geo_agent_lag_seconds",
          help: "Age of the oldest source record not yet acknowledged by the target; 0 when caught up.",
          labelNames: UNIT_LABELS,
          registers,
        }),
    ),
    offsetResets: get(
      registry,
      "geo_agent_offset_resets_total",
      () =>
        new Counter({
          name: "geo_agent_offset_resets_total",
          help: "Jumps of a unit's source position after OffsetOutOfRange (policy earliest/latest).",
          labelNames: [...UNIT_LABELS, "policy"],
          registers,
        }),
    ),
    skipped: get(
      registry,
      "geo_agent_loop_skipped_records_total",
      () =>
        new Counter({
          name: "geo_agent_loop_skipped_records_total",
          help: "Source records not written because their provenance header names the target.",
          labelNames: UNIT_LABELS,
          registers,
        }),
    ),
    unitErrors: get(
      registry,
      "geo_agent_unit_errors_total",
      () =>
        new Counter({
          name: "geo_agent_unit_errors_total",
          help: "Units stopped by an error, by reason code.",
          labelNames: [...UNIT_LABELS, "reason"],
          registers,
        }),
    ),
    progressWriteErrors: get(
      registry,
      "geo_agent_progress_write_errors_total",
      () =>
        new Counter({
          name: "geo_agent_progress_write_errors_total",
          help: "Failed writes of progress or offset-map records, per target cluster.",
          labelNames: ["cluster"],
          registers,
        }),
    ),
    bufferedBytes: get(
      registry,
      "geo_agent_buffered_bytes",
      () =>
        new Gauge({
          name: "geo_agent_buffered_bytes",
          help: "Bytes fetched from sources and not yet acknowledged by targets.",
          labelNames: ["engine"],
          registers,
        }),
    ),
    maxMessageBytesMismatch: get(
      registry,
      "geo_agent_max_message_bytes_mismatch",
      () =>
        new Gauge({
          name: "geo_agent_max_message_bytes_mismatch",
          help: "1 when the source topic's max.message.bytes exceeds the remote topic's (a batch between the two will be refused by the target and stop the unit); 0 when checked and not.",
          labelNames: UNIT_LABELS,
          registers,
        }),
    ),
    resumeDuplicates: get(
      registry,
      "geo_agent_resume_duplicate_records_total",
      () =>
        new Counter({
          name: "geo_agent_resume_duplicate_records_total",
          help: "Records a remote partition already held past the progress its unit resumed from (written after the previous owner's last progress record), which the unit writes again.",
          labelNames: UNIT_LABELS,
          registers,
        }),
    ),
  };
}
