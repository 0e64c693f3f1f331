import { ControlRecordType, type RecordBatch } from "./record-batch";

/** An entry of a Fetch response partition's `AbortedTransactions` list. */
export interface AbortedTransaction {
  producerId: bigint;
  /** Offset of the first batch the aborted transaction wrote to this partition. */
  firstOffset: bigint;
}

const NO_PRODUCER_ID = -1n;

/**
 * Keep what a `read_committed` consumer would return from one partition's
 * Fetch response: drop batches of aborted transactions and all control
 * batches. A port of Java's `CompletedFetch.nextFetchedRecord`.
 *
 * How the rule works, since it is easy to get wrong:
 * - A read_committed Fetch only returns data below the last stable offset,
 *   so every transaction seen here has ended, and its end is marked in the
 *   log by a control batch (COMMIT or ABORT) of the same producer.
 * - The broker lists, with the response, each aborted transaction that
 *   overlaps the fetched range, as (producerId, first offset it wrote).
 *   Committed transactions are not listed: what is not listed is kept.
 * - Batches are visited in offset order. Before judging a batch, every
 *   listed transaction whose firstOffset is <= the batch's LAST offset is
 *   activated: its producer id joins the "aborted" set. (A producer has at
 *   most one open transaction per partition, so the id identifies it.)
 * - A control batch whose first record is an ABORT marker ends that
 *   producer's aborted transaction: the id leaves the set, so the same
 *   producer's later transactions (committed, or listed again with a later
 *   firstOffset) are judged afresh.
 * - A transactional data batch whose producer id is in the set is dropped.
 *   Non-transactional batches are never dropped, even from that producer id
 *   (an idempotent producer's batches are not part of any transaction).
 * - Batches without a producer id (-1) take no part: they are kept unless
 *   they are control batches.
 * - Control batches are never returned (commit and abort markers alike).
 *
 * State lives only for one call, as in Java where it lives per fetch
 * response: the broker repeats every aborted transaction that overlaps each
 * response, including ones that began before the fetch offset, so nothing
 * needs to carry over between fetches. Pass the batches of one partition of
 * one response, in order, with that partition's aborted list (empty or
 * absent under read_uncommitted, which makes this just "drop control
 * batches").
 *
 * Only control batches are decoded (to read the marker type); data batches
 * are judged from their headers and never decompressed.
 */
export function filterAborted(
  batches: readonly RecordBatch[],
  abortedTransactions: readonly AbortedTransaction[] | null | undefined,
): RecordBatch[] {
  const pending = [...(abortedTransactions ?? [])].sort((a, b) =>
    a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
  );
  let next = 0;
  const abortedProducers = new Set<bigint>();
  const kept: RecordBatch[] = [];
  for (const batch of batches) {
    if (batch.producerId !== NO_PRODUCER_ID) {
      const lastOffset = batch.lastOffset;
      while (next < pending.length && pending[next]!.firstOffset <= lastOffset) {
        abortedProducers.add(pending[next]!.producerId);
        next++;
      }
      if (batch.isControl) {
        if (isAbortMarker(batch)) abortedProducers.delete(batch.producerId);
        continue;
      }
      if (batch.isTransactional && abortedProducers.has(batch.producerId)) continue;
    }
    if (batch.isControl) continue;
    kept.push(batch);
  }
  return kept;
}

function isAbortMarker(batch: RecordBatch): boolean {
  if (batch.recordCount === 0) return false;
  const first = batch.records()[0];
  return first?.control?.controlType === ControlRecordType.Abort;
}
