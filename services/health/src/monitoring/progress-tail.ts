import { GEO_TOPICS } from "@geo/config";
import {
  createPartitionFetcher,
  type KafkaWireClient,
  OffsetOutOfRangeError,
} from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import {
  decodeProgressRecord,
  ProgressFormatError,
  type UnitProgress,
  unitId,
} from "@geo/progress";

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
  const topic = options.topic ?? GEO_TOPICS.progress;
  const fetcher = createPartitionFetcher(client, { maxWaitMs: options.maxWaitMs ?? 500 });
  /** unit id -> epoch -> progress */
  const units = new Map<string, Map<bigint, UnitProgress>>();
  let offset: bigint | undefined;
  let caughtUp = false;
  let lastSuccess = 0;
  let skipped = 0;

  const apply = (key: Buffer | null, value: Buffer | null) => {
    const { unit, epoch, progress } = decodeProgressRecord(key, value);
    const id = unitId(unit);
    let epochs = units.get(id);
    if (progress === null) {
      epochs?.delete(epoch);
      if (epochs?.size === 0) units.delete(id);
      return;
    }
    if (epochs === undefined) {
      epochs = new Map();
      units.set(id, epochs);
    }
    epochs.set(epoch, progress);
  };

  const step = async () => {
    if (offset === undefined) {
      await client.metadata.refresh([topic]);
      if (client.metadata.lookup(topic, 0)?.kind === "missing") {
        // No agent has written to this target yet: no progress anywhere, which is an answer.
        caughtUp = true;
        lastSuccess = Date.now();
        await new Promise((resolve) => setTimeout(resolve, options.maxWaitMs ?? 500));
        return;
      }
      const [start] = await client.listOffsets(topic, [0], "earliest", { timeoutMs: 5000 });
      offset = start!.offset;
    }
    const [result] = await fetcher.fetch([{ topic, partition: 0, offset }]);
    if (result!.error !== null) {
      if (result!.error instanceof OffsetOutOfRangeError) {
        // Compaction or retention removed what we were about to read: read it all again.
        units.clear();
        offset = undefined;
        caughtUp = false;
        return;
      }
      throw result!.error;
    }
    for (const batch of result!.batches) {
      for (const record of batch.records()) {
        if (record.offset < offset) continue;
        try {
          apply(record.key, record.value);
        } catch (error) {
          if (!(error instanceof ProgressFormatError)) throw error;
          if (skipped++ === 0)
            options.logger.warn({ topic }, "progress record in an unknown format skipped");
        }
      }
    }
    offset = result!.nextOffset;
    if (offset >= result!.highWatermark) caughtUp = true;
    lastSuccess = Date.now();
  };

  return {
    progress(unit) {
      const epochs = units.get(unit);
      if (epochs === undefined) return undefined;
      let best: UnitProgress | undefined;
      for (const p of epochs.values()) if (best === undefined || p.epoch > best.epoch) best = p;
      return best;
    },
    current: (maxAgeMs) => caughtUp && Date.now() - lastSuccess <= maxAgeMs,
    step,
    close: () => fetcher.close(),
  };
}
