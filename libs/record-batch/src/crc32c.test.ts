import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { crc32c, crc32cCombineZeros, crc32cUpdate } from "./crc32c";

// Bit-at-a-time reference: slow, obviously the definition.
function referenceCrc32c(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe("crc32c", () => {
  it("matches the check value and the RFC 3720 (iSCSI) vectors", () => {
    assert.equal(crc32c(Buffer.from("123456789")), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(0)), 0);
    assert.equal(crc32c(Buffer.alloc(32, 0x00)), 0x8a9136aa);
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
    const inc = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    assert.equal(crc32c(inc), 0x46dd794e);
    const dec = Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i));
    assert.equal(crc32c(dec), 0x113fdb5c);
  });

  it("agrees with the bitwise definition for every length and start alignment", () => {
    const data = randomBytes(300);
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= data.length; end += 7) {
        const slice = data.subarray(start, end);
        assert.equal(crc32c(data, start, end), referenceCrc32c(slice), `[${start}, ${end})`);
      }
    }
  });

  it("refuses a range outside the buffer", () => {
    assert.throws(() => crc32c(Buffer.alloc(4), 0, 5), RangeError);
    assert.throws(() => crc32c(Buffer.alloc(4), 3, 2), RangeError);
  });

  it("carries a raw register across zero bytes like feeding the zeros", () => {
    const data = randomBytes(40);
    for (const zeros of [0, 1, 7, 8, 100, 65_536, 1_000_003]) {
      const fed = crc32cUpdate(
        crc32cUpdate(0, data, 0, data.length),
        Buffer.alloc(zeros),
        0,
        zeros,
      );
      const jumped = crc32cCombineZeros(crc32cUpdate(0, data, 0, data.length), zeros);
      assert.equal(jumped, fed, `${zeros} zero bytes`);
    }
  });
});
