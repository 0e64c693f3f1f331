import {
  createPartitionFetcher,
  type KafkaWireClient,
  OffsetOutOfRangeError,
} from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import { ProgressFormatError } from "@geo/progress";

/**
 * Follows partition 0 of one of the agents' compacted topics in a target cluster
 * (`__geo.progress`, `__geo.offset-map`): the first read goes from the log start, later reads
 * only fetch what was appended. `apply` keeps what compaction would keep; `reset` forgets it all
 * when the log moved under the reader (compaction or retention past its position). Records in a
 * format the reader does not know are skipped and logged once. A missing topic reads as empty.
 */
export interface CompactedTail {
  /** Whether the tail read up to the end at least once and its last read succeeded recently. */
  current(maxAgeMs: number): boolean;
  /** One read step: fetch what was appended (long poll), or learn that the topic is missing. */
  step(): Promise<void>;
  close(): Promise<void>;
}

export interface CompactedTailOptions {
  readonly topic: string;
  readonly logger: Logger;
  readonly maxWaitMs?: number;
  apply(key: Buffer | null, value: Buffer | null): void;
  reset(): void;
}

export function createCompactedTail(
  client: KafkaWireClient,
  options: CompactedTailOptions,
): CompactedTail {
  const { topic } = options;
  const maxWaitMs = options.maxWaitMs ?? 500;
  const fetcher = createPartitionFetcher(client, { maxWaitMs });
  let offset: bigint | undefined;
  let caughtUp = false;
  let lastSuccess = 0;
  let skipped = 0;

  const apply = (key: Buffer | null, value: Buffer | null) => {
    try {
      options.apply(key, value);
    } catch (error) {
      if (!(error instanceof ProgressFormatError)) throw error;
      if (skipped++ === 0) options.logger.warn({ topic }, "record in an unknown format skipped");
    }
  };

  const step = async () => {
    if (offset === undefined) {
      await client.metadata.refresh([topic]);
      if (client.metadata.lookup(topic, 0)?.kind === "missing") {
        // No agent has written to this cluster yet: nothing recorded anywhere, which is an answer.
        caughtUp = true;
        lastSuccess = Date.now();
        await new Promise((resolve) => setTimeout(resolve, maxWaitMs));
        return;
      }
      const [start] = await client.listOffsets(topic, [0], "earliest", { timeoutMs: 5000 });
      offset = start!.offset;
    }
    const [result] = await fetcher.fetch([{ topic, partition: 0, offset }]);
    if (result!.error !== null) {
      if (result!.error instanceof OffsetOutOfRangeError) {
        // Compaction or retention removed what we were about to read: read it all again.
        options.reset();
        offset = undefined;
        caughtUp = false;
        return;
      }
      throw result!.error;
    }
    for (const batch of result!.batches) {
      for (const record of batch.records()) {
        if (record.offset >= offset) apply(record.key, record.value);
      }
    }
    offset = result!.nextOffset;
    if (offset >= result!.highWatermark) caughtUp = true;
    lastSuccess = Date.now();
  };

  return {
    current: (maxAgeMs) => caughtUp && Date.now() - lastSuccess <= maxAgeMs,
    step,
    close: () => fetcher.close(),
  };
}

/**
 * Keeps one record of a compacted topic in a per-unit map: `value` under `key` in the unit's
 * entries, or a tombstone (null) removing it, and with it the unit once it has none left.
 */
export function applyRecord<K, V>(
  units: Map<string, Map<K, V>>,
  unit: string,
  key: K,
  value: V | null,
): void {
  let entries = units.get(unit);
  if (value === null) {
    entries?.delete(key);
    if (entries?.size === 0) units.delete(unit);
    return;
  }
  if (entries === undefined) {
    entries = new Map();
    units.set(unit, entries);
  }
  entries.set(key, value);
}
