// MirrorMaker 2's heartbeat record (connect/mirror-client Heartbeat.java), so that MM2's
// MirrorClient and RemoteClusterUtils read our heartbeats topics as theirs: big-endian, a string
// is an INT16 byte length then UTF-8.
//   key   = (sourceClusterAlias: string, targetClusterAlias: string)
//   value = (version: int16 = 0, timestamp: int64 ms)

export interface Heartbeat {
  readonly sourceClusterAlias: string;
  readonly targetClusterAlias: string;
  /** Write time at the source, ms since the epoch. */
  readonly timestamp: number;
}

const VERSION = 0;

export function encodeHeartbeatKey(source: string, target: string): Buffer {
  return Buffer.concat([encodeString(source), encodeString(target)]);
}

export function encodeHeartbeatValue(timestamp: number): Buffer {
  const value = Buffer.alloc(10);
  value.writeInt16BE(VERSION, 0);
  value.writeBigInt64BE(BigInt(timestamp), 2);
  return value;
}

/** The heartbeat in a record, or undefined when the record is not one (wrong size or version). */
export function decodeHeartbeat(key: Buffer | null, value: Buffer | null): Heartbeat | undefined {
  if (key === null || value === null || value.length !== 10) return undefined;
  if (value.readInt16BE(0) !== VERSION) return undefined;
  const source = decodeString(key, 0);
  const target = source === undefined ? undefined : decodeString(key, source.next);
  if (source === undefined || target === undefined || target.next !== key.length) return undefined;
  return {
    sourceClusterAlias: source.text,
    targetClusterAlias: target.text,
    timestamp: Number(value.readBigInt64BE(2)),
  };
}

function encodeString(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  const length = Buffer.alloc(2);
  length.writeInt16BE(bytes.length, 0);
  return Buffer.concat([length, bytes]);
}

function decodeString(buffer: Buffer, at: number): { text: string; next: number } | undefined {
  if (at + 2 > buffer.length) return undefined;
  const length = buffer.readInt16BE(at);
  if (length < 0 || at + 2 + length > buffer.length) return undefined;
  return { text: buffer.toString("utf8", at + 2, at + 2 + length), next: at + 2 + length };
}
