import { CodedError } from "@geo/errors";

export type LeaseErrorCode =
  /** A caller passed a value the lease protocol cannot use (empty id, bad TTL...). */
  | "INVALID_ARGUMENT"
  /** Redis could not be reached or did not answer in time; the same call may succeed later. */
  | "REDIS_UNAVAILABLE"
  /** Redis answered with an error (script error, OOM, READONLY...). */
  | "REDIS_ERROR"
  /** A script answered something this version does not understand (a bug or a version skew). */
  | "UNEXPECTED_REPLY";

/** Why a lease operation failed. Refusals (unit held, lease lost) are results, not errors. */
export class LeaseError extends CodedError<LeaseErrorCode> {
  /** Retriable by default when Redis was unreachable. */
  constructor(
    code: LeaseErrorCode,
    message: string,
    options?: { cause?: unknown; retriable?: boolean },
  ) {
    super(code, message, {
      cause: options?.cause,
      retriable: options?.retriable ?? code === "REDIS_UNAVAILABLE",
    });
  }
}

// Redis replies that describe a transient state of the server rather than a wrong request.
const TRANSIENT_REPLY = /^(BUSY|LOADING|OOM|READONLY|TRYAGAIN|MASTERDOWN|CLUSTERDOWN|NOREPLICAS)\b/;

/**
 * Wraps an ioredis failure of `what` in a LeaseError. The ioredis error is kept as `cause` but its
 * message only is copied: ioredis errors can carry the command's arguments.
 */
export function toLeaseError(what: string, error: unknown): LeaseError {
  if (error instanceof LeaseError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && error.name === "ReplyError") {
    return new LeaseError("REDIS_ERROR", `${what}: Redis answered ${message}`, {
      cause: error,
      retriable: TRANSIENT_REPLY.test(message),
    });
  }
  return new LeaseError("REDIS_UNAVAILABLE", `${what}: ${message}`, { cause: error });
}
