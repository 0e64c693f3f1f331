// kafkajs 2.2.4 re-arms every connection's pending-request check after each response, even with
// nothing pending, and with a negative delay (`throttledUntil` starts at -1), which Node turns
// into 1 ms: about a thousand timer wake-ups a second per connection for as long as the process
// lives. That is a few percent of a core on an idle agent, and the TimeoutNegativeWarning lines
// Node 24 prints (tulios/kafkajs#1704 and #1751; fixes proposed, none merged). With nothing
// pending there is nothing to check: the next push or response checks again. With requests
// pending (in-flight limit, broker throttling) kafkajs's own scheduling is kept.

interface RequestQueueLike {
  pending: unknown[];
  scheduleCheckPendingRequests(): void;
}

const FIXED_VERSION = "2.2.4";
let applied: boolean | undefined;

/** Applies the fix once per process; false when the installed kafkajs is not the one it fits. */
export function fixKafkajsRequestQueue(): boolean {
  if (applied !== undefined) return applied;
  const { version } = require("kafkajs/package.json") as { version: string };
  applied = version === FIXED_VERSION;
  if (!applied) return false;
  const RequestQueue = require("kafkajs/src/network/requestQueue") as {
    prototype: RequestQueueLike;
  };
  const schedule = RequestQueue.prototype.scheduleCheckPendingRequests;
  RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueueLike) {
    if (this.pending.length === 0) return;
    schedule.call(this);
  };
  return true;
}
