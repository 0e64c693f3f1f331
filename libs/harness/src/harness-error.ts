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

export class HarnessError extends Error {
  readonly code: HarnessErrorCode;

  constructor(code: HarnessErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HarnessError";
    this.code = code;
  }
}
