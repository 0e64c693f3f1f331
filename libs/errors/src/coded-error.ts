/** Options of {@link CodedError}. */
export interface CodedErrorOptions {
  /** Whether the same operation may succeed if tried again; default false. */
  retriable?: boolean | undefined;
  /** The underlying error, kept for logs on this side only. */
  cause?: unknown;
}

/** Shape of a stable error code: upper snake case, as gRPC's `ErrorInfo.reason` wants it. */
export const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9_]+[A-Z0-9]$/;

/**
 * The base of every error this system throws on purpose. One code scheme throughout: `code` is a
 * stable upper-snake-case name (`PORT_IN_USE`, `REDIS_UNAVAILABLE`, `INVALID_ARGUMENT`) callers
 * branch on without parsing messages, and at the gRPC edge it becomes `ErrorInfo.reason`.
 * `retriable` says whether the same operation may succeed if tried again; `cause` is the
 * underlying error, for logs. Each library keeps its own subclass with its own codes.
 */
export class CodedError<C extends string = string> extends Error {
  readonly code: C;
  readonly retriable: boolean;

  constructor(code: C, message: string, options: CodedErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/**
 * True for a CodedError, also one from another copy of this package (a string `code` and a
 * boolean `retriable` on an Error).
 */
export function isCodedError(value: unknown): value is CodedError {
  if (value instanceof CodedError) return true;
  if (!(value instanceof Error)) return false;
  const candidate = value as { code?: unknown; retriable?: unknown };
  return typeof candidate.code === "string" && typeof candidate.retriable === "boolean";
}
