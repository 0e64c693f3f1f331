import assert from "node:assert/strict";
import { test } from "node:test";
import type { FlowLag } from "./flow-lag";
import { classifyFlow, FlowStatus } from "./flow-status";

const lag = (over: Partial<FlowLag> = {}): FlowLag => ({
  flow: "a->b",
  source: "a",
  target: "b",
  time: 0,
  unknown: undefined,
  partitions: [],
  totalRecords: 0n,
  maxAgeMs: 0,
  sourceRecords: 0n,
  replicatedRecords: 0n,
  ...over,
});
const beat = (lastTimestamp: number | undefined) => ({
  lastTimestamp,
  lastLatencyMs: 5,
  lastArrival: lastTimestamp,
  received: 1,
});
const at = { now: 100_000, monitoringSince: 0, paused: false };

test("a flow is healthy, degraded, stuck or unknown from its lag and heartbeats", () => {
  assert.equal(classifyFlow(lag(), beat(99_000), at).status, FlowStatus.HEALTHY);
  assert.equal(
    classifyFlow(lag({ maxAgeMs: 20_000, totalRecords: 5n }), beat(99_000), at).status,
    FlowStatus.DEGRADED,
  );
  assert.equal(classifyFlow(lag(), beat(85_000), at).status, FlowStatus.DEGRADED);
  assert.equal(classifyFlow(lag(), beat(60_000), at).status, FlowStatus.STUCK);
  assert.equal(classifyFlow(lag(), beat(undefined), at).status, FlowStatus.STUCK);
  assert.equal(
    classifyFlow(lag(), beat(undefined), { ...at, monitoringSince: 95_000 }).status,
    FlowStatus.UNSPECIFIED,
  );
  const unknown = classifyFlow(lag({ unknown: "source a unreachable" }), beat(99_000), at);
  assert.deepEqual(unknown, { status: FlowStatus.UNKNOWN, reason: "source a unreachable" });
  assert.equal(
    classifyFlow(lag(), beat(99_000), { ...at, paused: true }).status,
    FlowStatus.DEGRADED,
  );
  assert.equal(classifyFlow(undefined, undefined, at).status, FlowStatus.UNSPECIFIED);
});
