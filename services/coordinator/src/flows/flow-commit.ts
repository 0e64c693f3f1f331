// One flow change written to the log and confirmed by reading the log back: only a change the
// log's order applied is reported done, so two coordinators briefly both leading cannot both
// succeed with the same version.
import { Code, GeoError, invalidArgument } from "@geo/grpc";
import type { Logger } from "@geo/logging";
import { encodeFlowChange, type FlowChange } from "./flow-changes";
import type { FlowLog } from "./flow-log";
import { errorText, type FlowState } from "./flow-state";

/**
 * Largest flow change record written: below Kafka's default 1 MB `message.max.bytes`, so the
 * store's cluster never has to refuse it (FLOW_LIMITS keeps valid flows far below this).
 */
export const MAX_CHANGE_BYTES = 900_000;

/** Stores `change` and confirms the log applied it; `state` then includes it. */
export async function commitFlowChange(
  state: FlowState,
  change: FlowChange,
  logger: Logger,
): Promise<void> {
  await append(state.log, change);
  await state.load();
  const after = state.apiFlows.get(change.flow);
  const applied =
    change.kind === "deleted"
      ? state.history.some((seen) => sameChange(seen, change))
      : after?.version === change.version && state.history.some((seen) => sameChange(seen, change));
  if (!applied) {
    throw new GeoError(
      Code.ABORTED,
      `flow "${change.flow}" was changed concurrently by another coordinator; read it again and retry`,
    );
  }
  logger.info(
    {
      flow: change.flow,
      version: String(change.version),
      kind: change.kind,
      actor: change.actor,
    },
    "flow changed",
  );
}

async function append(log: FlowLog, change: FlowChange): Promise<void> {
  const bytes = encodeFlowChange(change).length;
  if (bytes > MAX_CHANGE_BYTES) {
    throw invalidArgument(
      "flow",
      `the change would be stored as ${bytes} bytes, more than the flow store's limit of ${MAX_CHANGE_BYTES}: use fewer or shorter topic patterns`,
    );
  }
  try {
    await log.append(change);
  } catch (error) {
    if (isTooLarge(error)) {
      throw invalidArgument(
        "flow",
        `the flow store (${log.description}) refused the change as too large (${bytes} bytes): use fewer or shorter topic patterns, or raise the topic's max.message.bytes`,
      );
    }
    throw new GeoError(
      Code.UNAVAILABLE,
      `cannot write to the flow store (${log.description}): ${errorText(error)}; nothing was changed, retry`,
      { retriable: true, cause: error },
    );
  }
}

function sameChange(a: FlowChange, b: FlowChange): boolean {
  return (
    a.flow === b.flow &&
    a.version === b.version &&
    a.kind === b.kind &&
    a.actor === b.actor &&
    a.time.getTime() === b.time.getTime()
  );
}

/** Kafka's "message too large" (MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE), as kafkajs reports it. */
function isTooLarge(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    const type = (e as { type?: unknown }).type;
    if (type === "MESSAGE_TOO_LARGE" || type === "RECORD_LIST_TOO_LARGE") return true;
    if (/MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE|larger than the max message size/i.test(e.message))
      return true;
  }
  return false;
}
