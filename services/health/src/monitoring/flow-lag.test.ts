import assert from "node:assert/strict";
import { test } from "node:test";
import type { KafkaWireClient, PartitionFetcher } from "@geo/kafka-wire";
import type { UnitProgress } from "@geo/progress";
import type { ClusterSnapshot } from "./cluster-probe";
import { measureFlowLag } from "./flow-lag";
import type { MonitoredFlow } from "./monitored-flow";
import type { ProgressTail } from "./progress-tail";

const flow: MonitoredFlow = {
  name: "a->b",
  source: "a",
  target: "b",
  paused: false,
  replicates: (topic) => topic === "orders",
  remoteTopic: (topic) => `a.${topic}`,
};
const snapshot = (reachable: boolean): ClusterSnapshot => ({
  health: { cluster: "a", reachable, error: reachable ? "" : "connection refused" },
  reachable,
  topics: new Map([
    ["orders", 2],
    ["other", 1],
  ]),
  time: Date.now(),
});

/** A source the measurement must not need: the unknown cases answer before reading offsets. */
function source() {
  const unused = () => {
    throw new Error("read the source although the lag is unknown");
  };
  const client = { metadata: { ensure: unused } } as unknown as KafkaWireClient;
  const fetcher = { fetch: unused } as unknown as PartitionFetcher;
  return { client, fetcher };
}

function progress(next: Record<number, bigint>, current = true): ProgressTail {
  return {
    progress: (unit) => {
      const partition = Number(unit.split("/")[2]);
      const n = next[partition];
      return n === undefined ? undefined : ({ nextSourceOffset: n, epoch: 1n } as UnitProgress);
    },
    current: () => current,
    step: async () => {},
    close: async () => {},
  };
}

test("lag is unknown, not 0, when the source is unreachable or the target's progress unread", async () => {
  const { client, fetcher } = source();
  const deps = {
    sourceClient: client,
    sourceFetcher: fetcher,
    progressMaxAgeMs: 1000,
    timestamps: new Map(),
  };
  const lost = await measureFlowLag(flow, {
    ...deps,
    sourceSnapshot: snapshot(false),
    progress: progress({}),
  });
  assert.match(lost.unknown ?? "", /source a unreachable: connection refused/);
  assert.equal(lost.partitions.length, 0);
  const unread = await measureFlowLag(flow, {
    ...deps,
    sourceSnapshot: snapshot(true),
    progress: progress({}, false),
  });
  assert.match(unread.unknown ?? "", /progress in target b/);
  const never = await measureFlowLag(flow, {
    ...deps,
    sourceSnapshot: undefined,
    progress: progress({}),
  });
  assert.match(never.unknown ?? "", /not probed yet/);
});
