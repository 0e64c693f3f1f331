// Cross-check with kafkajs 2.2.4's own record-batch codec (its internal
// modules; it only speaks uncompressed and gzip without extra codecs).

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { CompressionType } from "./compression-codec";
import { decodeRecordBatches } from "./decode-record-batches";
import { encodeRecordBatch } from "./encode-record-batch";

const req = createRequire(__filename);

interface KjsEncoder {
  buffer: Buffer;
}
interface KjsRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[] | null>;
}
interface KjsBatch {
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  partitionLeaderEpoch: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  records: KjsRecord[];
}

const { RecordBatch: kjsRecordBatch } = req("kafkajs/src/protocol/recordBatch/v0") as {
  RecordBatch(args: Record<string, unknown>): Promise<KjsEncoder>;
};
const kjsRecord = req("kafkajs/src/protocol/recordBatch/record/v0") as (
  args: Record<string, unknown>,
) => KjsEncoder;
const kjsDecodeBatch = req("kafkajs/src/protocol/recordBatch/v0/decoder") as (
  decoder: unknown,
) => Promise<KjsBatch>;
const KjsDecoder = req("kafkajs/src/protocol/decoder") as new (buf: Buffer) => unknown;
const Long = req("kafkajs/src/utils/long") as { fromString(s: string): unknown };

const T = 1_700_000_000_000n;

describe("kafkajs decodes what we encode", () => {
  for (const compression of [CompressionType.None, CompressionType.Gzip]) {
    it(`codec ${compression}`, async () => {
      const raw = encodeRecordBatch({
        baseOffset: 9_007_199_254_740_993n,
        partitionLeaderEpoch: 4,
        producerId: 123_456_789_012n,
        producerEpoch: 3,
        baseSequence: 77,
        isTransactional: true,
        compression,
        records: [
          {
            timestamp: T,
            key: "k1",
            value: "v1",
            headers: [
              { key: "a", value: "1" },
              { key: "b", value: "2" },
              { key: "a", value: "3" },
              { key: "9", value: "x" },
              { key: "1", value: "y" },
            ],
          },
          { timestamp: T + 7n, key: null, value: Buffer.alloc(0) },
          { timestamp: T - 2n, key: Buffer.alloc(0), value: null },
        ],
      });
      const b = await kjsDecodeBatch(new KjsDecoder(raw));
      assert.equal(b.firstOffset, "9007199254740993");
      assert.equal(b.partitionLeaderEpoch, 4);
      assert.equal(b.producerId, "123456789012");
      assert.equal(b.producerEpoch, 3);
      assert.equal(b.firstSequence, 77);
      assert.equal(b.inTransaction, true);
      assert.equal(b.isControlBatch, false);
      assert.equal(b.lastOffsetDelta, 2);
      assert.equal(b.firstTimestamp, T.toString());
      assert.equal(b.maxTimestamp, (T + 7n).toString());
      assert.deepEqual(
        b.records.map((r) => [r.offset, r.timestamp, r.key, r.value]),
        [
          ["9007199254740993", T.toString(), Buffer.from("k1"), Buffer.from("v1")],
          ["9007199254740994", (T + 7n).toString(), null, Buffer.alloc(0)],
          ["9007199254740995", (T - 2n).toString(), Buffer.alloc(0), null],
        ],
      );
      // kafkajs folds headers into an object: the hazard this package exists for.
      assert.deepEqual(b.records[0]!.headers, {
        1: Buffer.from("y"),
        9: Buffer.from("x"),
        a: [Buffer.from("1"), Buffer.from("3")],
        b: Buffer.from("2"),
      });
    });
  }
});

describe("we decode what kafkajs encodes", () => {
  for (const compression of [CompressionType.None, CompressionType.Gzip]) {
    it(`codec ${compression}`, async () => {
      const records = [
        kjsRecord({
          offsetDelta: 0,
          timestampDelta: 0,
          key: Buffer.from("k"),
          value: Buffer.from("v"),
          headers: { h1: Buffer.from("x"), h2: [Buffer.from("y"), Buffer.from("z")] },
        }),
        kjsRecord({ offsetDelta: 1, timestampDelta: 5, key: null, value: null }),
        kjsRecord({
          offsetDelta: 2,
          timestampDelta: -3,
          key: Buffer.alloc(0),
          value: Buffer.from("w"),
        }),
      ];
      const enc = await kjsRecordBatch({
        compression,
        firstOffset: Long.fromString("42"),
        firstTimestamp: Number(T),
        maxTimestamp: Number(T + 5n),
        partitionLeaderEpoch: 6,
        lastOffsetDelta: 2,
        transactional: true,
        producerId: Long.fromString("555"),
        producerEpoch: 2,
        firstSequence: 9,
        records,
      });
      const [b, ...rest] = decodeRecordBatches(enc.buffer);
      assert.equal(rest.length, 0);
      assert.ok(b);
      assert.equal(b.baseOffset, 42n);
      assert.equal(b.partitionLeaderEpoch, 6);
      assert.equal(b.compression, compression);
      assert.equal(b.isTransactional, true);
      assert.equal(b.producerId, 555n);
      assert.equal(b.producerEpoch, 2);
      assert.equal(b.baseSequence, 9);
      assert.equal(b.lastOffsetDelta, 2);
      assert.equal(b.baseTimestamp, T);
      assert.equal(b.maxTimestamp, T + 5n);
      // Cross-check record fields with kafkajs's own decoder of the same bytes.
      const theirs = await kjsDecodeBatch(new KjsDecoder(enc.buffer));
      const ours = b.records();
      assert.deepEqual(
        ours.map((r) => [r.offset.toString(), r.timestamp.toString(), r.key, r.value]),
        theirs.records.map((r) => [r.offset, r.timestamp, r.key, r.value]),
      );
      assert.deepEqual(
        ours[0]!.headers.map((h) => [h.keyString, h.value]),
        [
          ["h1", Buffer.from("x")],
          ["h2", Buffer.from("y")],
          ["h2", Buffer.from("z")],
        ],
      );
    });
  }
});
