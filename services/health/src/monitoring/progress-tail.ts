import { GEO_TOPICS } from "@geo/config";
import type { KafkaWireClient } from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import { decodeProgressRecord, type UnitProgress, unitId } from "@geo/progress";
import { applyRecord, createCompactedTail } from "./compacted-tail";

/**
 * The agents' recorded progress in one target cluster, kept current by tailing `__geo.progress`
 * (compacted, one partition) instead of scanning it every round: the first read goes from the
 * log start, later reads only fetch what was appended. Keeps what compaction would keep (last
 * record per key; the epoch is in the key) and answers the highest epoch per unit, as agents
 * resuming a unit do. It reads the target only, so it stays right when agents are dead.
 */
export interface ProgressTail {
  /** Highest-epoch progress per unit id (`flow/topic/partition`). */
  progress(unit: string): UnitProgress | undefined;
  /** Whether the tail read up to the end of the topic at least once and its last read succeeded recently. */
  current(maxAgeMs: number): boolean;
  /** One read step: fetch what was appended (long poll), or learn that the topic is missing. */
  step(): Promise<void>;
  close(): Promise<void>;
}

export function createProgressTail(
  client: KafkaWireClient,
  options: { logger: Logger; topic?: string; maxWaitMs?: number },
): ProgressTail {
  /** unit id -> epoch -> progress */
  const units = new Map<string, Map<bigint, UnitProgress>>();
  const tail = createCompactedTail(client, {
    topic: options.topic ?? GEO_TOPICS.progress,
    logger: options.logger,
    ...(options.maxWaitMs === undefined ? {} : { maxWaitMs: options.maxWaitMs }),
    reset: () => units.clear(),
    apply(key, value) {
      const { unit, epoch, progress } = decodeProgressRecord(key, value);
      applyRecord(units, unitId(unit), epoch, progress);
    },
  });

  return {
    progress(unit) {
      const epochs = units.get(unit);
      if (epochs === undefined) return undefined;
      let best: UnitProgress | undefined;
      for (const p of epochs.values()) if (best === undefined || p.epoch > best.epoch) best = p;
      return best;
    },
    current: (maxAgeMs) => tail.current(maxAgeMs),
    step: () => tail.step(),
    close: () => tail.close(),
  };
}
