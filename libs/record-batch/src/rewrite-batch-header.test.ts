import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { CompressionType } from "./compression-codec";
import { crc32c } from "./crc32c";
import { decodeRecordBatches } from "./decode-record-batches";
import { encodeRecordBatch } from "./encode-record-batch";
import { CorruptRecordError, UnsupportedMagicError } from "./record-batch-error";
import { rewriteBatchHeader } from "./rewrite-batch-header";

const T = 1_700_000_000_000n;

function source(compression: number): Buffer {
  return encodeRecordBatch({
    baseOffset: 1000n,
    partitionLeaderEpoch: 7,
    producerId: 42n,
    producerEpoch: 1,
    baseSequence: 100,
    isTransactional: true,
    compression,
    records: Array.from({ length: 50 }, (_, i) => ({
      timestamp: T + BigInt(i),
      key: `key-${i}`,
      value: randomBytes(200 + i),
      headers: [
        { key: "a", value: `${i}` },
        { key: "a", value: null },
      ],
    })),
  });
}

const CODECS = [
  CompressionType.None,
  CompressionType.Gzip,
  CompressionType.Snappy,
  CompressionType.Lz4,
  CompressionType.Zstd,
];

describe("rewriteBatchHeader", () => {
  for (const compression of CODECS) {
    it(`re-stamps producer fields without touching records, codec ${compression}`, () => {
      const raw = source(compression);
      const original = Buffer.from(raw);
      const out = rewriteBatchHeader(raw, {
        baseOffset: 5n,
        partitionLeaderEpoch: -1,
        producerId: 2n ** 40n + 1n,
        producerEpoch: 12,
        baseSequence: 2_000_000_000,
        isTransactional: false,
      });
      assert.deepEqual(raw, original, "input untouched by default");
      assert.notEqual(out, raw);
      // Records section bytes identical: nothing was recompressed.
      assert.deepEqual(out.subarray(61), raw.subarray(61));
      // CRC equals a full recomputation.
      assert.equal(out.readUInt32BE(17), crc32c(out, 21));
      const [before] = decodeRecordBatches(raw);
      const [after] = decodeRecordBatches(out);
      assert.ok(before && after);
      assert.equal(after.baseOffset, 5n);
      assert.equal(after.partitionLeaderEpoch, -1);
      assert.equal(after.producerId, 2n ** 40n + 1n);
      assert.equal(after.producerEpoch, 12);
      assert.equal(after.baseSequence, 2_000_000_000);
      assert.equal(after.isTransactional, false);
      assert.equal(after.compression, compression);
      assert.equal(after.lastOffsetDelta, before.lastOffsetDelta);
      assert.equal(after.maxTimestamp, before.maxTimestamp);
      const a = after.records();
      const b = before.records();
      assert.deepEqual(
        a.map((r) => ({ ...r, offset: r.offset - 5n })),
        b.map((r) => ({ ...r, offset: r.offset - 1000n })),
      );
    });
  }

  it("leaves fields that are not patched as they were", () => {
    const raw = source(CompressionType.Lz4);
    const out = rewriteBatchHeader(raw, { baseSequence: 0 });
    const [b] = decodeRecordBatches(out);
    assert.equal(b!.baseOffset, 1000n);
    assert.equal(b!.partitionLeaderEpoch, 7);
    assert.equal(b!.producerId, 42n);
    assert.equal(b!.producerEpoch, 1);
    assert.equal(b!.isTransactional, true);
    assert.equal(b!.baseSequence, 0);
    assert.deepEqual(rewriteBatchHeader(raw, {}), raw);
  });

  it("patches in place when asked", () => {
    const raw = source(CompressionType.None);
    const out = rewriteBatchHeader(raw, { producerId: 9n }, { inPlace: true });
    assert.equal(out, raw);
    assert.equal(decodeRecordBatches(raw)[0]!.producerId, 9n);
  });

  it("does not launder a corrupt batch into a valid one", () => {
    const bad = source(CompressionType.Gzip);
    bad[bad.length - 10]! ^= 0x40;
    const out = rewriteBatchHeader(bad, { producerId: 1n, producerEpoch: 0, baseSequence: 0 });
    assert.throws(() => decodeRecordBatches(out), CorruptRecordError);
    assert.throws(
      () => rewriteBatchHeader(bad, { producerId: 1n }, { verifyCrc: true }),
      CorruptRecordError,
    );
  });

  it("refuses batches it cannot patch safely", () => {
    const raw = source(CompressionType.None);
    assert.throws(() => rewriteBatchHeader(raw.subarray(0, 60), {}), CorruptRecordError);
    assert.throws(
      () => rewriteBatchHeader(raw.subarray(0, raw.length - 1), {}),
      CorruptRecordError,
    );
    const legacy = Buffer.from(raw);
    legacy[16] = 1;
    assert.throws(() => rewriteBatchHeader(legacy, {}), UnsupportedMagicError);
    assert.throws(() => rewriteBatchHeader(raw, { producerEpoch: 1 << 15 }), RangeError);
    assert.throws(() => rewriteBatchHeader(raw, { producerId: 2n ** 63n }), RangeError);
  });
});
