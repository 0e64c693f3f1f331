// Batches written by Apache Kafka's own Java code (kafka-clients 3.9.1
// MemoryRecordsBuilder, see tools/RecordBatchFixtures.java) must decode to
// exactly what Java wrote, and our encoder must write Java's bytes.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CompressionType } from "./compression-codec";
import { decodeRecordBatches } from "./decode-record-batches";
import { encodeRecordBatch } from "./encode-record-batch";
import { filterAborted } from "./filter-aborted";
import { javaFixtures } from "./java-fixtures";
import { ControlRecordType, TimestampType } from "./record-batch";
import { rewriteBatchHeader } from "./rewrite-batch-header";

const T = 1_700_000_000_000n;

function fixture(name: keyof typeof javaFixtures): Buffer {
  return Buffer.from(javaFixtures[name], "base64");
}

/** RecordBatchFixtures.bigValue(), same generator (Java int arithmetic). */
function bigValue(): Buffer {
  const b = Buffer.alloc(80 * 1024);
  const words = "kafka geo replication batch record header offset ";
  let x = 1;
  for (let i = 0; i < b.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    b[i] = x % 128 === 0 ? (x >>> 16) & 0xff : words.charCodeAt(i % words.length);
  }
  return b;
}

const hdr = (key: string, value: string | null) => ({
  key: Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
});

interface ExpectedRecord {
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: Buffer; value: Buffer | null }[];
}

function expectedDataRecords(compressed: boolean): ExpectedRecord[] {
  const records: ExpectedRecord[] = [
    {
      timestamp: T,
      key: Buffer.from("k1"),
      value: Buffer.from("v1"),
      headers: [hdr("a", "1"), hdr("b", "2"), hdr("a", "3"), hdr("9", "x"), hdr("1", "y")],
    },
    { timestamp: T - 5n, key: null, value: Buffer.alloc(0), headers: [] },
    {
      timestamp: T + 1000n,
      key: Buffer.alloc(0),
      value: null,
      headers: [hdr("é", null), hdr("", "")],
    },
  ];
  if (compressed)
    records.push({ timestamp: T + 1n, key: Buffer.from("big"), value: bigValue(), headers: [] });
  return records;
}

const DATA = [
  ["data_none", CompressionType.None],
  ["data_gzip", CompressionType.Gzip],
  ["data_snappy", CompressionType.Snappy],
  ["data_lz4", CompressionType.Lz4],
  ["data_zstd", CompressionType.Zstd],
] as const;

describe("batches written by Kafka's Java client", () => {
  for (const [name, compression] of DATA) {
    it(`${name}: header fields and records are exactly Java's`, () => {
      const batches = decodeRecordBatches(fixture(name));
      assert.equal(batches.length, 1);
      const b = batches[0]!;
      const expected = expectedDataRecords(compression !== CompressionType.None);
      assert.equal(b.baseOffset, 100n);
      assert.equal(b.partitionLeaderEpoch, 5);
      assert.equal(b.compression, compression);
      assert.equal(b.timestampType, TimestampType.CreateTime);
      assert.equal(b.isTransactional, false);
      assert.equal(b.isControl, false);
      assert.equal(b.producerId, 7001n);
      assert.equal(b.producerEpoch, 2);
      assert.equal(b.baseSequence, 11);
      assert.equal(b.recordCount, expected.length);
      assert.equal(b.lastOffsetDelta, expected.length - 1);
      assert.equal(b.baseTimestamp, T);
      assert.equal(b.maxTimestamp, T + 1000n);
      const records = b.records();
      assert.deepEqual(
        records.map((r) => ({
          timestamp: r.timestamp,
          key: r.key,
          value: r.value,
          headers: r.headers.map((h) => ({ key: h.key, value: h.value })),
        })),
        expected,
      );
      assert.deepEqual(
        records.map((r) => r.offset),
        expected.map((_, i) => 100n + BigInt(i)),
      );
    });
  }

  it("our encoder writes Java's exact bytes for an uncompressed batch", () => {
    const ours = encodeRecordBatch({
      baseOffset: 100n,
      partitionLeaderEpoch: 5,
      producerId: 7001n,
      producerEpoch: 2,
      baseSequence: 11,
      compression: CompressionType.None,
      records: expectedDataRecords(false),
    });
    assert.equal(ours.toString("hex"), fixture("data_none").toString("hex"));
  });

  it("our encoder writes Java's exact bytes for a transactional batch and re-encodes decoded records", () => {
    const java = fixture("transactional");
    const [b] = decodeRecordBatches(java);
    assert.ok(b);
    const ours = encodeRecordBatch({
      baseOffset: b.baseOffset,
      partitionLeaderEpoch: b.partitionLeaderEpoch,
      producerId: b.producerId,
      producerEpoch: b.producerEpoch,
      baseSequence: b.baseSequence,
      isTransactional: b.isTransactional,
      records: b.records(),
    });
    assert.deepEqual(ours, java);
  });

  it("our encoder writes Java's exact bytes for a transaction marker", () => {
    for (const name of ["abortMarker", "commitMarker"] as const) {
      const java = fixture(name);
      const [b] = decodeRecordBatches(java);
      assert.ok(b);
      const ours = encodeRecordBatch({
        baseOffset: b.baseOffset,
        partitionLeaderEpoch: b.partitionLeaderEpoch,
        producerId: b.producerId,
        producerEpoch: b.producerEpoch,
        baseSequence: b.baseSequence,
        isTransactional: true,
        isControl: true,
        records: b.records(),
      });
      assert.deepEqual(ours, java, name);
    }
  });

  it("decodes transaction markers to their control type and coordinator epoch", () => {
    const [abort] = decodeRecordBatches(fixture("abortMarker"));
    const [commit] = decodeRecordBatches(fixture("commitMarker"));
    assert.equal(abort!.isControl, true);
    assert.equal(abort!.isTransactional, true);
    assert.equal(abort!.producerId, 4242n);
    assert.deepEqual(abort!.records()[0]!.control, {
      version: 0,
      controlType: ControlRecordType.Abort,
      coordinatorEpoch: 17,
    });
    assert.deepEqual(commit!.records()[0]!.control, {
      version: 0,
      controlType: ControlRecordType.Commit,
      coordinatorEpoch: 18,
    });
  });

  it("read_committed: drops Java's aborted transaction and its marker, keeps a committed one", () => {
    const aborted = decodeRecordBatches(
      Buffer.concat([fixture("transactional"), fixture("abortMarker")]),
    );
    assert.deepEqual(filterAborted(aborted, [{ producerId: 4242n, firstOffset: 200n }]), []);
    const committed = decodeRecordBatches(
      Buffer.concat([fixture("transactional"), fixture("commitMarker")]),
    );
    assert.deepEqual(
      filterAborted(committed, []).map((b) => b.baseOffset),
      [200n],
    );
  });

  it("LogAppendTime batch: every record reports the broker's append time", () => {
    const [b] = decodeRecordBatches(fixture("logAppendTime"));
    assert.equal(b!.timestampType, TimestampType.LogAppendTime);
    assert.deepEqual(
      b!.records().map((r) => r.timestamp),
      [T + 99_999n, T + 99_999n],
    );
  });

  it("compacted batch with offset gaps", () => {
    const [b] = decodeRecordBatches(fixture("gapped"));
    assert.equal(b!.lastOffsetDelta, 5);
    assert.equal(b!.recordCount, 3);
    assert.equal(b!.hasContiguousOffsets, false);
    assert.equal(b!.nextOffset, 406n);
    assert.deepEqual(
      b!.records().map((r) => [r.offset, r.key?.toString()]),
      [
        [400n, "g0"],
        [402n, "g2"],
        [405n, "g5"],
      ],
    );
  });

  it("rewriteBatchHeader keeps Java's compressed bytes and yields a valid batch", () => {
    for (const [name] of DATA) {
      const java = fixture(name);
      const out = rewriteBatchHeader(java, { producerId: 1n, producerEpoch: 0, baseSequence: 0 });
      assert.deepEqual(out.subarray(61), java.subarray(61), name);
      const [b] = decodeRecordBatches(out);
      assert.equal(b!.producerId, 1n);
      assert.equal(b!.records().length, decodeRecordBatches(java)[0]!.recordCount);
    }
  });
});
