/**
 * gRPC status codes by name, so that services never import grpc-js to say what went wrong. The
 * value is the name (`Code.INVALID_ARGUMENT === "INVALID_ARGUMENT"`): the same upper-snake-case
 * code scheme as every other error of the system (`@geo/errors`). The wire numbers of the gRPC
 * specification are converted in one place, {@link statusNumber} and {@link codeOfStatus}.
 */
export enum Code {
  OK = "OK",
  CANCELLED = "CANCELLED",
  UNKNOWN = "UNKNOWN",
  INVALID_ARGUMENT = "INVALID_ARGUMENT",
  DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED",
  NOT_FOUND = "NOT_FOUND",
  ALREADY_EXISTS = "ALREADY_EXISTS",
  PERMISSION_DENIED = "PERMISSION_DENIED",
  RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED",
  FAILED_PRECONDITION = "FAILED_PRECONDITION",
  ABORTED = "ABORTED",
  OUT_OF_RANGE = "OUT_OF_RANGE",
  UNIMPLEMENTED = "UNIMPLEMENTED",
  INTERNAL = "INTERNAL",
  UNAVAILABLE = "UNAVAILABLE",
  DATA_LOSS = "DATA_LOSS",
  UNAUTHENTICATED = "UNAUTHENTICATED",
}

// Index = the status number of the gRPC specification.
const byNumber: readonly Code[] = [
  Code.OK,
  Code.CANCELLED,
  Code.UNKNOWN,
  Code.INVALID_ARGUMENT,
  Code.DEADLINE_EXCEEDED,
  Code.NOT_FOUND,
  Code.ALREADY_EXISTS,
  Code.PERMISSION_DENIED,
  Code.RESOURCE_EXHAUSTED,
  Code.FAILED_PRECONDITION,
  Code.ABORTED,
  Code.OUT_OF_RANGE,
  Code.UNIMPLEMENTED,
  Code.INTERNAL,
  Code.UNAVAILABLE,
  Code.DATA_LOSS,
  Code.UNAUTHENTICATED,
];
const numbers = new Map(byNumber.map((code, index) => [code, index]));

/** The wire number of `code` (3 for INVALID_ARGUMENT). */
export function statusNumber(code: Code): number {
  return numbers.get(code) ?? 2;
}

/** The code of a wire status number; undefined outside the specification. */
export function codeOfStatus(status: number): Code | undefined {
  return byNumber[status];
}

/** The code's name, `INVALID_ARGUMENT`. */
export function codeName(code: Code): string {
  return code;
}

/** Whether `value` is one of the specified status codes (a name, as Code values are). */
export function isCode(value: unknown): value is Code {
  return typeof value === "string" && numbers.has(value as Code);
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
