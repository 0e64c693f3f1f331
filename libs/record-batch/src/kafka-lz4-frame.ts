// LZ4 as Kafka frames it: the standard LZ4 frame format (magic 0x184D2204),
// written the way Java's `Lz4BlockOutputStream` writes it: FLG 0x60 (version
// 1, independent blocks, no block or content checksum, no content size), BD
// 0x40 (64 KiB blocks), and incompressible blocks stored raw with the high
// bit of their size set. Java's reader rejects dependent blocks, so the writer
// must produce independent ones; lz4-napi's own frame writer uses 256 KiB
// blocks, which Java accepts but which is not what a Java producer emits.
//
// Reading takes any standard frame: with checksums, content sizes, other
// block sizes and linked blocks as librdkafka or the lz4 tool may write them.

import { InvalidRecordError } from "./record-batch-error";

type Lz4Module = typeof import("lz4-napi");
let lz4Module: Lz4Module | undefined;
function lz4(): Lz4Module {
  lz4Module ??= require("lz4-napi") as Lz4Module;
  return lz4Module;
}

const BLOCK_SIZE = 64 * 1024;
// Magic (LE), FLG, BD, then HC = (xxh32(FLG BD, seed 0) >> 8) & 0xFF, which is
// 0x82 for these two bytes: the header every Java-written Kafka LZ4 frame has.
const FRAME_HEADER = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]);
const INCOMPRESSIBLE = 0x80000000;

export function kafkaLz4Compress(data: Buffer): Buffer {
  const l = lz4();
  const parts: Buffer[] = [FRAME_HEADER];
  let total = FRAME_HEADER.length;
  for (let off = 0; off < data.length; off += BLOCK_SIZE) {
    const chunk = data.subarray(off, Math.min(off + BLOCK_SIZE, data.length));
    // compressSync returns one LZ4 block prefixed by its decoded size (LE int32).
    const block = l.compressSync(chunk).subarray(4);
    const size = Buffer.allocUnsafe(4);
    if (block.length >= chunk.length) {
      size.writeUInt32LE((chunk.length | INCOMPRESSIBLE) >>> 0, 0);
      parts.push(size, chunk);
      total += 4 + chunk.length;
    } else {
      size.writeUInt32LE(block.length, 0);
      parts.push(size, block);
      total += 4 + block.length;
    }
  }
  parts.push(Buffer.alloc(4)); // end mark
  total += 4;
  return Buffer.concat(parts, total);
}

const MAGIC = 0x184d2204;
// FLG bits that must match for the fast path: version 01, independent
// blocks, no block checksum, no content checksum, reserved 0, no dict id.
// Only the content-size bit (0x08) may vary.
const FAST_FLG_MASK = 0xf7;
const FAST_FLG = 0x60;

/**
 * Decompress an LZ4 frame. Frames shaped like Java's (independent blocks,
 * no frame checksums) are walked here and each block is decoded on its own,
 * which runs about twice as fast as lz4-napi's streaming frame decoder;
 * the frame header checksum is not checked there, as the batch CRC-32C
 * already covers these bytes. Any other frame (checksums, linked blocks,
 * several frames) goes to lz4-napi's full decoder, which checks everything.
 */
export function kafkaLz4Decompress(data: Buffer): Buffer {
  try {
    return decompressJavaShapedFrame(data) ?? lz4().decompressFrameSync(data);
  } catch (cause) {
    if (cause instanceof InvalidRecordError) throw cause;
    throw new InvalidRecordError(`lz4 frame is invalid: ${(cause as Error).message}`, { cause });
  }
}

/** null when the frame is not of the simple shape (the caller falls back). */
function decompressJavaShapedFrame(data: Buffer): Buffer | null {
  if (data.length < 7 || data.readUInt32LE(0) !== MAGIC) return null;
  const flg = data[4]!;
  if ((flg & FAST_FLG_MASK) !== FAST_FLG) return null;
  const bdSize = (data[5]! >> 4) & 7;
  if (bdSize < 4 || (data[5]! & 0x8f) !== 0) return null;
  const maxBlock = 1 << (2 * bdSize + 8);
  let pos = 4 + 2 + (flg & 0x08 ? 8 : 0) + 1;
  const l = lz4();
  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    if (data.length - pos < 4) return null;
    const word = data.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (size > maxBlock || size > data.length - pos) return null;
    let block: Buffer;
    if (word & 0x80000000) {
      block = data.subarray(pos, pos + size);
    } else {
      // lz4-napi's block decoder wants the decoded size first; an upper bound
      // is enough (lz4_flex treats it as the minimum capacity).
      const framed = Buffer.allocUnsafe(4 + size);
      framed.writeUInt32LE(maxBlock, 0);
      data.copy(framed, 4, pos, pos + size);
      block = l.uncompressSync(framed);
    }
    parts.push(block);
    total += block.length;
    pos += size;
  }
  // Trailing bytes (a second frame, say): let the full decoder handle it all.
  if (pos !== data.length) return null;
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}
