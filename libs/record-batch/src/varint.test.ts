import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { InvalidRecordError } from "./record-batch-error";
import {
  cursor,
  readVarint,
  readVarlong,
  readVarlongNumber,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from "./varint";

// Encodings as Java's ByteUtils.writeVarint / writeVarlong produce them (the
// varlongs also checked against kafkajs's encoder in the last test).
const VARINTS: [number, string][] = [
  [0, "00"],
  [-1, "01"],
  [1, "02"],
  [63, "7e"],
  [-64, "7f"],
  [64, "8001"],
  [-65, "8101"],
  [300, "d804"],
  [2147483647, "feffffff0f"],
  [-2147483648, "ffffffff0f"],
];

const VARLONGS: [bigint, string][] = [
  [0n, "00"],
  [-1n, "01"],
  [1n, "02"],
  [2147483647n, "feffffff0f"],
  [-2147483648n, "ffffffff0f"],
  [2147483648n, "8080808010"],
  [2n ** 48n - 1n, "feffffffffff7f"],
  [-(2n ** 48n), "ffffffffffff7f"],
  [2n ** 48n, "8080808080808001"],
  [2n ** 53n + 1n, "8280808080808020"],
  [9223372036854775807n, "feffffffffffffffff01"],
  [-9223372036854775808n, "ffffffffffffffffff01"],
];

describe("varint (int32, zigzag)", () => {
  for (const [value, hex] of VARINTS) {
    it(`${value} <-> ${hex}`, () => {
      const buf = Buffer.alloc(8);
      const end = writeVarint(buf, 1, value);
      assert.equal(buf.subarray(1, end).toString("hex"), hex);
      assert.equal(sizeOfVarint(value), hex.length / 2);
      assert.equal(readVarint(buf, 1, end), value);
      assert.equal(cursor.pos, end);
    });
  }

  it("round-trips values around every 7-bit boundary", () => {
    const buf = Buffer.alloc(8);
    for (let shift = 0; shift <= 31; shift++) {
      for (const base of [2 ** shift, -(2 ** shift)]) {
        for (const v of [base - 1, base, base + 1]) {
          if (v > 2147483647 || v < -2147483648) continue;
          const end = writeVarint(buf, 0, v);
          assert.equal(end, sizeOfVarint(v));
          assert.equal(readVarint(buf, 0, end), v);
        }
      }
    }
  });

  it("throws a typed error on a truncated varint", () => {
    assert.throws(() => readVarint(Buffer.from("8080", "hex"), 0, 2), InvalidRecordError);
    // The limit, not the buffer end, bounds the read.
    assert.throws(() => readVarint(Buffer.from("8001", "hex"), 0, 1), InvalidRecordError);
  });

  it("throws on a varint longer than 5 bytes", () => {
    assert.throws(
      () => readVarint(Buffer.from("808080808001", "hex"), 0, 6),
      /longer than 5 bytes/,
    );
  });
});

describe("varlong (int64, zigzag)", () => {
  for (const [value, hex] of VARLONGS) {
    it(`${value} <-> ${hex}`, () => {
      const buf = Buffer.alloc(12);
      const end = writeVarlong(buf, 0, value);
      assert.equal(buf.subarray(0, end).toString("hex"), hex);
      assert.equal(sizeOfVarlong(value), hex.length / 2);
      assert.equal(readVarlong(buf, 0, end), value);
      assert.equal(cursor.pos, end);
      // Numbers take the double fast path where exact, and write identical bytes.
      if (value >= -(2n ** 51n) && value <= 2n ** 51n) {
        const nb = Buffer.alloc(12);
        const nend = writeVarlong(nb, 0, Number(value));
        assert.equal(nb.subarray(0, nend).toString("hex"), hex);
        assert.equal(sizeOfVarlong(Number(value)), hex.length / 2);
      }
    });
  }

  it("fast number reader hands over to bigint beyond 7 bytes", () => {
    const buf = Buffer.alloc(12);
    const end = writeVarlong(buf, 0, 2n ** 60n);
    assert.equal(readVarlongNumber(buf, 0, end), null);
    assert.equal(readVarlong(buf, 0, end), 2n ** 60n);
    const small = writeVarlong(buf, 0, -123456789012);
    assert.equal(readVarlongNumber(buf, 0, small), -123456789012);
  });

  it("round-trips powers of two and their neighbours across the int64 range", () => {
    const buf = Buffer.alloc(12);
    for (let shift = 0n; shift < 63n; shift++) {
      for (const v of [2n ** shift - 1n, 2n ** shift, -(2n ** shift), -(2n ** shift) - 1n]) {
        const end = writeVarlong(buf, 0, v);
        assert.equal(end, sizeOfVarlong(v));
        assert.equal(readVarlong(buf, 0, end), v, `value ${v}`);
      }
    }
  });

  it("refuses values outside int64 and over-long encodings", () => {
    assert.throws(() => writeVarlong(Buffer.alloc(12), 0, 2n ** 63n), RangeError);
    assert.throws(() => sizeOfVarlong(-(2n ** 63n) - 1n), RangeError);
    assert.throws(
      () => readVarlong(Buffer.from("8080808080808080808001", "hex"), 0, 11),
      /longer than 10 bytes/,
    );
    assert.throws(() => readVarlong(Buffer.from("ffff", "hex"), 0, 2), InvalidRecordError);
  });

  it("writes what kafkajs's encoder writes", () => {
    const req = createRequire(__filename);
    const Encoder = req("kafkajs/src/protocol/encoder") as new () => {
      writeVarLong(v: unknown): { buffer: Buffer };
    };
    const Long = req("kafkajs/src/utils/long") as { fromString(s: string): unknown };
    for (const [value, hex] of VARLONGS) {
      const theirs = new Encoder().writeVarLong(Long.fromString(value.toString())).buffer;
      assert.equal(theirs.toString("hex"), hex, `value ${value}`);
    }
  });
});
