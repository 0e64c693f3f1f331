import { HarnessError } from "./harness-error";
import type { BrokerSetup } from "./kafka-broker";
import { readLogTail } from "./log-file";
import { probeBrokers } from "./probe-brokers";
import { progressWatch } from "./process-state";
import { pastBound, STARVED_BOUNDS, sleep } from "./start-bounds";

/**
 * Poll every running broker's metadata until each lists all of `nodeIds`: a client that
 * bootstraps from any of them then sees the whole cluster.
 */
export async function awaitBrokersVisible(
  setup: BrokerSetup,
  nodeIds: number[],
  deadline: number,
): Promise<void> {
  let seen = "";
  const working = progressWatch(() => setup.brokers.map((b) => b.pid));
  const limit = deadline + (STARVED_BOUNDS - 1) * setup.startTimeoutMs;
  for (;;) {
    const running = setup.brokers.filter((b) => b.running);
    const views = await Promise.all(
      running.map((b) =>
        probeBrokers(b.port).then(
          (ids) => ({ nodeId: b.nodeId, ids, error: "" }),
          (error: Error) => ({ nodeId: b.nodeId, ids: [] as number[], error: error.message }),
        ),
      ),
    );
    if (views.length > 0 && views.every((v) => nodeIds.every((id) => v.ids.includes(id)))) return;
    seen = views
      .map((v) => `broker ${v.nodeId} sees [${v.ids.join(", ")}]${v.error ? ` (${v.error})` : ""}`)
      .join("; ");
    if (pastBound(deadline, limit, working())) {
      const first = running[0] ?? setup.brokers[0]!;
      throw new HarnessError(
        "START_TIMEOUT",
        `cluster ${setup.name}: brokers ${nodeIds.join(", ")} not all visible in metadata within ${Math.round(setup.startTimeoutMs / 1000)} s (${seen}); last lines of ${first.logFile}:\n${readLogTail(first.logFile)}`,
      );
    }
    await sleep(100);
  }
}
