import { describe, INT64_MAX, wholeNumber } from "./int64";
import { PositionError } from "./position-error";

declare const epochBrand: unique symbol;

/**
 * A fencing epoch: the number a unit's (or the leader's) lease was granted with. Writes carry
 * it, and a writer whose epoch is below the highest one seen is stale. A bigint at runtime (the
 * brand costs nothing), 0 … 2^63-1; 0 means "never granted". Make one with {@link toEpoch}, or
 * at an edge: `epochFromProto`, `epochFromScript`, `parseEpoch` (a decimal text field).
 */
export type Epoch = bigint & { readonly [epochBrand]: "Epoch" };

/** The epoch of a unit never granted. Every granted epoch is above it. */
export const NO_EPOCH = 0n as Epoch;

/** The epoch `value` holds (a bigint or a safe-integer number); INVALID_EPOCH otherwise. */
export function toEpoch(value: bigint | number, what = "epoch"): Epoch {
  return checked(value, what);
}

/** A decimal text field (a protobuf int64 carried as a string, a JSON record field) as an epoch. */
export function parseEpoch(text: string, what = "epoch"): Epoch {
  if (typeof text !== "string") throw invalid(what, text);
  return checked(text, what);
}

/** The text form `parseEpoch` reads back. */
export function formatEpoch(epoch: Epoch): string {
  return epoch.toString();
}

/** Ascending order: negative when `a` is the older epoch. */
export function compareEpochs(a: Epoch, b: Epoch): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The newer of two epochs. */
export function maxEpoch(a: Epoch, b: Epoch): Epoch {
  return a >= b ? a : b;
}

function checked(value: unknown, what: string): Epoch {
  const epoch = wholeNumber(value);
  if (epoch === undefined || epoch < 0n || epoch > INT64_MAX) throw invalid(what, value);
  return epoch as Epoch;
}

function invalid(what: string, value: unknown): PositionError {
  return new PositionError(
    "INVALID_EPOCH",
    `${what} must be a whole number from 0 to ${INT64_MAX}, got ${describe(value)}`,
  );
}
