import { CodedError, ERROR_CODE_PATTERN, isCodedError } from "@geo/errors";
import { Metadata } from "@grpc/grpc-js";
import { Code, codeOfStatus, isRetriableCode, statusNumber } from "./code.js";
import {
  decodeStatusDetails,
  ERROR_DOMAIN,
  encodeStatusDetails,
  type FieldViolation,
  STATUS_DETAILS_TRAILER,
} from "./rich-status.js";

/**
 * Extra facts about an error, e.g. `{ flow: "orders" }`. Sent as `ErrorInfo.metadata`, whose
 * values are strings: a string goes as is, anything else as JSON; clients receive strings.
 */
export type ErrorDetails = Readonly<Record<string, unknown>>;

/** Options of {@link GeoError}. */
export interface GeoErrorOptions {
  /** Whether the same call may succeed if repeated; defaults by code ({@link isRetriableCode}). */
  retriable?: boolean;
  /** Facts a client can act on, sent with the status (never the cause). */
  details?: ErrorDetails;
  /**
   * `ErrorInfo.reason`, upper snake case: the specific cause. Default: the code of a
   * {@link CodedError} cause (`REDIS_UNAVAILABLE`), else the status code's name.
   */
  reason?: string;
  /** Invalid request fields, sent as `BadRequest` (INVALID_ARGUMENT). */
  fieldViolations?: readonly FieldViolation[];
  /** How long a client should wait before retrying, sent as `RetryInfo` when retriable. */
  retryDelayMs?: number;
  /** The underlying error, kept for logs on this side only. */
  cause?: unknown;
}

/** `RetryInfo.retry_delay` of a retriable error that does not say how long to wait. */
export const DEFAULT_RETRY_DELAY_MS = 1000;

/**
 * The one error type of gRPC calls, on both sides: a status code, a message meant for people, a
 * `retriable` flag and optional details. Handlers throw it; clients receive it. A
 * {@link CodedError} whose code is the gRPC status name.
 */
export class GeoError extends CodedError<Code> {
  /** `ErrorInfo.reason`: the specific cause, upper snake case. */
  readonly reason: string;
  readonly details: ErrorDetails | undefined;
  /** The invalid request fields (`BadRequest`); empty for other errors. */
  readonly fieldViolations: readonly FieldViolation[];
  /** `RetryInfo.retry_delay`, when the server (or the thrower) said. */
  readonly retryDelayMs: number | undefined;

  constructor(code: Code, message: string, options: GeoErrorOptions = {}) {
    super(code, message, {
      retriable: options.retriable ?? isRetriableCode(code),
      cause: options.cause,
    });
    this.reason = options.reason ?? reasonOf(options.cause) ?? code;
    this.details = options.details;
    this.fieldViolations = options.fieldViolations ?? [];
    this.retryDelayMs = options.retryDelayMs;
  }

  /** The code's name, e.g. `INVALID_ARGUMENT`. */
  get codeName(): string {
    return this.code;
  }

  override toString(): string {
    return `${this.name} [${this.codeName}]: ${this.message}`;
  }

  /**
   * Turns anything caught into a GeoError:
   * - a GeoError is returned as is;
   * - a grpc-js status error (client side) keeps its code, message, retriable flag and details;
   * - `AbortError` becomes CANCELLED and `TimeoutError` DEADLINE_EXCEEDED;
   * - another error flagged `retriable: true` (kafkajs, our libs) becomes UNAVAILABLE;
   * - anything else becomes INTERNAL. Its message is kept, its stack never leaves the process.
   */
  static from(reason: unknown): GeoError {
    if (reason instanceof GeoError) return reason;
    if (isStatusError(reason)) return fromStatus(reason);
    if (reason instanceof Error) {
      if (reason.name === "AbortError") {
        return new GeoError(Code.CANCELLED, reason.message, { cause: reason });
      }
      if (reason.name === "TimeoutError") {
        return new GeoError(Code.DEADLINE_EXCEEDED, reason.message, { cause: reason });
      }
      if ((reason as { retriable?: unknown }).retriable === true) {
        return new GeoError(Code.UNAVAILABLE, reason.message, { retriable: true, cause: reason });
      }
      return new GeoError(Code.INTERNAL, `internal error: ${reason.message}`, { cause: reason });
    }
    return new GeoError(Code.INTERNAL, `internal error: ${String(reason)}`, { cause: reason });
  }
}

// The code of a CodedError cause, when it has the shape ErrorInfo.reason requires.
function reasonOf(cause: unknown): string | undefined {
  if (cause instanceof GeoError) return cause.reason;
  return isCodedError(cause) && ERROR_CODE_PATTERN.test(cause.code) ? cause.code : undefined;
}

function metadataOf(details: ErrorDetails | undefined): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(details ?? {})) {
    if (value === undefined) continue;
    metadata[key] =
      typeof value === "string"
        ? value
        : JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v));
  }
  return metadata;
}

/**
 * What grpc-js needs to send `error` as a status, with the standard rich error model in the
 * `grpc-status-details-bin` trailer: ErrorInfo always, BadRequest for field violations,
 * RetryInfo when retriable.
 */
export function toGrpcStatus(error: GeoError): {
  code: number;
  details: string;
  metadata: Metadata;
} {
  const code = statusNumber(error.code);
  const encoded = encodeStatusDetails(
    { code, message: error.message },
    {
      reason: error.reason,
      domain: ERROR_DOMAIN,
      metadata: metadataOf(error.details),
      fieldViolations: error.fieldViolations,
      retryDelayMs: error.retriable ? (error.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS) : undefined,
    },
  );
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_TRAILER, Buffer.from(encoded));
  return { code, details: error.message, metadata };
}

interface StatusError {
  code: number;
  details: string;
  metadata?: Metadata;
}

function isStatusError(value: unknown): value is StatusError {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<StatusError>;
  return (
    typeof candidate.code === "number" &&
    codeOfStatus(candidate.code) !== undefined &&
    typeof candidate.details === "string"
  );
}

// A status without the trailer (a foreign server, a transport failure) maps by code alone.
function fromStatus(status: StatusError): GeoError {
  const code = codeOfStatus(status.code) ?? Code.UNKNOWN;
  const raw =
    status.metadata instanceof Metadata
      ? status.metadata.get(STATUS_DETAILS_TRAILER)[0]
      : undefined;
  const decoded = Buffer.isBuffer(raw) ? decodeStatusDetails(raw) : undefined;
  if (decoded === undefined) return new GeoError(code, status.details, { cause: status });
  return new GeoError(code, status.details, {
    retriable: decoded.retryDelayMs !== undefined,
    retryDelayMs: decoded.retryDelayMs,
    reason: decoded.reason === "" ? undefined : decoded.reason,
    details: Object.keys(decoded.metadata).length === 0 ? undefined : decoded.metadata,
    fieldViolations: decoded.fieldViolations,
    cause: status,
  });
}
