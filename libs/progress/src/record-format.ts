// Wire format of the records in __geo.progress and __geo.offset-map (see README.md): UTF-8 JSON
// keys and values, 64-bit numbers as decimal strings, a version field "v" in every value.
// The one place epochs and offsets are read from and written to these records.
import { CodedError } from "@geo/errors";
import {
  convertOr,
  type Epoch,
  formatEpoch,
  formatOffset,
  type Offset,
  parseEpoch,
  parseOffset,
  parseOffsetOrNone,
} from "@geo/positions";
import type { OffsetMapSegment, SegmentKey, UnitKey, UnitProgress } from "./unit";

export const FORMAT_VERSION = 1;

/** Thrown for a record this version cannot read; readers skip such records and count them. */
export class ProgressFormatError extends CodedError<"PROGRESS_FORMAT"> {
  constructor(message: string) {
    super("PROGRESS_FORMAT", message);
  }
}

// Keys are JSON arrays: deterministic bytes (compaction compares bytes) without any escaping
// convention of our own, and readable with any console tool.
export function progressKey(unit: UnitKey, epoch: Epoch): Buffer {
  return Buffer.from(
    JSON.stringify([unit.flow, unit.sourceTopic, unit.partition, formatEpoch(epoch)]),
  );
}

export function segmentKey(key: SegmentKey): Buffer {
  const u = key.unit;
  return Buffer.from(
    JSON.stringify([
      u.flow,
      u.sourceTopic,
      u.partition,
      formatEpoch(key.epoch),
      formatOffset(key.sourceStart),
    ]),
  );
}

export function encodeProgressValue(p: UnitProgress): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: FORMAT_VERSION,
      flow: p.flow,
      sourceTopic: p.sourceTopic,
      partition: p.partition,
      epoch: formatEpoch(p.epoch),
      nextSourceOffset: formatOffset(p.nextSourceOffset),
      lastTargetOffset: formatOffset(p.lastTargetOffset),
      agentId: p.agentId,
      time: p.time,
    }),
  );
}

export function encodeSegmentValue(s: OffsetMapSegment): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: FORMAT_VERSION,
      flow: s.unit.flow,
      sourceTopic: s.unit.sourceTopic,
      partition: s.unit.partition,
      epoch: formatEpoch(s.epoch),
      remoteTopic: s.remoteTopic,
      sourceStart: formatOffset(s.sourceStart),
      targetStart: formatOffset(s.targetStart),
      count: s.count.toString(),
      agentId: s.agentId,
      time: s.time,
    }),
  );
}

interface KeyParts {
  unit: UnitKey;
  epoch: Epoch;
  rest: unknown[];
}

function decodeKey(key: Buffer | null, length: number): KeyParts {
  if (key === null) throw new ProgressFormatError("record without a key");
  let parsed: unknown;
  try {
    parsed = JSON.parse(key.toString("utf8"));
  } catch {
    throw new ProgressFormatError("key is not JSON");
  }
  if (!Array.isArray(parsed) || parsed.length !== length) {
    throw new ProgressFormatError(`key is not a JSON array of ${length}`);
  }
  const [flow, sourceTopic, partition, epoch, ...rest] = parsed as unknown[];
  if (
    typeof flow !== "string" ||
    typeof sourceTopic !== "string" ||
    typeof partition !== "number" ||
    !Number.isInteger(partition) ||
    partition < 0
  ) {
    throw new ProgressFormatError("key does not name a unit");
  }
  return { unit: { flow, sourceTopic, partition }, epoch: field(parseEpoch, epoch, "epoch"), rest };
}

function int64(v: unknown, what: string): bigint {
  if (typeof v !== "string" || !/^-?\d{1,19}$/.test(v)) {
    throw new ProgressFormatError(`${what} is not a decimal int64 string`);
  }
  return BigInt(v);
}

/** An epoch or offset field, or the record is one this version cannot read. */
function field<T extends Epoch | Offset>(
  parse: (text: string, what: string) => T,
  v: unknown,
  what: string,
): T {
  return convertOr(
    () => parse(v as string, what),
    (error) => new ProgressFormatError(error.message),
  );
}

function parseValue(value: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString("utf8"));
  } catch {
    throw new ProgressFormatError("value is not JSON");
  }
  if (parsed === null || typeof parsed !== "object") {
    throw new ProgressFormatError("value is not a JSON object");
  }
  const v = parsed as Record<string, unknown>;
  if (v.v !== FORMAT_VERSION) throw new ProgressFormatError(`unknown format version ${v.v}`);
  return v;
}

/** A progress record: its key's unit and epoch, and the progress (null for a tombstone). */
export function decodeProgressRecord(
  key: Buffer | null,
  value: Buffer | null,
): { unit: UnitKey; epoch: Epoch; progress: UnitProgress | null } {
  const k = decodeKey(key, 4);
  if (value === null) return { unit: k.unit, epoch: k.epoch, progress: null };
  const v = parseValue(value);
  return {
    unit: k.unit,
    epoch: k.epoch,
    progress: {
      // The key is authoritative for what compaction groups by.
      ...k.unit,
      epoch: k.epoch,
      nextSourceOffset: field(parseOffset, v.nextSourceOffset, "nextSourceOffset"),
      lastTargetOffset: field(parseOffsetOrNone, v.lastTargetOffset, "lastTargetOffset"),
      agentId: typeof v.agentId === "string" ? v.agentId : "",
      time: typeof v.time === "number" ? v.time : 0,
    },
  };
}

export function decodeSegmentRecord(
  key: Buffer | null,
  value: Buffer | null,
): { key: SegmentKey; segment: OffsetMapSegment | null } {
  const k = decodeKey(key, 5);
  const segKey = {
    unit: k.unit,
    epoch: k.epoch,
    sourceStart: field(parseOffset, k.rest[0], "sourceStart"),
  };
  if (value === null) return { key: segKey, segment: null };
  const v = parseValue(value);
  const count = int64(v.count, "count");
  if (count <= 0n) throw new ProgressFormatError("segment count must be positive");
  return {
    key: segKey,
    segment: {
      unit: k.unit,
      epoch: k.epoch,
      sourceStart: segKey.sourceStart,
      remoteTopic: typeof v.remoteTopic === "string" ? v.remoteTopic : "",
      targetStart: field(parseOffset, v.targetStart, "targetStart"),
      count,
      agentId: typeof v.agentId === "string" ? v.agentId : "",
      time: typeof v.time === "number" ? v.time : 0,
    },
  };
}
