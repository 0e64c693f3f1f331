import { MalformedResponseError } from "./kafka-wire-error";

const malformedResponse = (message: string): Error => new MalformedResponseError(message);

/**
 * Big-endian reader for Kafka's classic (non-flexible) encoding, that of responses and of
 * records Kafka's own tools write with it (MirrorMaker 2's checkpoints). Every read is
 * bounds-checked and a short buffer throws `malformed` ({@link MalformedResponseError} by
 * default): a response that does not parse must fail its request, never yield half-read
 * values. BYTES fields are returned as views into the buffer (zero copy).
 */
export class WireReader {
  pos = 0;

  constructor(
    readonly buf: Buffer,
    private readonly what: string,
    private readonly malformed: (message: string) => Error = malformedResponse,
  ) {}

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw this.malformed(
        `${this.what}: needs ${n} bytes at byte ${this.pos} but has ${this.buf.length}`,
      );
    }
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  int8(): number {
    this.need(1);
    const v = this.buf.readInt8(this.pos);
    this.pos += 1;
    return v;
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  nullableString(): string | null {
    const len = this.int16();
    if (len < 0) return null;
    this.need(len);
    const v = this.buf.toString("utf8", this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  string(): string {
    const v = this.nullableString();
    if (v === null) throw this.malformed(`${this.what}: null where a string belongs`);
    return v;
  }

  /** BYTES / RECORDS as a view into the response; null for length -1. */
  nullableBytes(): Buffer | null {
    const len = this.int32();
    if (len < 0) return null;
    this.need(len);
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  /** ARRAY; a null array (count -1) reads as null. */
  nullableArray<T>(read: (r: this) => T): T[] | null {
    const count = this.int32();
    if (count < 0) return null;
    // Each element takes at least one byte: a count beyond the remaining bytes is corrupt,
    // and checking it first keeps a bad count from allocating a huge array.
    if (count > this.remaining) {
      throw this.malformed(
        `${this.what}: array of ${count} elements in ${this.remaining} remaining bytes`,
      );
    }
    const out: T[] = new Array(count);
    for (let i = 0; i < count; i++) out[i] = read(this);
    return out;
  }

  array<T>(read: (r: this) => T): T[] {
    return this.nullableArray(read) ?? [];
  }
}
