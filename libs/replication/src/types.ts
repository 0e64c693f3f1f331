import type { ClusterConfig } from "@geo/config";
import type { KafkaWireClient } from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import type { Registry } from "@geo/metrics";
import type { Epoch, Offset } from "@geo/positions";
import type { UnitKey } from "@geo/progress";

/** What the engine needs of a flow (the coordinator's FlowSpec, or a FlowConfig, fits). */
export interface FlowSpecLike {
  name: string;
  sourceCluster: string;
  targetCluster: string;
  naming: "prefix" | "identity";
  provenanceHeader: boolean;
  startFrom: "earliest" | "latest";
  onOffsetOutOfRange: "fail" | "earliest" | "latest";
  paused: boolean;
}

export interface UnitAssignment {
  unit: UnitKey;
  /** Topic in the target cluster; same partition as the source. */
  remoteTopic: string;
  /** Fencing epoch the unit is held with. */
  epoch: Epoch;
  flow: FlowSpecLike;
}

export type UnitState = "pending" | "running" | "paused" | "stopped" | "error";

export interface UnitStatus {
  unit: UnitKey;
  epoch: Epoch;
  state: UnitState;
  /** Why the unit is in its state; for running units, the last warning (retry, offset reset) or "". */
  reason: string;
  /**
   * First source offset not yet acknowledged by the target (progress records lag it by at most
   * one flush); NO_OFFSET before the unit knows where it starts.
   */
  nextSourceOffset: Offset;
  /** Target offset of the last record acknowledged; NO_OFFSET when none. */
  lastTargetOffset: Offset;
  lagRecords: bigint;
  lagSeconds: number;
  recordsPerSecond: number;
  bytesPerSecond: number;
  /**
   * The steady load of the unit: bytes/s the source partition grows by (high watermark growth
   * times the mean record size copied). Unlike bytesPerSecond it stays put while the unit catches
   * up. Absent until measured.
   */
  loadBytesPerSecond?: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Extension: source position jumps after OffsetOutOfRange (policy earliest/latest). */
  offsetResets: number;
  /** Extension: records skipped by loop prevention. */
  skippedRecords: number;
  /** Extension: the target topic. */
  remoteTopic: string;
  /**
   * Extension: problems that do not stop the unit (yet), e.g. a source topic that accepts
   * larger batches than its remote topic. Unlike `reason`, retries do not overwrite them.
   */
  warnings: string[];
  /**
   * Extension: records the remote partition already held past the progress this unit resumed
   * from, written by the previous owner after its last progress record (a crash, a lost lease),
   * which this unit writes again. -1n when not measured: a fresh start, or identity naming,
   * where the remote partition may have other writers.
   */
  resumeDuplicates: bigint;
}

export interface ReplicationEngineOptions {
  /** Written into progress records; names this agent in logs. */
  agentId: string;
  /** Every cluster a flow may name, by alias. */
  clusters: Readonly<Record<string, ClusterConfig>>;
  logger: Logger;
  /** Prometheus registry for the per-unit series; a private one otherwise. */
  metrics?: Registry;
  /**
   * Asked before every batch is sent and before progress is written; false means the unit's
   * lease may have expired: the unit stops at once (state stopped, reason "lease lost"), writes no
   * progress and sends nothing more. Default: always true.
   */
  leaseGuard?: (unit: UnitKey, epoch: Epoch) => boolean;
  /**
   * Called, synchronously, whenever a unit's state changes (pending, running, paused, stopped,
   * error), so that the owner can report it at once rather than at its next periodic report.
   */
  onUnitStateChange?: (unit: UnitKey) => void;
  /**
   * Until when (monotonic `performance.now()` ms) the unit's lease, at this epoch, is trusted;
   * undefined when it is not (any more). When given, a unit's batches have this as their delivery
   * deadline, asked again whenever the producer decides whether to re-send or give up: a batch
   * that the target does not acknowledge in time (a request timeout, a lost connection, a leader
   * election, a stalled broker) is sent again under the same producer id and sequence numbers
   * for as long as renewals extend the lease, and the broker's duplicate detection acknowledges
   * one it had written at its original offset. Once the deadline passed the unit stops as lease
   * lost. Without it, deliveryTimeoutMs bounds each batch and a batch that misses it makes the
   * unit rewind to its last acknowledged position (what had landed is written again).
   */
  leaseDeadline?: (unit: UnitKey, epoch: Epoch) => number | undefined;
  /**
   * Delivery deadline of a batch when there is no leaseDeadline, of progress writes, and of what
   * a stopping unit still has in flight. Default 30 000 ms.
   */
  deliveryTimeoutMs?: number;
  /** Fetched bytes not yet acknowledged by targets, whole engine. Default 64 MiB. */
  maxBufferedBytes?: number;
  /** The same per unit, so one hot unit cannot take the whole budget. Default min(8 MiB, maxBufferedBytes / 2). */
  maxUnitBufferedBytes?: number;
  /** Long-poll time of a fetch with nothing to read. Default 500 ms. */
  fetchMaxWaitMs?: number;
  /** Per partition and fetch. Default 1 MiB. */
  partitionMaxBytes?: number;
  /**
   * Traces one in this many batches (engine-wide) with a source-read span and a target-write span
   * linking it; records are never changed. 0 (default) traces none. Spans are exported only when
   * telemetry runs (@geo/telemetry).
   */
  traceBatchesOneIn?: number;
  /** How often acknowledged positions and offset-map segments are written (the most a crash can make the next owner copy again). Default 1000 ms. */
  progressIntervalMs?: number;
  /** How often segments below the sources' log start are tombstoned. Default 10 min; 0 disables. */
  offsetMapCleanupIntervalMs?: number;
  /** First retry pause after a retriable error; doubles up to maxRetryBackoffMs. Default 100 ms. */
  retryBackoffMs?: number;
  /** Default 5000 ms. */
  maxRetryBackoffMs?: number;
  /** Produce requests per remote partition awaiting the target's answer (1-5). Default 5. */
  maxInFlightPerPartition?: number;
  /** A Produce request stops growing past this size (one batch per partition). Default 4 MiB. */
  maxProduceRequestBytes?: number;
  /** Re-encoded batches are split to stay under this many uncompressed bytes. Default 512 KiB. */
  maxReencodedBatchBytes?: number;
  /** Kafka client.id. Default `geo-agent-<agentId>`. */
  clientId?: string;
  /** Clients to use instead of creating them from `clusters` (not closed by the engine). */
  wireClients?: Readonly<Record<string, KafkaWireClient>>;
  /** Create `__geo.progress` / `__geo.offset-map` in targets when missing. Default true. */
  ensureInternalTopics?: boolean;
  /**
   * Units compare their source and remote topics' effective max.message.bytes when they start,
   * read once per topic and again at this interval, and warn when the target accepts less.
   * Default 10 min; 0 disables the check.
   */
  topicConfigRefreshMs?: number;
  /**
   * A unit in state error reads no more, so its source end is read at this interval instead:
   * its lag counts from its recorded position to the source's end. Default 2000 ms.
   */
  stoppedLagRefreshMs?: number;
}

export interface ReplicationEngine {
  /**
   * The desired set of units: starts new ones, stops removed ones (gracefully: acknowledged
   * progress flushed), restarts a unit whose epoch, remote topic or flow changed, pauses and
   * resumes on `flow.paused`. A unit in state error or stopped with the same epoch is left as it
   * is (assign it with a new epoch, or release it, to try again), except a unit stopped because
   * its lease lapsed, which starts again once `leaseGuard` trusts that epoch again. Resolves once removed units
   * stopped and new ones made their first start attempt.
   */
  assign(units: readonly UnitAssignment[]): Promise<void>;
  /** Stop one unit gracefully and forget it; resolves with the progress recorded in the target. */
  release(unit: UnitKey): Promise<{ nextSourceOffset: Offset }>;
  /** Every unit's status, or only these units' (those the engine runs). */
  statuses(units?: readonly UnitKey[]): UnitStatus[];
  /** Tombstone offset-map segments entirely below their source's log start (runs periodically too). */
  cleanOffsetMap(): Promise<{ tombstoned: number }>;
  close(): Promise<void>;
}
