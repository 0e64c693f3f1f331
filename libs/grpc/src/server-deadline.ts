import { Code } from "./code.js";
import { GeoError } from "./geo-error.js";

/**
 * Aborts a call's handler signal with DEADLINE_EXCEEDED when its deadline passes, enforced by
 * the server rather than trusted to the client: a unary call ends at its deadline, or at
 * `maxUnaryCallMs` when it has none or a later one; a stream only at a deadline it was given.
 * Returns the function that cancels the timer when the call ends first.
 */
export function enforceDeadline(options: {
  readonly controller: AbortController;
  /** "service/Method", for the message. */
  readonly what: string;
  readonly deadline: Date | undefined;
  readonly streaming: boolean;
  readonly maxUnaryCallMs: number;
}): () => void {
  const { deadline, streaming, maxUnaryCallMs } = options;
  const untilDeadline = deadline === undefined ? undefined : deadline.getTime() - Date.now();
  const limitMs = streaming
    ? untilDeadline
    : Math.min(untilDeadline ?? maxUnaryCallMs, maxUnaryCallMs);
  if (limitMs === undefined) return () => {};
  const timer = setTimeout(
    () =>
      options.controller.abort(
        new GeoError(Code.DEADLINE_EXCEEDED, `deadline of ${options.what} exceeded`),
      ),
    Math.max(0, limitMs),
  );
  timer.unref();
  return () => clearTimeout(timer);
}
