/**
 * Big-endian writer for Kafka's classic (non-flexible) request encoding. It grows by
 * doubling; callers that know the size up front pass it so the buffer is allocated once
 * (a Produce request carries megabytes of record batches, copied exactly once).
 */
export class WireWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialSize));
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int8(v: number): this {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
    return this;
  }

  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  int64(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
    return this;
  }

  /** STRING / NULLABLE_STRING: int16 length (-1 for null), UTF-8 bytes. */
  string(v: string | null): this {
    if (v === null) return this.int16(-1);
    const len = Buffer.byteLength(v, "utf8");
    if (len > 0x7fff) throw new RangeError(`string of ${len} bytes is too long for the protocol`);
    this.int16(len);
    this.ensure(len);
    this.buf.write(v, this.pos, len, "utf8");
    this.pos += len;
    return this;
  }

  /** Raw bytes, no length prefix. */
  raw(v: Uint8Array): this {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return this;
  }

  /** BYTES / RECORDS: int32 length (-1 for null), bytes. */
  bytes(v: Uint8Array | null): this {
    if (v === null) return this.int32(-1);
    this.int32(v.length);
    return this.raw(v);
  }

  /** ARRAY: int32 count, then each element (-1 count for null). */
  array<T>(items: readonly T[] | null, write: (w: this, item: T) => void): this {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const item of items) write(this, item);
    return this;
  }

  /** The bytes written so far (a view, not a copy). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Size of a STRING field. */
export function sizeOfString(v: string | null): number {
  return v === null ? 2 : 2 + Buffer.byteLength(v, "utf8");
}
