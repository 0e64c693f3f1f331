import { CodedError } from "@geo/errors";

/** Why a harness operation failed; stable so callers can branch without parsing messages. */
export type HarnessErrorCode =
  | "JARS_UNAVAILABLE"
  | "JARS_LOCK_TIMEOUT"
  | "PORT_IN_USE"
  | "START_FAILED"
  | "START_TIMEOUT"
  | "FORMAT_FAILED"
  | "UNKNOWN_BROKER"
  | "ALREADY_STOPPED"
  | "REDIS_UNAVAILABLE"
  | "PROMETHEUS_UNAVAILABLE"
  | "TOOL_TIMEOUT";

/** Not retriable by default: the harness retries what it can (ports, locks) itself. */
export class HarnessError extends CodedError<HarnessErrorCode> {}
