import type { IdempotentProducer } from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import type { Epoch } from "@geo/positions";
import type { UnitKey } from "@geo/progress";
import type { BatchTraces } from "./batch-traces";
import type { Checkpointer } from "./checkpointer";
import type { EngineMetrics } from "./engine-metrics";
import type { SourceReader } from "./source-reader";

/** What a unit uses of its engine. */
export interface UnitContext {
  agentId: string;
  logger: Logger;
  metrics: EngineMetrics;
  leaseGuard: (unit: UnitKey, epoch: Epoch) => boolean;
  /** See ReplicationEngineOptions.onUnitStateChange. */
  onStateChange?: ((unit: UnitKey) => void) | undefined;
  /** See ReplicationEngineOptions.leaseDeadline; undefined: batches get deliveryTimeoutMs. */
  leaseDeadline?: ((unit: UnitKey, epoch: Epoch) => number | undefined) | undefined;
  deliveryTimeoutMs: number;
  retryBackoffMs: number;
  maxRetryBackoffMs: number;
  partitionMaxBytes: number;
  maxUnitBufferedBytes: number;
  maxReencodedBatchBytes: number;
  /** Engine-wide buffer accounting; false when the engine's budget is spent. */
  engineBudgetLeft: () => boolean;
  addBuffered: (bytes: number) => void;
  /** Spans for a sample of batches (ReplicationEngineOptions.traceBatchesOneIn). */
  batchTraces?: BatchTraces | undefined;
}

/** What the engine hands a unit to run with. */
export interface UnitWiring {
  reader: SourceReader;
  producer: IdempotentProducer;
  checkpointer: Checkpointer;
}
