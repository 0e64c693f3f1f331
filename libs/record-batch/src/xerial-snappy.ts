// Snappy as Kafka's Java clients write it: snappy-java's `SnappyOutputStream`
// ("xerial" framing), not Google's framing format. Layout:
//   magic  0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00   (8 bytes)
//   version int32 BE, compatible-version int32 BE (both 1)
//   then chunks of [int32 BE compressed length][raw snappy block]
// Some non-Java clients send one raw snappy block with no framing, and
// snappy-java's reader accepts that, so the decoder does too.

import { InvalidRecordError } from "./record-batch-error";

type SnappyModule = typeof import("snappy");
let snappyModule: SnappyModule | undefined;
function snappy(): SnappyModule {
  // Loaded on first use so that users of the other codecs never load the addon.
  snappyModule ??= require("snappy") as SnappyModule;
  return snappyModule;
}

const MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const HEADER_SIZE = 16;
// snappy-java's default block size, so our chunks look like a Java producer's.
const BLOCK_SIZE = 32 * 1024;

function startsWithMagic(buf: Uint8Array, pos: number): boolean {
  if (buf.length - pos < MAGIC.length) return false;
  for (let i = 0; i < MAGIC.length; i++) if (buf[pos + i] !== MAGIC[i]) return false;
  return true;
}

/** Compress into xerial framing, 32 KiB of input per chunk. */
export function xerialSnappyCompress(data: Buffer): Buffer {
  const s = snappy();
  const parts: Buffer[] = [];
  const header = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  parts.push(header);
  let total = HEADER_SIZE;
  for (let off = 0; off < data.length; off += BLOCK_SIZE) {
    const block = s.compressSync(data.subarray(off, Math.min(off + BLOCK_SIZE, data.length)));
    const len = Buffer.allocUnsafe(4);
    len.writeInt32BE(block.length, 0);
    parts.push(len, block);
    total += 4 + block.length;
  }
  return Buffer.concat(parts, total);
}

/** Decompress xerial-framed (possibly several concatenated streams) or raw snappy. */
export function xerialSnappyDecompress(data: Buffer): Buffer {
  const s = snappy();
  if (!startsWithMagic(data, 0)) return s.uncompressSync(data, { asBuffer: true }) as Buffer;
  if (data.length < HEADER_SIZE) throw new InvalidRecordError("snappy stream header is truncated");
  const parts: Buffer[] = [];
  let total = 0;
  let pos = HEADER_SIZE;
  while (pos < data.length) {
    // snappy-java readers accept a new stream header where a chunk would start.
    if (startsWithMagic(data, pos)) {
      pos += HEADER_SIZE;
      continue;
    }
    if (data.length - pos < 4) throw new InvalidRecordError("snappy chunk length is truncated");
    const len = data.readInt32BE(pos);
    pos += 4;
    if (len < 0 || len > data.length - pos) {
      throw new InvalidRecordError(`snappy chunk of ${len} bytes overruns the stream`);
    }
    const chunk = s.uncompressSync(data.subarray(pos, pos + len), { asBuffer: true }) as Buffer;
    parts.push(chunk);
    total += chunk.length;
    pos += len;
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}
