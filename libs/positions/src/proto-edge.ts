// The one place epochs and offsets cross into and out of protobuf messages, where every int64
// is a decimal string (`jstype = JS_STRING`). Requests from clients are checked with these too,
// after @geo/grpc's requireInt64 has named the field in a BadRequest.
import { type Epoch, formatEpoch, parseEpoch } from "./epoch";
import { formatOffset, type Offset, parseOffset, parseOffsetOrNone } from "./offset";

/** An int64 epoch field; INVALID_EPOCH when it is negative or not a number. */
export function epochFromProto(value: string, field: string): Epoch {
  return parseEpoch(value, field);
}

export function epochToProto(epoch: Epoch): string {
  return formatEpoch(epoch);
}

/** An int64 offset field; INVALID_OFFSET when it is negative or not a number. */
export function offsetFromProto(value: string, field: string): Offset {
  return parseOffset(value, field);
}

/** An int64 offset field that says "-1" for none. */
export function offsetOrNoneFromProto(value: string, field: string): Offset {
  return parseOffsetOrNone(value, field);
}

export function offsetToProto(offset: Offset): string {
  return formatOffset(offset);
}
