// The agent's replication engine: assigned units (flow, source topic, partition) copied from
// source partitions to remote partitions byte for byte, with progress and offset-map records in
// the target cluster. See README.md.

export { type BatchTraces, createBatchTraces, type SampledBatch } from "./batch-traces";
export { Checkpointer } from "./checkpointer";
export { createReplicationEngine, UnknownClusterError } from "./engine";
export { createEngineMetrics, type EngineMetrics } from "./engine-metrics";
export { OffsetRuns } from "./offset-runs";
export { TopicConfigError } from "./topic-limits";
export {
  type BatchPlan,
  originatedIn,
  type PlannedBatch,
  planBatch,
  type TransformContext,
} from "./transform";
export type {
  FlowSpecLike,
  ReplicationEngine,
  ReplicationEngineOptions,
  UnitAssignment,
  UnitState,
  UnitStatus,
} from "./types";
export { LatencySamples, RateWindow } from "./unit-stats";
