import { CodedError } from "@geo/errors";

export type PositionErrorCode =
  /** Not a fencing epoch: not a whole number, negative, or beyond int64 (or what Redis holds). */
  | "INVALID_EPOCH"
  /** Not a Kafka offset: not a whole number, negative (other than a "none" -1), or beyond int64. */
  | "INVALID_OFFSET";

/** A value that cannot be an epoch or an offset; never retriable: the same value fails again. */
export class PositionError extends CodedError<PositionErrorCode> {
  constructor(code: PositionErrorCode, message: string) {
    super(code, message, { retriable: false });
  }
}

/**
 * `convert()`, with a PositionError it throws replaced by `wrap(error)`: how an edge reports a
 * bad epoch or offset as its own kind of error (a Redis reply it does not understand, a record
 * in an unknown format). Other errors pass unchanged.
 */
export function convertOr<T>(convert: () => T, wrap: (error: PositionError) => Error): T {
  try {
    return convert();
  } catch (error) {
    throw error instanceof PositionError ? wrap(error) : error;
  }
}
