import * as zlib from "node:zlib";
import { kafkaLz4Compress, kafkaLz4Decompress } from "./kafka-lz4-frame";
import { InvalidRecordError, UnsupportedCompressionError } from "./record-batch-error";
import { xerialSnappyCompress, xerialSnappyDecompress } from "./xerial-snappy";

/** Codec ids in attribute bits 0-2 of a record batch. */
export const CompressionType = {
  None: 0,
  Gzip: 1,
  Snappy: 2,
  Lz4: 3,
  Zstd: 4,
} as const;
export type CompressionType = (typeof CompressionType)[keyof typeof CompressionType];

/**
 * Compresses and decompresses the records section of a batch. Synchronous:
 * batches are at most a few MiB and the call sites are a tight decode loop.
 */
export interface CompressionCodec {
  readonly id: number;
  readonly name: string;
  compress(data: Buffer): Buffer;
  decompress(data: Buffer): Buffer;
}

function wrapDecompress(name: string, fn: (data: Buffer) => Buffer): (data: Buffer) => Buffer {
  return (data) => {
    try {
      return fn(data);
    } catch (cause) {
      if (cause instanceof InvalidRecordError) throw cause;
      throw new InvalidRecordError(`${name} data is invalid: ${(cause as Error).message}`, {
        cause,
      });
    }
  };
}

export const gzipCodec: CompressionCodec = {
  id: CompressionType.Gzip,
  name: "gzip",
  compress: (data) => zlib.gzipSync(data),
  // gunzip reads concatenated members too, which some producers emit.
  decompress: wrapDecompress("gzip", (data) => zlib.gunzipSync(data)),
};

export const snappyCodec: CompressionCodec = {
  id: CompressionType.Snappy,
  name: "snappy",
  compress: xerialSnappyCompress,
  decompress: wrapDecompress("snappy", xerialSnappyDecompress),
};

export const lz4Codec: CompressionCodec = {
  id: CompressionType.Lz4,
  name: "lz4",
  compress: kafkaLz4Compress,
  decompress: kafkaLz4Decompress,
};

export const zstdCodec: CompressionCodec = {
  id: CompressionType.Zstd,
  name: "zstd",
  // Level 3 is zstd's default and what Kafka's Java producer uses.
  compress: (data) => zlib.zstdCompressSync(data),
  // Streaming decompression: Java's zstd-jni output stream writes frames
  // without a content size, which a one-shot decoder could not size.
  decompress: wrapDecompress("zstd", (data) => zlib.zstdDecompressSync(data)),
};

/** Codecs by id. Replace an entry to tune levels or plug in another implementation. */
export class CompressionCodecRegistry {
  private readonly codecs = new Map<number, CompressionCodec>();

  constructor(codecs: Iterable<CompressionCodec> = []) {
    for (const c of codecs) this.register(c);
  }

  register(codec: CompressionCodec): this {
    if (!Number.isInteger(codec.id) || codec.id < 1 || codec.id > 7) {
      throw new RangeError(`compression codec id must be 1-7, got ${codec.id}`);
    }
    this.codecs.set(codec.id, codec);
    return this;
  }

  has(id: number): boolean {
    return this.codecs.has(id);
  }

  /** The codec for `id`; throws {@link UnsupportedCompressionError} when there is none. */
  get(id: number, baseOffset?: bigint): CompressionCodec {
    const codec = this.codecs.get(id);
    if (codec === undefined) throw new UnsupportedCompressionError(id, { baseOffset });
    return codec;
  }
}

/** gzip, snappy (xerial-framed), lz4 (Kafka's frame) and zstd. */
export const defaultCompressionCodecs: CompressionCodecRegistry = new CompressionCodecRegistry([
  gzipCodec,
  snappyCodec,
  lz4Codec,
  zstdCodec,
]);
