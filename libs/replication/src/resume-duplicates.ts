// How many records a resumed unit writes again, when the remote partition may hold other
// writers' records too (identity naming: the target's own producers, another flow). The previous
// owner's copies after its last progress are the source records from the resume position, in
// order; other writers' records interleave with them. Matching the remote tail against the
// source in order counts the copies exactly, whatever else the partition holds.
import type { PartitionFetcher } from "@geo/kafka-wire";
import type { KafkaRecord } from "@geo/record-batch";

/** A longer tail is not read: the count stays unknown (-1) rather than delay other work. */
export const MAX_RESUME_TAIL_RECORDS = 100_000;

export interface ResumeTail {
  /** The remote partition's records from `targetFrom` (the offset after the last progress's). */
  readonly target: { fetcher: PartitionFetcher; topic: string; from: bigint; end: bigint };
  /** The source partition from the resume position. */
  readonly source: { fetcher: PartitionFetcher; topic: string; from: bigint };
  readonly partition: number;
  /** False for source records the unit never copies (loop prevention). */
  readonly copied: (record: KafkaRecord) => boolean;
}

/**
 * Counts the remote tail's records that are copies of the source records from the resume
 * position, matched in order by key, value and timestamp. Undefined when the tail is longer
 * than MAX_RESUME_TAIL_RECORDS.
 */
export async function countResumeDuplicates(tail: ResumeTail): Promise<bigint | undefined> {
  const { target, source, partition } = tail;
  if (target.end <= target.from) return 0n;
  if (target.end - target.from > BigInt(MAX_RESUME_TAIL_RECORDS)) return undefined;
  const remote = await readRecords(target.fetcher, target.topic, partition, target.from, {
    until: target.end,
  });
  const originals = (
    await readRecords(source.fetcher, source.topic, partition, source.from, {
      count: remote.length,
      filter: tail.copied,
    })
  ).values();
  let next = originals.next();
  let duplicates = 0n;
  for (const record of remote) {
    if (next.done) break;
    if (sameRecord(record, next.value)) {
      duplicates += 1n;
      next = originals.next();
    }
  }
  return duplicates;
}

function sameRecord(copy: KafkaRecord, original: KafkaRecord): boolean {
  return (
    copy.timestamp === original.timestamp &&
    sameBytes(copy.key, original.key) &&
    sameBytes(copy.value, original.value)
  );
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

/** Data records from `from`, up to offset `until` or `count` records (after `filter`). */
async function readRecords(
  fetcher: PartitionFetcher,
  topic: string,
  partition: number,
  from: bigint,
  limit: { until?: bigint; count?: number; filter?: (record: KafkaRecord) => boolean },
): Promise<KafkaRecord[]> {
  const out: KafkaRecord[] = [];
  const full = () =>
    (limit.count !== undefined && out.length >= limit.count) ||
    (limit.until !== undefined && offset >= limit.until);
  let offset = from;
  while (!full()) {
    const [result] = await fetcher.fetch(
      [{ topic, partition, offset, maxBytes: 8 * 1024 * 1024 }],
      {
        maxWaitMs: 0,
      },
    );
    if (result === undefined) break;
    if (result.error !== null) throw result.error;
    for (const batch of result.batches) {
      if (batch.isControl) continue;
      for (const record of batch.records()) {
        if (record.offset < offset || (limit.until !== undefined && record.offset >= limit.until))
          continue;
        if (limit.filter === undefined || limit.filter(record)) out.push(record);
        if (limit.count !== undefined && out.length >= limit.count) return out;
      }
    }
    // Nothing more to read (the end, or the last stable offset).
    if (result.nextOffset <= offset) break;
    offset = result.nextOffset;
  }
  return out;
}
