import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { flowFromConfig, flowFromMessage } from "@geo/flow-catalog";
import { toEpoch, toOffset } from "@geo/positions";
import { coordinatorV1, offsetsV1, replicationV1 } from "@geo/proto";
import { checkpointOf } from "./checkpoint-writer";
import { flowDirectoryFromCatalog, offsetsFlow } from "./flows";
import { OffsetIndex } from "./offset-index";
import { isCommittable, translatePosition } from "./translate";

const Kind = offsetsV1.TranslationKind;
const flowConfig = {
  name: "a->b",
  source: "a",
  target: "b",
  naming: "prefix" as const,
  topics: { include: ["orders", "late"], exclude: [] },
};
const flow = offsetsFlow(flowConfig);

function indexWith(...runs: [string, number, number, number][]): OffsetIndex {
  const index = new OffsetIndex();
  for (const [topic, sourceStart, targetStart, count] of runs) {
    index.addSegment({
      unit: { flow: "a->b", sourceTopic: topic, partition: 0 },
      epoch: toEpoch(1),
      remoteTopic: `a.${topic}`,
      sourceStart: toOffset(sourceStart),
      targetStart: toOffset(targetStart),
      count: BigInt(count),
      agentId: "x",
      time: 0,
    });
  }
  return index;
}

const at = (topic: string, offset: number, metadata = "") => ({
  topic,
  partition: 0,
  offset: toOffset(offset),
  metadata,
});

test("kinds: exact, replicated end, not yet replicated (with the count), not replicated", () => {
  const index = indexWith(["orders", 0, 0, 10], ["orders", 12, 10, 5]);
  const exact = translatePosition(index, flow, at("orders", 11, "m"));
  assert.deepEqual(
    [exact.kind, exact.targetOffset, exact.exact, exact.metadata],
    [Kind.EXACT, 10n, true, "m"],
  );
  assert.equal(exact.targetTopic, "a.orders");
  const end = translatePosition(index, flow, at("orders", 17));
  assert.deepEqual([end.kind, end.targetOffset, end.exact], [Kind.AT_REPLICATED_END, 15n, true]);
  const ahead = translatePosition(index, flow, at("orders", 20));
  assert.deepEqual(
    [ahead.kind, ahead.targetOffset, ahead.exact, ahead.recordsNotReplicated],
    [Kind.NOT_YET_REPLICATED, 15n, false, 3n],
  );
  assert.ok(!isCommittable(ahead));
  const other = translatePosition(index, flow, at("payments", 0));
  assert.deepEqual([other.kind, other.targetOffset], [Kind.NOT_REPLICATED, -1n]);
  const unknownPartition = translatePosition(index, flow, { ...at("orders", 0), partition: 9 });
  assert.deepEqual(
    [unknownPartition.kind, unknownPartition.targetOffset],
    [Kind.NOT_YET_REPLICATED, -1n],
  );
});

test("below the mapped range: BELOW_RANGE after retention, or when the flow started at latest", () => {
  const index = indexWith(["orders", 5, 0, 10]);
  // A compacted head: the flow copied from the log start, so 0..4 are gaps.
  assert.equal(translatePosition(index, flow, at("orders", 0)).kind, Kind.EXACT);
  const late = offsetsFlow({ ...flowConfig, startFrom: "latest" });
  const below = translatePosition(index, late, at("orders", 0));
  assert.deepEqual([below.kind, below.targetOffset, below.exact], [Kind.BELOW_RANGE, 0n, false]);
  index.prune({ flow: "a->b", sourceTopic: "orders", partition: 0 }, toOffset(8));
  const pruned = translatePosition(index, flow, at("orders", 6));
  assert.deepEqual([pruned.kind, pruned.targetOffset], [Kind.BELOW_RANGE, 3n]);
  assert.match(pruned.reason, /retention/);
});

test("flows: MM2's default group excludes and the checkpoint topic name", () => {
  assert.equal(flow.checkpointTopic, "a.checkpoints.internal");
  assert.ok(flow.checkpointsGroup("orders-app"));
  for (const g of ["console-consumer-1", "connect-x", "__internal"])
    assert.ok(!flow.checkpointsGroup(g));
  const only = offsetsFlow({ ...flowConfig, groups: { include: ["app-.*"], exclude: [] } });
  assert.ok(only.checkpointsGroup("app-1") && !only.checkpointsGroup("other"));
  assert.equal(flow.sourceTopicOf("a.orders"), "orders");
  assert.equal(flow.sourceTopicOf("b.orders"), undefined);
  assert.equal(
    offsetsFlow({ ...flowConfig, naming: "identity" }).sourceTopicOf("orders"),
    "orders",
  );
});

test("catalog flows carry this service's options, from the file or the coordinator", () => {
  const fileFlow = {
    ...flowConfig,
    provenanceHeader: false,
    startFrom: "latest" as const,
    onOffsetOutOfRange: "fail" as const,
    paused: false,
    groups: { include: ["app-.*"], exclude: [] },
    syncGroupOffsets: false,
  };
  const apiFlow = flowFromMessage(
    create(coordinatorV1.FlowSchema, { name: "api-flow", sourceCluster: "a", targetCluster: "b" }),
  );
  const fromFileFlow = flowFromConfig(fileFlow);
  const catalog = { list: () => [fromFileFlow, apiFlow], get: () => apiFlow };
  const directory = flowDirectoryFromCatalog(catalog);
  const [fromFile, fromApi] = directory.list();
  assert.equal(fromFile!.syncGroupOffsets, false);
  assert.equal(fromFile!.startsAtEarliest, false);
  assert.ok(!fromFile!.checkpointsGroup("other"));
  assert.equal(fromApi!.syncGroupOffsets, true, "absent in the message: the default");
  assert.equal(fromApi!.startsAtEarliest, true);
  assert.ok(fromApi!.checkpointsGroup("other") && !fromApi!.checkpointsGroup("connect-x"));
  assert.equal(directory.get("api-flow"), directory.get("api-flow"), "built once per catalog flow");
  const chosen = flowFromMessage(
    create(coordinatorV1.FlowSchema, {
      name: "api-flow",
      sourceCluster: "a",
      targetCluster: "b",
      startPosition: replicationV1.StartPosition.LATEST,
      groups: { include: ["app-.*"], exclude: ["app-tmp"] },
      syncGroupOffsets: false,
    }),
  );
  const options = flowDirectoryFromCatalog({ list: () => [chosen], get: () => chosen }).list()[0]!;
  assert.equal(options.syncGroupOffsets, false);
  assert.equal(options.startsAtEarliest, false);
  assert.ok(options.checkpointsGroup("app-1") && !options.checkpointsGroup("app-tmp"));
  assert.ok(!options.checkpointsGroup("other"));
});

test("a group ahead of replication is checkpointed at the replicated end, exact when translated again", () => {
  const index = indexWith(["orders", 0, 0, 10], ["orders", 12, 10, 5]);
  const ahead = translatePosition(index, flow, at("orders", 30, "m"));
  assert.equal(ahead.kind, Kind.NOT_YET_REPLICATED);
  const checkpoint = checkpointOf("g", ahead);
  assert.deepEqual(
    [checkpoint.upstreamOffset, checkpoint.downstreamOffset, checkpoint.metadata],
    [17n, 15n, "m"],
  );
  // What a failover does with it once the source is gone: resume at the copy's end, exactly.
  const again = translatePosition(index, flow, at("orders", Number(checkpoint.upstreamOffset)));
  assert.deepEqual([again.kind, again.targetOffset], [Kind.AT_REPLICATED_END, 15n]);
  assert.ok(isCommittable(again));
  // Anything else keeps the group's own offset.
  const exact = translatePosition(index, flow, at("orders", 11));
  assert.equal(checkpointOf("g", exact).upstreamOffset, 11n);
});
