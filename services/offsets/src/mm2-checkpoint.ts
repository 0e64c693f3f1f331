// MirrorMaker 2's checkpoint records (org.apache.kafka.connect.mirror.Checkpoint), byte for byte,
// so that RemoteClusterUtils.translateOffsets and MM2 tooling read what this service writes.
// Big-endian; a string is an INT16 byte length then UTF-8.
//   key   = group: string, topic: string (the TARGET-side name), partition: int32
//   value = version: int16 (0), upstreamOffset: int64, offset: int64, metadata: string

import { CodedError } from "@geo/errors";
import { WireReader } from "@geo/kafka-wire";
import { convertOr, type Offset, toOffset } from "@geo/positions";

export interface Mm2Checkpoint {
  group: string;
  /** Remote (target-side) topic name. */
  topic: string;
  partition: number;
  upstreamOffset: Offset;
  downstreamOffset: Offset;
  metadata: string;
}

/** A record that is not a version-0 checkpoint. */
export class CheckpointFormatError extends CodedError<"CHECKPOINT_FORMAT"> {
  constructor(message: string) {
    super("CHECKPOINT_FORMAT", message);
  }
}

function stringSize(s: string): number {
  return 2 + Buffer.byteLength(s, "utf8");
}

function writeString(buf: Buffer, at: number, s: string): number {
  const len = Buffer.byteLength(s, "utf8");
  if (len > 0x7fff) throw new CheckpointFormatError(`string of ${len} bytes is too long`);
  buf.writeInt16BE(len, at);
  buf.write(s, at + 2, len, "utf8");
  return at + 2 + len;
}

export function encodeCheckpointKey(c: Pick<Mm2Checkpoint, "group" | "topic" | "partition">) {
  const buf = Buffer.alloc(stringSize(c.group) + stringSize(c.topic) + 4);
  let at = writeString(buf, 0, c.group);
  at = writeString(buf, at, c.topic);
  buf.writeInt32BE(c.partition, at);
  return buf;
}

export function encodeCheckpointValue(
  c: Pick<Mm2Checkpoint, "upstreamOffset" | "downstreamOffset" | "metadata">,
): Buffer {
  const buf = Buffer.alloc(2 + 8 + 8 + stringSize(c.metadata));
  buf.writeInt16BE(0, 0);
  buf.writeBigInt64BE(c.upstreamOffset, 2);
  buf.writeBigInt64BE(c.downstreamOffset, 10);
  writeString(buf, 18, c.metadata);
  return buf;
}

/** Kafka's classic encoding, the one MM2's Struct schemas write. */
function reader(buf: Buffer, what: string): WireReader {
  return new WireReader(buf, what, (message) => new CheckpointFormatError(message));
}

export function decodeCheckpoint(key: Buffer | null, value: Buffer | null): Mm2Checkpoint {
  if (key === null || value === null) throw new CheckpointFormatError("null key or value");
  const k = reader(key, "checkpoint key");
  const group = k.string();
  const topic = k.string();
  const partition = k.int32();
  const v = reader(value, "checkpoint value");
  const version = v.int16();
  if (version !== 0) throw new CheckpointFormatError(`unknown checkpoint version ${version}`);
  return {
    group,
    topic,
    partition,
    upstreamOffset: offsetField(v.int64(), "upstreamOffset"),
    downstreamOffset: offsetField(v.int64(), "offset"),
    metadata: v.string(),
  };
}

function offsetField(value: bigint, what: string): Offset {
  return convertOr(
    () => toOffset(value, what),
    (error) => new CheckpointFormatError(error.message),
  );
}
