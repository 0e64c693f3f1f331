/**
 * gRPC status codes, with the numbers of the gRPC specification, so that services never import
 * grpc-js to say what went wrong.
 */
export enum Code {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/** `INVALID_ARGUMENT` for 3; `CODE_<n>` for numbers outside the specification. */
export function codeName(code: Code): string {
  return Code[code] ?? `CODE_${code}`;
}

/** Whether `value` is one of the specified status code numbers. */
export function isCode(value: unknown): value is Code {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 16;
}

// Transient conditions that the same call can succeed after: the server or a dependency is
// briefly away, overloaded, out of time, or lost a race (ABORTED: re-read, then retry).
const retriableCodes: ReadonlySet<Code> = new Set([
  Code.UNAVAILABLE,
  Code.DEADLINE_EXCEEDED,
  Code.RESOURCE_EXHAUSTED,
  Code.ABORTED,
]);

/** The default `retriable` flag of an error with this code. */
export function isRetriableCode(code: Code): boolean {
  return retriableCodes.has(code);
}
