import { KafkaWireError, OffsetOutOfRangeError } from "@geo/kafka-wire";
import { RecordBatchError } from "@geo/record-batch";
import type { FlowSpecLike } from "./types";

/** What a unit does about a fetch result it cannot copy. */
export type FetchErrorAction =
  | { kind: "backoff"; reason: string }
  | { kind: "fail"; reason: string; code: string }
  /** Out of range, by the flow's policy: go on from `to` (the log's start or end). */
  | { kind: "jump"; reason: string; from: bigint; to: bigint; policy: "earliest" | "latest" };

/**
 * A fetch error: retriable ones back off, an offset out of range follows the flow's
 * onOffsetOutOfRange (fail, or jump to the log's start or end), others stop the unit.
 */
export function fetchErrorAction(
  err: KafkaWireError | RecordBatchError,
  policy: FlowSpecLike["onOffsetOutOfRange"],
  topic: string,
  partition: number,
): FetchErrorAction {
  if (err instanceof OffsetOutOfRangeError) return outOfRangeAction(err, policy, topic, partition);
  const retriable =
    err instanceof KafkaWireError || err instanceof RecordBatchError ? err.retriable : false;
  if (retriable) return { kind: "backoff", reason: `fetching from the source: ${err.message}` };
  return { kind: "fail", reason: `source: ${err.message}`, code: err.code };
}

function outOfRangeAction(
  err: OffsetOutOfRangeError,
  policy: FlowSpecLike["onOffsetOutOfRange"],
  topic: string,
  partition: number,
): FetchErrorAction {
  const what = `source offset ${err.fetchOffset} of ${topic}-${partition} is out of range (log start ${err.logStartOffset}, high watermark ${err.highWatermark})`;
  if (policy === "fail") {
    return {
      kind: "fail",
      reason: `${what}; onOffsetOutOfRange=fail`,
      code: "OFFSET_OUT_OF_RANGE",
    };
  }
  const to = policy === "earliest" ? err.logStartOffset : err.highWatermark;
  if (to < 0n) {
    return { kind: "backoff", reason: `${what}; the log's bounds could not be listed, retrying` };
  }
  return {
    kind: "jump",
    reason: `${what}; jumped to ${to} (onOffsetOutOfRange=${policy})`,
    from: err.fetchOffset,
    to,
    policy,
  };
}

/** A source batch that cannot be decoded: retried when the error says so, else the unit stops. */
export function batchErrorAction(e: unknown): FetchErrorAction {
  const err = e as RecordBatchError;
  if (err instanceof RecordBatchError && err.retriable) {
    return { kind: "backoff", reason: `decoding a source batch: ${err.message}` };
  }
  return {
    kind: "fail",
    reason: `decoding a source batch: ${(e as Error)?.message ?? String(e)}`,
    code: err?.code ?? "INVALID_RECORD",
  };
}
