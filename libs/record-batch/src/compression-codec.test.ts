import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import * as zlib from "node:zlib";
import { codecFixtureInput, codecFixtures } from "./codec-fixtures";
import {
  type CompressionCodec,
  CompressionCodecRegistry,
  CompressionType,
  defaultCompressionCodecs,
  gzipCodec,
  lz4Codec,
  snappyCodec,
  zstdCodec,
} from "./compression-codec";
import { InvalidRecordError, UnsupportedCompressionError } from "./record-batch-error";

const snappy = require("snappy") as typeof import("snappy");

function inputs(): [string, Buffer][] {
  const text = Buffer.from("kafka geo replication ".repeat(10_000)); // 220 KB, compressible
  return [
    ["one byte", Buffer.from([7])],
    ["1 KiB text", text.subarray(0, 1024)],
    ["220 KB text (several blocks)", text],
    ["exactly 64 KiB", text.subarray(0, 65_536)],
    ["300 KB random (incompressible)", randomBytes(300_000)],
  ];
}

describe("compression codecs round-trip", () => {
  for (const codec of [gzipCodec, snappyCodec, lz4Codec, zstdCodec]) {
    for (const [name, data] of inputs()) {
      it(`${codec.name}: ${name}`, () => {
        const packed = codec.compress(data);
        assert.ok(Buffer.isBuffer(packed));
        assert.deepEqual(codec.decompress(packed), data);
      });
    }
  }
});

describe("snappy (xerial framing)", () => {
  const MAGIC = "82534e415050590000000001" + "00000001";

  it("writes snappy-java's header and 32 KiB chunks", () => {
    const data = Buffer.from("x".repeat(70_000));
    const packed = snappyCodec.compress(data);
    assert.equal(packed.subarray(0, 16).toString("hex"), MAGIC);
    // Walk the chunks: 32768 + 32768 + 4464 bytes of input.
    let pos = 16;
    const sizes: number[] = [];
    while (pos < packed.length) {
      const len = packed.readInt32BE(pos);
      const block = packed.subarray(pos + 4, pos + 4 + len);
      sizes.push((snappy.uncompressSync(block, { asBuffer: true }) as Buffer).length);
      pos += 4 + len;
    }
    assert.equal(pos, packed.length);
    assert.deepEqual(sizes, [32_768, 32_768, 4_464]);
  });

  it("reads a raw snappy block without framing", () => {
    const data = Buffer.from("raw snappy from a non-Java client ".repeat(100));
    assert.deepEqual(snappyCodec.decompress(snappy.compressSync(data)), data);
  });

  it("reads concatenated xerial streams", () => {
    const a = Buffer.from("first stream ".repeat(50));
    const b = Buffer.from("second stream ".repeat(50));
    const joined = Buffer.concat([snappyCodec.compress(a), snappyCodec.compress(b)]);
    assert.deepEqual(snappyCodec.decompress(joined), Buffer.concat([a, b]));
  });

  it("throws a typed error on a chunk overrunning the stream", () => {
    const packed = snappyCodec.compress(Buffer.from("abc".repeat(100)));
    assert.throws(
      () => snappyCodec.decompress(packed.subarray(0, packed.length - 1)),
      InvalidRecordError,
    );
  });
});

describe("lz4 (Kafka's frame)", () => {
  it("writes the header Java's Lz4BlockOutputStream writes, 64 KiB blocks, an end mark", () => {
    const data = Buffer.from("kafka ".repeat(30_000)); // 180,000 bytes: 3 blocks
    const packed = lz4Codec.compress(data);
    assert.equal(packed.subarray(0, 7).toString("hex"), "04224d18604082");
    let pos = 7;
    let blocks = 0;
    for (;;) {
      const size = packed.readUInt32LE(pos);
      pos += 4;
      if (size === 0) break;
      pos += size & 0x7fffffff;
      blocks++;
    }
    assert.equal(blocks, 3);
    assert.equal(pos, packed.length);
  });

  it("stores incompressible blocks raw, flagged by the size's high bit", () => {
    const data = randomBytes(1000);
    const packed = lz4Codec.compress(data);
    assert.equal(packed.readUInt32LE(7), (1000 | 0x80000000) >>> 0);
    assert.deepEqual(packed.subarray(11, 1011), data);
    assert.deepEqual(lz4Codec.decompress(packed), data);
  });

  it("reads frames from the lz4 tool: linked blocks, block and content checksums, content size", () => {
    const frame = Buffer.from(codecFixtures.lz4LinkedBlocksChecksums, "base64");
    assert.equal(frame[4], 0x5c); // FLG: linked blocks, block checksum, content size, content checksum
    assert.deepEqual(lz4Codec.decompress(frame), codecFixtureInput());
  });

  it("reads frames from the lz4 tool: independent blocks with content checksum", () => {
    const frame = Buffer.from(codecFixtures.lz4IndependentBlocks, "base64");
    assert.deepEqual(lz4Codec.decompress(frame), codecFixtureInput());
  });

  it("reads a Java-shaped frame that also carries a content size", () => {
    const data = Buffer.from("sized ".repeat(20_000));
    const packed = lz4Codec.compress(data);
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(data.length));
    // FLG 0x68 = 0x60 + content size; HC is not checked where the batch CRC covers the frame.
    const withSize = Buffer.concat([
      packed.subarray(0, 4),
      Buffer.from([0x68, 0x40]),
      size,
      packed.subarray(6),
    ]);
    assert.deepEqual(lz4Codec.decompress(withSize), data);
  });

  it("reads frames whose blocks are smaller than the maximum (not only Java's full blocks)", () => {
    const a = Buffer.from("first block ".repeat(100));
    const b = Buffer.from("second block ".repeat(100));
    const framed = (d: Buffer) => lz4Codec.compress(d);
    const fa = framed(a);
    const fb = framed(b);
    // Splice: header + block of a + block of b + end mark.
    const joined = Buffer.concat([fa.subarray(0, fa.length - 4), fb.subarray(7)]);
    assert.deepEqual(lz4Codec.decompress(joined), Buffer.concat([a, b]));
  });

  it("throws a typed error on a damaged block in a Java-shaped frame", () => {
    const packed = lz4Codec.compress(Buffer.from("kafka ".repeat(1000)));
    packed.fill(0xff, 11, 40);
    assert.throws(() => lz4Codec.decompress(packed), InvalidRecordError);
    assert.throws(() => lz4Codec.decompress(packed.subarray(0, 20)), InvalidRecordError);
  });

  it("throws a typed error on a damaged frame", () => {
    const frame = Buffer.from(codecFixtures.lz4IndependentBlocks, "base64");
    frame[frame.length - 2]! ^= 0xff; // inside the content checksum
    assert.throws(() => lz4Codec.decompress(frame), InvalidRecordError);
    assert.throws(() => lz4Codec.decompress(Buffer.from("not an lz4 frame")), InvalidRecordError);
  });
});

describe("zstd", () => {
  it("reads a streamed frame without content size (as zstd-jni's output stream writes)", () => {
    const frame = Buffer.from(codecFixtures.zstdNoContentSize, "base64");
    assert.equal(frame[4]! & 0xc0, 0); // Frame_Content_Size_flag = 0
    assert.equal(frame[4]! & 0x20, 0); // not single-segment: no size at all
    assert.deepEqual(zstdCodec.decompress(frame), codecFixtureInput());
  });

  it("throws a typed error on garbage", () => {
    assert.throws(() => zstdCodec.decompress(Buffer.from("garbage!")), InvalidRecordError);
  });
});

describe("gzip", () => {
  it("reads concatenated gzip members", () => {
    const joined = Buffer.concat([zlib.gzipSync("ab"), zlib.gzipSync("cd")]);
    assert.equal(gzipCodec.decompress(joined).toString(), "abcd");
  });

  it("throws a typed error on garbage", () => {
    assert.throws(() => gzipCodec.decompress(Buffer.from("garbage!")), InvalidRecordError);
  });
});

describe("CompressionCodecRegistry", () => {
  it("holds the four Kafka codecs by their attribute ids", () => {
    assert.equal(defaultCompressionCodecs.get(CompressionType.Gzip), gzipCodec);
    assert.equal(defaultCompressionCodecs.get(CompressionType.Snappy), snappyCodec);
    assert.equal(defaultCompressionCodecs.get(CompressionType.Lz4), lz4Codec);
    assert.equal(defaultCompressionCodecs.get(CompressionType.Zstd), zstdCodec);
  });

  it("throws UnsupportedCompressionError for ids without a codec", () => {
    for (const id of [5, 6, 7]) {
      assert.throws(
        () => defaultCompressionCodecs.get(id, 42n),
        (err: unknown) =>
          err instanceof UnsupportedCompressionError &&
          err.code === "UNSUPPORTED_COMPRESSION" &&
          err.compression === id &&
          err.baseOffset === 42n &&
          err.retriable === false,
      );
    }
    assert.throws(() => new CompressionCodecRegistry().get(1), UnsupportedCompressionError);
  });

  it("lets a codec be replaced, and refuses ids outside 1-7", () => {
    const tuned: CompressionCodec = {
      ...gzipCodec,
      compress: (d) => zlib.gzipSync(d, { level: 1 }),
    };
    const registry = new CompressionCodecRegistry([gzipCodec]).register(tuned);
    assert.equal(registry.get(1), tuned);
    assert.throws(() => registry.register({ ...gzipCodec, id: 0 }), RangeError);
    assert.throws(() => registry.register({ ...gzipCodec, id: 8 }), RangeError);
  });
});
