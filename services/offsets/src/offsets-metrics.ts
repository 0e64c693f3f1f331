import { Counter, Gauge, Histogram, type Registry } from "@geo/metrics";
import type { IndexStats } from "./offset-index";

export interface OffsetsMetrics {
  readonly translations: Counter<"method">;
  readonly translationErrors: Counter<"method" | "code">;
  readonly translateSeconds: Histogram<"method">;
  readonly groupCommits: Counter<"flow" | "trigger">;
  readonly groupSyncSkipped: Counter<"flow" | "reason">;
  readonly checkpointRounds: Counter<"flow" | "outcome">;
  readonly checkpointRoundSeconds: Histogram<"flow">;
  readonly commitRecords: Counter<"cluster" | "outcome">;
  readonly commitCheckpointWrites: Counter<"flow" | "outcome">;
  readonly commitCheckpointLagSeconds: Histogram<"flow">;
}

/** What the scrape-time gauges read. */
export interface OffsetsMetricsSource {
  indexStats(): IndexStats;
  /** Per flow and group: when its checkpoints were last written (ms since epoch). */
  checkpointTimes(): Iterable<{ flow: string; group: string; time: number }>;
}

export function registerOffsetsMetrics(
  registry: Registry,
  source: OffsetsMetricsSource,
): OffsetsMetrics {
  const indexGauge = (name: string, help: string, value: (s: IndexStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value(source.indexStats()));
      },
    });
  indexGauge(
    "geo_offsets_index_partitions",
    "Replicated partitions with an offset map in the index.",
    (s) => s.partitions,
  );
  indexGauge(
    "geo_offsets_index_runs",
    "Resolved runs held in memory (one per gap in the retained source log).",
    (s) => s.runs,
  );
  indexGauge(
    "geo_offsets_index_segment_records_total",
    "Offset-map records read from the targets since start.",
    (s) => s.segmentRecords,
  );
  new Gauge({
    name: "geo_offsets_checkpoint_age_seconds",
    help: "Seconds since a group's checkpoints were last written into the flow's target.",
    labelNames: ["flow", "group"],
    registers: [registry],
    collect() {
      this.reset();
      const now = Date.now();
      for (const c of source.checkpointTimes()) {
        this.set({ flow: c.flow, group: c.group }, (now - c.time) / 1000);
      }
    },
  });
  new Gauge({
    name: "geo_offsets_groups_checkpointed",
    help: "Groups whose checkpoints have been written (by a round or a followed commit), per flow.",
    labelNames: ["flow"],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const c of source.checkpointTimes()) counts.set(c.flow, (counts.get(c.flow) ?? 0) + 1);
      for (const [flow, n] of counts) this.set({ flow }, n);
    },
  });
  return {
    translations: new Counter({
      name: "geo_offsets_translation_requests_total",
      help: "Translation requests served, by gRPC method.",
      labelNames: ["method"],
      registers: [registry],
    }),
    translationErrors: new Counter({
      name: "geo_offsets_translation_errors_total",
      help: "Translation requests that failed, by gRPC method and status code.",
      labelNames: ["method", "code"],
      registers: [registry],
    }),
    translateSeconds: new Histogram({
      name: "geo_offsets_translation_seconds",
      help: "Time to answer a translation request.",
      labelNames: ["method"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    }),
    groupCommits: new Counter({
      name: "geo_offsets_group_offset_commits_total",
      help: "Partition offsets committed into target groups, by flow and trigger (sync, request).",
      labelNames: ["flow", "trigger"],
      registers: [registry],
    }),
    groupSyncSkipped: new Counter({
      name: "geo_offsets_group_sync_skipped_total",
      help: "Group syncs not done, by reason (active: members in the target group).",
      labelNames: ["flow", "reason"],
      registers: [registry],
    }),
    checkpointRoundSeconds: new Histogram({
      name: "geo_offsets_checkpoint_round_seconds",
      help: "Duration of a flow's checkpoint round (group reads, translation, writes, sync).",
      labelNames: ["flow"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16],
      registers: [registry],
    }),
    commitRecords: new Counter({
      name: "geo_offsets_commit_records_total",
      help: "Records read from a source's __consumer_offsets, by outcome (followed, unselected, dropped, deleted, other, undecodable).",
      labelNames: ["cluster", "outcome"],
      registers: [registry],
    }),
    commitCheckpointWrites: new Counter({
      name: "geo_offsets_commit_checkpoint_writes_total",
      help: "Passes writing the checkpoints of followed commits, per flow, by outcome (ok, failed).",
      labelNames: ["flow", "outcome"],
      registers: [registry],
    }),
    commitCheckpointLagSeconds: new Histogram({
      name: "geo_offsets_commit_checkpoint_lag_seconds",
      help: "From a group's commit in the source to its checkpoint written into the target.",
      labelNames: ["flow"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16],
      registers: [registry],
    }),
    checkpointRounds: new Counter({
      name: "geo_offsets_checkpoint_rounds_total",
      help: "Checkpoint rounds per flow, by outcome (ok, failed).",
      labelNames: ["flow", "outcome"],
      registers: [registry],
    }),
  };
}
