import { WireReader } from "@geo/kafka-wire";

/** One partition's offset commit as the group coordinator wrote it into `__consumer_offsets`. */
export interface OffsetCommitRecord {
  kind: "commit";
  group: string;
  topic: string;
  partition: number;
  offset: bigint;
  metadata: string;
  /** When the coordinator accepted the commit, ms since epoch. */
  commitTimestamp: number;
}

/** What a `__consumer_offsets` record is, as far as checkpoints care. */
export type ConsumerOffsetsRecord =
  | OffsetCommitRecord
  /** A tombstone: the commit was deleted (expired, or the group's offsets were deleted). */
  | { kind: "deleted"; group: string; topic: string; partition: number }
  /** Group metadata and the records of the new group protocols: nothing to checkpoint. */
  | { kind: "other"; keyType: number };

export class CommitRecordError extends Error {
  override readonly name = "CommitRecordError";
}

const malformed = (message: string) => new CommitRecordError(message);

/**
 * Decodes a record of `__consumer_offsets` (Kafka's group coordinator: the key starts with an
 * int16 record type, 0 and 1 being offset commits keyed by group, topic and partition; the value
 * with an int16 version, 0-3 classic encoding, 4 flexible). Throws CommitRecordError for a record
 * that does not parse, or an offset commit value of a version this code does not know.
 */
export function decodeConsumerOffsetsRecord(
  key: Buffer | null,
  value: Buffer | null,
): ConsumerOffsetsRecord {
  if (key === null) throw malformed("__consumer_offsets record without a key");
  const k = new WireReader(key, "__consumer_offsets key", malformed);
  const keyType = k.int16();
  if (keyType !== 0 && keyType !== 1) return { kind: "other", keyType };
  const group = k.string();
  const topic = k.string();
  const partition = k.int32();
  if (value === null) return { kind: "deleted", group, topic, partition };
  return { kind: "commit", group, topic, partition, ...decodeCommitValue(value) };
}

function decodeCommitValue(value: Buffer) {
  const r = new WireReader(value, "offset commit value", malformed);
  const version = r.int16();
  if (version < 0 || version > 4) {
    throw malformed(`offset commit value version ${version} is not known (0-4 are)`);
  }
  const offset = r.int64();
  if (version >= 3) r.int32(); // leader epoch
  const metadata = version >= 4 ? compactString(r) : r.string();
  const commitTimestamp = Number(r.int64());
  // v1's expire timestamp and v4's tagged fields follow; nothing of them is needed.
  return { offset, metadata, commitTimestamp };
}

/** A flexible version's COMPACT_STRING: unsigned varint length + 1, then UTF-8. */
function compactString(r: WireReader): string {
  const length = unsignedVarint(r) - 1;
  if (length < 0) throw malformed("offset commit value: null metadata");
  if (length > r.remaining) {
    throw malformed(`offset commit value: metadata of ${length} bytes in ${r.remaining}`);
  }
  const text = r.buf.toString("utf8", r.pos, r.pos + length);
  r.pos += length;
  return text;
}

function unsignedVarint(r: WireReader): number {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    const byte = r.int8() & 0xff;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return value;
  }
  throw malformed("offset commit value: varint longer than 5 bytes");
}
