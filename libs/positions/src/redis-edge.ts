// The one place epochs cross into and out of Redis Lua scripts. Lua 5.1 holds every number as a
// double, and the scripts add 1 to the highest epoch they know, so an epoch that goes into Redis
// stays at most 2^53 - 2; the scripts answer epochs as integer strings (their int() helper).
import type { Epoch } from "./epoch";
import { describe, wholeNumber } from "./int64";
import { PositionError } from "./position-error";

/** The highest epoch a script may be given: its successor is still an exact double. */
export const MAX_SCRIPT_EPOCH = BigInt(Number.MAX_SAFE_INTEGER - 1);

/** An epoch as a script argument (ARGV); INVALID_EPOCH when it is not one Redis can hold exactly. */
export function epochToScript(epoch: Epoch, what = "epoch"): string {
  if (typeof epoch !== "bigint" || epoch < 0n || epoch > MAX_SCRIPT_EPOCH) {
    throw new PositionError(
      "INVALID_EPOCH",
      `${what} must be a bigint from 0 to ${MAX_SCRIPT_EPOCH} (what Redis holds exactly), got ${describe(epoch)}`,
    );
  }
  return epoch.toString();
}

/** An epoch as a number in JSON a script decodes (cjson) and compares; exact up to MAX_SCRIPT_EPOCH. */
export function epochToScriptNumber(epoch: Epoch, what = "epoch"): number {
  return Number(epochToScript(epoch, what));
}

/**
 * An epoch in a script's reply, a stored hash field or JSON a script wrote: an integer string
 * or a number. INVALID_EPOCH for anything else: a script this version does not understand.
 */
export function epochFromScript(reply: unknown, what = "epoch"): Epoch {
  const epoch = wholeNumber(reply);
  if (epoch === undefined || epoch < 0n || epoch > MAX_SCRIPT_EPOCH + 1n) {
    throw new PositionError(
      "INVALID_EPOCH",
      `${what} in a Redis reply is ${describe(reply)}, not an epoch`,
    );
  }
  return epoch as Epoch;
}
