import { convertOr, type Epoch, epochFromScript, epochToScript } from "@geo/positions";
import { LeaseError } from "./lease-error";

const MAX_ID_LENGTH = 1024;

export function checkId(what: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new LeaseError(
      "INVALID_ARGUMENT",
      `${what} must be a non-empty string of at most ${MAX_ID_LENGTH} characters, got ${describe(value)}`,
    );
  }
  return value;
}

export function checkInt(what: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new LeaseError(
      "INVALID_ARGUMENT",
      `${what} must be a whole number from ${min} to ${max}, got ${describe(value)}`,
    );
  }
  return value;
}

/** Longest lease TTL accepted: one day, far above any sane lease. */
export const MAX_TTL_MS = 86_400_000;

export function checkTtl(what: string, value: unknown): number {
  return checkInt(what, value, 1, MAX_TTL_MS);
}

/** An epoch as a script argument; INVALID_ARGUMENT when it is not one Redis holds exactly. */
export function checkEpoch(what: string, value: Epoch): string {
  return convertOr(
    () => epochToScript(value, what),
    (cause) => new LeaseError("INVALID_ARGUMENT", cause.message, { cause }),
  );
}

/** An epoch in a script's reply; UNEXPECTED_REPLY when it is not one. */
export function replyEpoch(what: string, reply: unknown): Epoch {
  return convertOr(
    () => epochFromScript(reply, what),
    (cause) => new LeaseError("UNEXPECTED_REPLY", cause.message, { cause }),
  );
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, 60));
  return String(value);
}
