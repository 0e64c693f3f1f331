import { CodedError } from "@geo/errors";
import { Metadata } from "@grpc/grpc-js";
import { Code, codeOfStatus, isRetriableCode, statusNumber } from "./code.js";

/** JSON-safe extra facts about an error, e.g. `{ field: "flow.name" }`. */
export type ErrorDetails = Readonly<Record<string, unknown>>;

/** Options of {@link GeoError}. */
export interface GeoErrorOptions {
  /** Whether the same call may succeed if repeated; defaults by code ({@link isRetriableCode}). */
  retriable?: boolean;
  /** Facts a client can act on, sent with the status (never the cause). */
  details?: ErrorDetails;
  /** The underlying error, kept for logs on this side only. */
  cause?: unknown;
}

// Trailer carrying what a gRPC status cannot: the retriable flag and details, as UTF-8 JSON.
const errorTrailer = "geo-error-bin";

/**
 * The one error type of gRPC calls, on both sides: a status code, a message meant for people, a
 * `retriable` flag and optional details. Handlers throw it; clients receive it. A
 * {@link CodedError} whose code is the gRPC status name.
 */
export class GeoError extends CodedError<Code> {
  readonly details: ErrorDetails | undefined;

  constructor(code: Code, message: string, options: GeoErrorOptions = {}) {
    super(code, message, {
      retriable: options.retriable ?? isRetriableCode(code),
      cause: options.cause,
    });
    this.details = options.details;
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

/** What grpc-js needs to send `error` as a status, with flag and details in a trailer. */
export function toGrpcStatus(error: GeoError): {
  code: number;
  details: string;
  metadata: Metadata;
} {
  const metadata = new Metadata();
  const extra = { retriable: error.retriable, details: error.details };
  metadata.set(errorTrailer, Buffer.from(JSON.stringify(extra), "utf8"));
  return { code: statusNumber(error.code), details: error.message, metadata };
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

function fromStatus(status: StatusError): GeoError {
  let retriable: boolean | undefined;
  let details: ErrorDetails | undefined;
  const raw =
    status.metadata instanceof Metadata ? status.metadata.get(errorTrailer)[0] : undefined;
  if (Buffer.isBuffer(raw)) {
    try {
      const extra = JSON.parse(raw.toString("utf8")) as { retriable?: unknown; details?: unknown };
      if (typeof extra.retriable === "boolean") retriable = extra.retriable;
      if (typeof extra.details === "object" && extra.details !== null) {
        details = extra.details as ErrorDetails;
      }
    } catch {
      // A malformed trailer only loses the extras; code and message still stand.
    }
  }
  const code = codeOfStatus(status.code) ?? Code.UNKNOWN;
  return new GeoError(code, status.details, { retriable, details, cause: status });
}
