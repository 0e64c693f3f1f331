import { describe, INT64_MAX, wholeNumber } from "./int64";
import { PositionError } from "./position-error";

declare const offsetBrand: unique symbol;

/**
 * A Kafka offset: 0 … 2^63-1, or {@link NO_OFFSET} where a field says "none". A bigint at
 * runtime (the brand costs nothing). Make one with {@link toOffset}, or at an edge:
 * `offsetFromProto`, `parseOffset` (a decimal text field). Arithmetic on offsets gives plain
 * bigints: {@link asOffset} names the result an offset again without a check, for the paths
 * that run per batch.
 */
export type Offset = bigint & { readonly [offsetBrand]: "Offset" };

/** "No offset" in fields that allow it (e.g. the last target offset of a unit that wrote none). */
export const NO_OFFSET = -1n as Offset;

/** The offset `value` holds (a bigint or a safe-integer number), at least 0; INVALID_OFFSET otherwise. */
export function toOffset(value: bigint | number, what = "offset"): Offset {
  return checked(value, what, 0n);
}

/** As {@link toOffset}, but also {@link NO_OFFSET} (-1). */
export function toOffsetOrNone(value: bigint | number, what = "offset"): Offset {
  return checked(value, what, -1n);
}

/** A decimal text field (a protobuf int64 carried as a string, a JSON record field) as an offset. */
export function parseOffset(text: string, what = "offset"): Offset {
  if (typeof text !== "string") throw invalid(what, text, 0n);
  return checked(text, what, 0n);
}

/** As {@link parseOffset}, but also "-1" ({@link NO_OFFSET}). */
export function parseOffsetOrNone(text: string, what = "offset"): Offset {
  if (typeof text !== "string") throw invalid(what, text, -1n);
  return checked(text, what, -1n);
}

/** The text form `parseOffset` reads back. */
export function formatOffset(offset: Offset): string {
  return offset.toString();
}

/**
 * `value` named an offset, unchecked: for the result of arithmetic on offsets that are already
 * valid, in paths where a check per call would cost. Returns its argument (no allocation).
 */
export function asOffset(value: bigint): Offset {
  return value as Offset;
}

function checked(value: unknown, what: string, min: bigint): Offset {
  const offset = wholeNumber(value);
  if (offset === undefined || offset < min || offset > INT64_MAX) throw invalid(what, value, min);
  return offset as Offset;
}

function invalid(what: string, value: unknown, min: bigint): PositionError {
  return new PositionError(
    "INVALID_OFFSET",
    `${what} must be a whole number from ${min} to ${INT64_MAX}, got ${describe(value)}`,
  );
}
