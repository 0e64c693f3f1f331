import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CompressionType } from "./compression-codec";
import { decodeRecordBatches } from "./decode-record-batches";
import { encodeRecordBatch } from "./encode-record-batch";
import { filterAborted } from "./filter-aborted";
import type { RecordBatch } from "./record-batch";

const T = 1_700_000_000_000n;

/** A transactional data batch of `count` records from producer `pid` at `offset`. */
function txn(pid: bigint, offset: bigint, count = 1): Buffer {
  return encodeRecordBatch({
    baseOffset: offset,
    producerId: pid,
    producerEpoch: 0,
    baseSequence: 0,
    isTransactional: true,
    // Compressed on purpose: filtering must not need to decompress data batches.
    compression: CompressionType.Zstd,
    records: Array.from({ length: count }, (_, i) => ({
      timestamp: T,
      key: null,
      value: `p${pid}@${offset + BigInt(i)}`,
    })),
  });
}

/** Idempotent but not transactional. */
function plain(pid: bigint, offset: bigint): Buffer {
  return encodeRecordBatch({
    baseOffset: offset,
    producerId: pid,
    producerEpoch: 0,
    baseSequence: 0,
    records: [{ timestamp: T, key: null, value: `plain@${offset}` }],
  });
}

function marker(kind: "COMMIT" | "ABORT", pid: bigint, offset: bigint): Buffer {
  const key = Buffer.from([0, 0, 0, kind === "COMMIT" ? 1 : 0]);
  return encodeRecordBatch({
    baseOffset: offset,
    producerId: pid,
    producerEpoch: 0,
    isTransactional: true,
    isControl: true,
    records: [{ timestamp: T, key, value: Buffer.from([0, 0, 0, 0, 0, 1]) }],
  });
}

function batches(...parts: Buffer[]): RecordBatch[] {
  return decodeRecordBatches(Buffer.concat(parts));
}

const offsets = (kept: RecordBatch[]) => kept.map((b) => b.baseOffset);

describe("filterAborted (read_committed)", () => {
  it("keeps a committed transaction's data and drops its marker", () => {
    const input = batches(txn(1n, 0n, 2), marker("COMMIT", 1n, 2n), plain(7n, 3n));
    assert.deepEqual(offsets(filterAborted(input, [])), [0n, 3n]);
    assert.deepEqual(offsets(filterAborted(input, undefined)), [0n, 3n]);
  });

  it("drops an aborted transaction's data and marker, and keeps the same producer's next transaction", () => {
    const input = batches(
      txn(1n, 0n),
      txn(1n, 1n),
      marker("ABORT", 1n, 2n),
      txn(1n, 3n),
      marker("COMMIT", 1n, 4n),
    );
    assert.deepEqual(offsets(filterAborted(input, [{ producerId: 1n, firstOffset: 0n }])), [3n]);
  });

  it("separates interleaved producers", () => {
    const input = batches(
      txn(1n, 0n),
      txn(2n, 1n),
      txn(1n, 2n),
      marker("COMMIT", 2n, 3n),
      txn(2n, 4n),
      marker("ABORT", 1n, 5n),
      plain(9n, 6n),
      marker("ABORT", 2n, 7n),
    );
    const aborted = [
      { producerId: 1n, firstOffset: 0n },
      { producerId: 2n, firstOffset: 4n },
    ];
    assert.deepEqual(offsets(filterAborted(input, aborted)), [1n, 6n]);
  });

  it("accepts the aborted list in any order", () => {
    const input = batches(
      txn(1n, 0n),
      marker("ABORT", 1n, 1n),
      txn(1n, 2n),
      marker("COMMIT", 1n, 3n),
      txn(1n, 4n),
      marker("ABORT", 1n, 5n),
    );
    const aborted = [
      { producerId: 1n, firstOffset: 4n },
      { producerId: 1n, firstOffset: 0n },
    ];
    assert.deepEqual(offsets(filterAborted(input, aborted)), [2n]);
  });

  it("drops the tail of an aborted transaction that began before the fetched range", () => {
    const input = batches(txn(1n, 50n), marker("ABORT", 1n, 51n), txn(2n, 52n));
    assert.deepEqual(offsets(filterAborted(input, [{ producerId: 1n, firstOffset: 10n }])), [52n]);
  });

  it("activates an aborted transaction whose first offset lies inside a batch", () => {
    // firstOffset 12 falls within [10, 14]: Java compares with the batch's LAST offset.
    const input = batches(txn(1n, 10n, 5), marker("ABORT", 1n, 15n));
    assert.deepEqual(filterAborted(input, [{ producerId: 1n, firstOffset: 12n }]), []);
  });

  it("does not activate an aborted transaction before its first offset", () => {
    // Producer 1 commits at 0-1, then a later transaction from 5 is aborted.
    const input = batches(
      txn(1n, 0n),
      marker("COMMIT", 1n, 1n),
      txn(1n, 5n),
      marker("ABORT", 1n, 6n),
    );
    assert.deepEqual(offsets(filterAborted(input, [{ producerId: 1n, firstOffset: 5n }])), [0n]);
  });

  it("keeps non-transactional batches even from a producer id in the aborted set", () => {
    const input = batches(txn(1n, 0n), plain(1n, 1n), marker("ABORT", 1n, 2n));
    assert.deepEqual(offsets(filterAborted(input, [{ producerId: 1n, firstOffset: 0n }])), [1n]);
  });

  it("keeps batches without a producer id and drops every control batch", () => {
    const noPid = encodeRecordBatch({
      baseOffset: 0n,
      records: [{ timestamp: T, key: null, value: "x" }],
    });
    const input = batches(noPid, marker("COMMIT", 3n, 1n));
    assert.deepEqual(offsets(filterAborted(input, [])), [0n]);
  });
});
