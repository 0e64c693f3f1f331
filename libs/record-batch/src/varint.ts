// Zigzag varints as Kafka writes them (`ByteUtils.writeVarint` / `writeVarlong`,
// the protobuf encoding). Varints carry int32 values in at most 5 bytes,
// varlongs int64 values in at most 10.
//
// Readers take a buffer, a position and a limit (exclusive) and return the
// value; the position after it is left in `cursor.pos`, a module-level
// scratch object, so the hot decode loop allocates nothing per varint.

import { InvalidRecordError } from "./record-batch-error";

/** Where the last read stopped. Shared scratch: read it right after the call. */
export const cursor = { pos: 0 };

const TWO_POW_32 = 2 ** 32;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
// Zigzag values below 2^53 fit a double exactly, so varlongs of up to 7 bytes
// (49 bits) decode without bigint arithmetic.
const MAX_FAST_VARLONG_BYTES = 7;

function truncated(what: string): InvalidRecordError {
  return new InvalidRecordError(`${what} runs past the end of its record`);
}

/**
 * Read a zigzag int32 varint at `pos`. Matches Java: at most 5 bytes, and the
 * high bits of a 5th byte are dropped as Java's int shift drops them.
 */
export function readVarint(buf: Uint8Array, pos: number, limit: number): number {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (pos >= limit) throw truncated("varint");
    const b = buf[pos++]!;
    if ((b & 0x80) === 0) {
      value |= b << shift;
      break;
    }
    value |= (b & 0x7f) << shift;
    shift += 7;
    if (shift > 28) throw new InvalidRecordError("varint is longer than 5 bytes");
  }
  cursor.pos = pos;
  return (value >>> 1) ^ -(value & 1);
}

/** Read a zigzag int64 varlong at `pos` as an exact bigint. */
export function readVarlong(buf: Uint8Array, pos: number, limit: number): bigint {
  const n = readVarlongNumber(buf, pos, limit);
  if (n !== null) return BigInt(n);
  return readVarlongBig(buf, pos, limit);
}

/**
 * Read a varlong as a number when it fits in 7 bytes (|value| < 2^48), which
 * covers every timestamp delta in practice; `null` means "use the bigint
 * reader". `cursor.pos` is only meaningful after a non-null result.
 */
export function readVarlongNumber(buf: Uint8Array, pos: number, limit: number): number | null {
  let raw = 0;
  let mult = 1;
  for (let i = 0; i < MAX_FAST_VARLONG_BYTES; i++) {
    if (pos >= limit) throw truncated("varlong");
    const b = buf[pos++]!;
    raw += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) {
      cursor.pos = pos;
      // Zigzag decode on doubles: even -> n/2, odd -> -(n+1)/2.
      return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    }
    mult *= 128;
  }
  return null;
}

function readVarlongBig(buf: Uint8Array, pos: number, limit: number): bigint {
  let raw = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= limit) throw truncated("varlong");
    const b = buf[pos++]!;
    raw |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7n;
    if (shift > 63n) throw new InvalidRecordError("varlong is longer than 10 bytes");
  }
  cursor.pos = pos;
  // Java's long arithmetic drops bits above 64; mirror it before unzigzagging.
  raw = BigInt.asUintN(64, raw);
  return BigInt.asIntN(64, (raw >> 1n) ^ -(raw & 1n));
}

/** Bytes a zigzag varint of the int32 `value` takes. */
export function sizeOfVarint(value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  let size = 1;
  while (v >= 0x80) {
    v >>>= 7;
    size++;
  }
  return size;
}

/** Write a zigzag varint of the int32 `value` at `pos`; returns the new position. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

function zigzagNumber(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function zigzagBig(value: bigint): bigint {
  return BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
}

function assertInt64(value: bigint): void {
  if (value < INT64_MIN || value > INT64_MAX) {
    throw new RangeError(`${value} is outside the int64 range`);
  }
}

/** Bytes a zigzag varlong of `value` takes (a number must be a safe integer). */
export function sizeOfVarlong(value: bigint | number): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && Math.abs(value) < 2 ** 52) {
    let v = zigzagNumber(value);
    let size = 1;
    while (v >= 128) {
      v = Math.floor(v / 128);
      size++;
    }
    return size;
  }
  const big = BigInt(value);
  assertInt64(big);
  let v = zigzagBig(big);
  let size = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    size++;
  }
  return size;
}

/** Write a zigzag varlong of `value` at `pos`; returns the new position. */
export function writeVarlong(buf: Uint8Array, pos: number, value: bigint | number): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && Math.abs(value) < 2 ** 52) {
    let v = zigzagNumber(value);
    while (v >= TWO_POW_32) {
      buf[pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    let u = v >>> 0;
    while (u >= 0x80) {
      buf[pos++] = (u & 0x7f) | 0x80;
      u >>>= 7;
    }
    buf[pos++] = u;
    return pos;
  }
  const big = BigInt(value);
  assertInt64(big);
  let v = zigzagBig(big);
  while (v >= 0x80n) {
    buf[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[pos++] = Number(v);
  return pos;
}
