import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CompressionCodecRegistry, CompressionType, gzipCodec } from "./compression-codec";
import { crc32c } from "./crc32c";
import { decodeRecordBatches } from "./decode-record-batches";
import {
  type EncodeRecordBatchInput,
  encodeRecordBatch,
  type RecordInput,
} from "./encode-record-batch";
import { type KafkaRecord, RecordBatch, TimestampType } from "./record-batch";
import {
  CorruptRecordError,
  InvalidRecordError,
  UnsupportedCompressionError,
  UnsupportedMagicError,
} from "./record-batch-error";

const T = 1_700_000_000_000n;
const CODECS = [
  CompressionType.None,
  CompressionType.Gzip,
  CompressionType.Snappy,
  CompressionType.Lz4,
  CompressionType.Zstd,
];

/** Records that exercise every distinction the wire format makes. */
function trickyRecords(): RecordInput[] {
  return [
    {
      timestamp: T,
      key: Buffer.from("k1"),
      value: Buffer.from("v1"),
      headers: [
        { key: "a", value: Buffer.from("1") },
        { key: "b", value: Buffer.from("2") },
        { key: "a", value: Buffer.from("3") },
        { key: "9", value: Buffer.from("x") },
        { key: "1", value: Buffer.from("y") },
      ],
    },
    // null key, empty value
    { timestamp: T - 5n, key: null, value: Buffer.alloc(0) },
    // empty key, tombstone (null value), null and empty header values
    {
      timestamp: T + 86_400_000n * 365n * 100n,
      key: Buffer.alloc(0),
      value: null,
      headers: [
        { key: "nullv", value: null },
        { key: "", value: Buffer.alloc(0) },
      ],
    },
    // a header key that is not valid UTF-8 must survive as bytes
    {
      timestamp: -1n,
      key: Buffer.from([0xff, 0x00]),
      value: Buffer.alloc(3000, 0x61),
      headers: [{ key: Buffer.from([0xc3, 0x28]), value: Buffer.from([0xfe]) }],
    },
  ];
}

function asBytes(v: Uint8Array | string | null): Buffer | null {
  return v === null ? null : Buffer.from(v);
}

function assertRecordsMatch(
  decoded: KafkaRecord[],
  input: RecordInput[],
  baseOffset: bigint,
): void {
  assert.equal(decoded.length, input.length);
  input.forEach((r, i) => {
    const d = decoded[i]!;
    const offsetDelta = r.offsetDelta ?? i;
    assert.equal(d.offsetDelta, offsetDelta);
    assert.equal(d.offset, baseOffset + BigInt(offsetDelta));
    assert.equal(d.timestamp, r.timestamp);
    assert.deepEqual(d.key, asBytes(r.key));
    assert.deepEqual(d.value, asBytes(r.value));
    assert.deepEqual(
      d.headers.map((h) => [h.key, h.value]),
      (r.headers ?? []).map((h) => [asBytes(h.key), asBytes(h.value)]),
    );
    assert.equal(d.control, null);
  });
}

describe("encode then decode", () => {
  for (const compression of CODECS) {
    it(`keeps every field, codec ${compression}`, () => {
      const input: EncodeRecordBatchInput = {
        baseOffset: 9_007_199_254_740_993n, // above 2^53: must stay exact
        partitionLeaderEpoch: 17,
        producerId: 2n ** 62n + 3n,
        producerEpoch: 32_767,
        baseSequence: 2_147_483_000,
        isTransactional: true,
        timestampType: TimestampType.CreateTime,
        compression,
        records: trickyRecords(),
      };
      const raw = encodeRecordBatch(input);
      const [batch, ...rest] = decodeRecordBatches(raw);
      assert.equal(rest.length, 0);
      assert.ok(batch);
      assert.equal(batch.raw.buffer, raw.buffer, "raw is a view, not a copy");
      assert.equal(batch.raw.length, raw.length);
      assert.equal(batch.baseOffset, input.baseOffset);
      assert.equal(batch.batchLength, raw.length - 12);
      assert.equal(batch.partitionLeaderEpoch, 17);
      assert.equal(batch.magic, 2);
      assert.equal(batch.crc, crc32c(raw, 21));
      assert.equal(batch.compression, compression);
      assert.equal(batch.attributes, compression | 0x10);
      assert.equal(batch.timestampType, TimestampType.CreateTime);
      assert.equal(batch.isTransactional, true);
      assert.equal(batch.isControl, false);
      assert.equal(batch.hasDeleteHorizon, false);
      assert.equal(batch.deleteHorizonMs, null);
      assert.equal(batch.lastOffsetDelta, 3);
      assert.equal(batch.lastOffset, input.baseOffset! + 3n);
      assert.equal(batch.nextOffset, input.baseOffset! + 4n);
      assert.equal(batch.baseTimestamp, T, "base timestamp is the first record's, as in Java");
      assert.equal(batch.maxTimestamp, T + 86_400_000n * 365n * 100n);
      assert.equal(batch.producerId, 2n ** 62n + 3n);
      assert.equal(batch.producerEpoch, 32_767);
      assert.equal(batch.baseSequence, 2_147_483_000);
      assert.equal(batch.recordCount, 4);
      assert.equal(batch.hasContiguousOffsets, true);
      const records = batch.records();
      assertRecordsMatch(records, trickyRecords(), input.baseOffset!);
      // The headers' order and repeats, spelled out.
      assert.deepEqual(
        records[0]!.headers.map((h) => `${h.keyString}=${h.value?.toString()}`),
        ["a=1", "b=2", "a=3", "9=x", "1=y"],
      );
      assert.deepEqual(records[3]!.headers[0]!.key, Buffer.from([0xc3, 0x28]));
      assert.equal(records[3]!.headers[0]!.keyString, "\ufffd(");
    });
  }

  it("uses Java producer defaults for omitted header fields", () => {
    const [batch] = decodeRecordBatches(
      encodeRecordBatch({ records: [{ timestamp: T, key: null, value: "v" }] }),
    );
    assert.ok(batch);
    assert.equal(batch.baseOffset, 0n);
    assert.equal(batch.partitionLeaderEpoch, -1);
    assert.equal(batch.producerId, -1n);
    assert.equal(batch.producerEpoch, -1);
    assert.equal(batch.baseSequence, -1);
    assert.equal(batch.attributes, 0);
  });

  it("writes explicit offset deltas (compaction gaps), and lastOffsetDelta from the last", () => {
    const records: RecordInput[] = [
      { offsetDelta: 0, timestamp: T, key: "a", value: "1" },
      { offsetDelta: 2, timestamp: T, key: "b", value: "2" },
      { offsetDelta: 7, timestamp: T, key: "c", value: "3" },
    ];
    const [batch] = decodeRecordBatches(encodeRecordBatch({ baseOffset: 100n, records }));
    assert.ok(batch);
    assert.equal(batch.lastOffsetDelta, 7);
    assert.equal(batch.hasContiguousOffsets, false);
    assert.deepEqual(
      batch.records().map((r) => r.offset),
      [100n, 102n, 107n],
    );
  });

  it("reports LogAppendTime batches' max timestamp as every record's timestamp, as Java does", () => {
    const raw = encodeRecordBatch({
      timestampType: TimestampType.LogAppendTime,
      maxTimestamp: T + 500n,
      records: [
        { timestamp: T, key: null, value: "a" },
        { timestamp: T + 1n, key: null, value: "b" },
      ],
    });
    const [batch] = decodeRecordBatches(raw);
    assert.ok(batch);
    assert.equal(batch.timestampType, TimestampType.LogAppendTime);
    assert.deepEqual(
      batch.records().map((r) => r.timestamp),
      [T + 500n, T + 500n],
    );
  });

  it("keeps timestamp deltas beyond 2^53 exact", () => {
    const records: RecordInput[] = [
      { timestamp: -(2n ** 61n), key: null, value: null },
      { timestamp: 2n ** 61n + 1n, key: null, value: null },
      { timestamp: 9_007_199_254_740_993n, key: null, value: null },
    ];
    const [batch] = decodeRecordBatches(encodeRecordBatch({ records }));
    assert.deepEqual(
      batch!.records().map((r) => r.timestamp),
      [-(2n ** 61n), 2n ** 61n + 1n, 9_007_199_254_740_993n],
    );
  });

  it("sets the control flag and decodes control records", () => {
    const key = Buffer.from([0, 0, 0, 1]); // version 0, COMMIT
    const value = Buffer.from([0, 0, 0, 0, 0, 5]); // version 0, coordinator epoch 5
    const [batch] = decodeRecordBatches(
      encodeRecordBatch({
        isControl: true,
        isTransactional: true,
        producerId: 9n,
        records: [{ timestamp: T, key, value }],
      }),
    );
    assert.ok(batch);
    assert.equal(batch.isControl, true);
    assert.deepEqual(batch.records()[0]!.control, {
      version: 0,
      controlType: 1,
      coordinatorEpoch: 5,
    });
  });

  it("refuses invalid input", () => {
    const r = { timestamp: T, key: null, value: null };
    assert.throws(() => encodeRecordBatch({ records: [] }), RangeError);
    assert.throws(() => encodeRecordBatch({ producerEpoch: 40_000, records: [r] }), RangeError);
    assert.throws(() => encodeRecordBatch({ baseOffset: 2n ** 63n, records: [r] }), RangeError);
    assert.throws(() => encodeRecordBatch({ compression: 8, records: [r] }), RangeError);
    assert.throws(
      () => encodeRecordBatch({ compression: 5, records: [r] }),
      UnsupportedCompressionError,
    );
    assert.throws(
      () =>
        encodeRecordBatch({
          records: [
            { ...r, offsetDelta: 1 },
            { ...r, offsetDelta: 1 },
          ],
        }),
      RangeError,
    );
    // Each timestamp fits int64, but the delta from the first does not.
    assert.throws(
      () =>
        encodeRecordBatch({
          records: [
            { ...r, timestamp: -(2n ** 63n) },
            { ...r, timestamp: 2n ** 63n - 1n },
          ],
        }),
      RangeError,
    );
  });

  it("uses the registry it is given", () => {
    const onlyGzip = new CompressionCodecRegistry([gzipCodec]);
    const r = { timestamp: T, key: null, value: "x" };
    assert.throws(
      () =>
        encodeRecordBatch(
          { compression: CompressionType.Zstd, records: [r] },
          { codecs: onlyGzip },
        ),
      UnsupportedCompressionError,
    );
    const zstd = encodeRecordBatch({ compression: CompressionType.Zstd, records: [r] });
    const [batch] = decodeRecordBatches(zstd, { codecs: onlyGzip });
    assert.throws(() => batch!.records(), UnsupportedCompressionError);
  });
});

describe("decodeRecordBatches over a Fetch blob", () => {
  function blob(): { buf: Buffer; sizes: number[] } {
    const parts = [0n, 3n, 10n].map((baseOffset, i) =>
      encodeRecordBatch({
        baseOffset,
        compression: CODECS[i]!,
        records: trickyRecords().slice(0, 3),
      }),
    );
    return { buf: Buffer.concat(parts), sizes: parts.map((p) => p.length) };
  }

  it("splits consecutive batches", () => {
    const { buf } = blob();
    const batches = decodeRecordBatches(buf);
    assert.deepEqual(
      batches.map((b) => b.baseOffset),
      [0n, 3n, 10n],
    );
    assert.deepEqual(
      batches.map((b) => b.records().length),
      [3, 3, 3],
    );
  });

  it("ignores a truncated trailing batch at every cut point, as Fetch responses need", () => {
    const { buf, sizes } = blob();
    const firstTwo = sizes[0]! + sizes[1]!;
    for (let cut = firstTwo; cut < buf.length; cut++) {
      const batches = decodeRecordBatches(buf.subarray(0, cut));
      assert.equal(batches.length, 2, `cut at ${cut}`);
    }
    assert.equal(decodeRecordBatches(buf.subarray(0, 11)).length, 0);
    assert.equal(decodeRecordBatches(Buffer.alloc(0)).length, 0);
  });

  it("throws CorruptRecordError (retriable) on a CRC mismatch anywhere under the CRC", () => {
    const raw = encodeRecordBatch({ records: trickyRecords() });
    for (const at of [21, 40, 61, raw.length - 1]) {
      const bad = Buffer.from(raw);
      bad[at]! ^= 0x01;
      assert.throws(
        () => decodeRecordBatches(bad),
        (err: unknown) =>
          err instanceof CorruptRecordError &&
          err.code === "CORRUPT_RECORD" &&
          err.retriable === true &&
          err.baseOffset === 0n,
        `flip at ${at}`,
      );
      // Checking can be turned off for bytes already verified.
      assert.equal(decodeRecordBatches(bad, { verifyCrc: false }).length, 1);
    }
  });

  it("does not cover the partition leader epoch with the CRC", () => {
    const raw = encodeRecordBatch({ records: trickyRecords() });
    raw.writeInt32BE(99, 12);
    assert.equal(decodeRecordBatches(raw)[0]!.partitionLeaderEpoch, 99);
  });

  it("throws UnsupportedMagicError for legacy message sets", () => {
    // A magic-1 message: offset, size, crc, magic 1, attributes, timestamp, key, value.
    const msg = Buffer.alloc(12 + 22);
    msg.writeBigInt64BE(5n, 0);
    msg.writeInt32BE(22, 8);
    msg.writeInt8(1, 16);
    msg.writeInt32BE(-1, 26); // null key
    msg.writeInt32BE(-1, 30); // null value
    assert.throws(
      () => decodeRecordBatches(msg),
      (err: unknown) =>
        err instanceof UnsupportedMagicError && err.magic === 1 && err.baseOffset === 5n,
    );
  });

  it("throws CorruptRecordError for impossible lengths", () => {
    const raw = encodeRecordBatch({ records: trickyRecords() });
    const tiny = Buffer.from(raw);
    tiny.writeInt32BE(13, 8);
    assert.throws(() => decodeRecordBatches(tiny), CorruptRecordError);
    const short = Buffer.from(raw);
    short.writeInt32BE(40, 8); // v2 magic, but smaller than the v2 header
    assert.throws(() => decodeRecordBatches(short), CorruptRecordError);
  });
});

describe("records() on malformed batches (valid CRC, broken content)", () => {
  function withValidCrc(raw: Buffer): Buffer {
    raw.writeUInt32BE(crc32c(raw, 21), 17);
    return raw;
  }

  it("throws InvalidRecordError (not retriable) when the record count is too high", () => {
    const raw = encodeRecordBatch({ records: trickyRecords() });
    raw.writeInt32BE(5, 57);
    const [batch] = decodeRecordBatches(withValidCrc(raw));
    assert.throws(
      () => batch!.records(),
      (err: unknown) =>
        err instanceof InvalidRecordError &&
        err.retriable === false &&
        err.code === "INVALID_RECORD",
    );
  });

  it("throws InvalidRecordError when bytes remain after the declared records", () => {
    const raw = encodeRecordBatch({ records: trickyRecords() });
    raw.writeInt32BE(3, 57);
    const [batch] = decodeRecordBatches(withValidCrc(raw));
    assert.throws(() => batch!.records(), /remain|after its 3 declared records/);
  });

  it("throws InvalidRecordError when a record's size disagrees with its fields", () => {
    const raw = encodeRecordBatch({ records: [{ timestamp: T, key: "k", value: "v" }] });
    raw[61] = raw[61]! + 2; // record length varint (a 1-byte zigzag): 1 larger
    const [batch] = decodeRecordBatches(withValidCrc(raw));
    assert.throws(() => batch!.records(), InvalidRecordError);
  });

  it("throws InvalidRecordError on undecompressable data", () => {
    const raw = encodeRecordBatch({
      compression: CompressionType.Gzip,
      records: [{ timestamp: T, key: "k", value: "v" }],
    });
    raw.fill(0x55, 70);
    const [batch] = decodeRecordBatches(withValidCrc(raw));
    assert.throws(() => batch!.records(), InvalidRecordError);
  });

  it("decodes an empty batch (all records compacted away) to no records", () => {
    const raw = encodeRecordBatch({ records: [{ timestamp: T, key: "k", value: "v" }] });
    const empty = withValidCrc(Buffer.concat([raw.subarray(0, 61)]));
    empty.writeInt32BE(empty.length - 12, 8);
    empty.writeInt32BE(0, 57);
    const [batch] = decodeRecordBatches(withValidCrc(empty));
    assert.deepEqual(batch!.records(), []);
  });

  it("refuses a RecordBatch shorter than the header", () => {
    assert.throws(() => new RecordBatch(Buffer.alloc(60)), CorruptRecordError);
  });
});
