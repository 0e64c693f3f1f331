/**
 * The Kafka error code name (`TOPIC_AUTHORIZATION_FAILED`, …) of a kafkajs error, looked up
 * through the wrappers kafkajs puts around it (retries, per-broker errors); the message when none
 * carries a code.
 */
export function kafkaErrorType(error: unknown): string {
  const e = error as {
    type?: string;
    cause?: unknown;
    originalError?: unknown;
    errors?: unknown[];
  };
  if (typeof e.type === "string" && e.type !== "UNKNOWN") return e.type;
  for (const inner of [e.cause, e.originalError, ...(e.errors ?? [])]) {
    if (inner !== undefined) return kafkaErrorType(inner);
  }
  return String((error as Error).message);
}
