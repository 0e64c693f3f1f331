import assert from "node:assert/strict";
import { test } from "node:test";
import { toEpoch, toOffset } from "@geo/positions";
import { offsetsV1 } from "@geo/proto";
import { offsetsFlow } from "./flows";
import { OffsetIndex } from "./offset-index";
import { originPosition } from "./to-origin";
import { isCommittable } from "./translate";

const Kind = offsetsV1.TranslationKind;
const flow = offsetsFlow({
  name: "a->b",
  source: "a",
  target: "b",
  naming: "prefix",
  topics: { include: ["orders", "late"], exclude: [] },
});

const at = (topic: string, offset: bigint) => ({
  topic,
  partition: 0,
  offset: toOffset(offset),
  metadata: "m",
});

test("a position on a remote topic maps home to the origin topic, metadata carried", () => {
  const index = new OffsetIndex();
  index.addSegment({
    unit: { flow: "a->b", sourceTopic: "orders", partition: 0 },
    epoch: toEpoch(1),
    remoteTopic: "a.orders",
    sourceStart: toOffset(10),
    targetStart: toOffset(0),
    count: 5n,
    agentId: "x",
    time: 0,
  });
  const inside = originPosition(index, flow, at("a.orders", 3n));
  assert.equal(inside.targetTopic, "orders");
  assert.equal(inside.targetOffset, 13n);
  assert.equal(inside.kind, Kind.EXACT);
  assert.equal(inside.metadata, "m");
  assert.ok(isCommittable(inside));
  const end = originPosition(index, flow, at("a.orders", 5n));
  assert.equal(end.kind, Kind.AT_REPLICATED_END);
  assert.equal(end.targetOffset, 15n);
});

test("not a remote topic of the flow, or nothing mapped: not committable, saying why", () => {
  const index = new OffsetIndex();
  const local = originPosition(index, flow, at("orders", 3n));
  assert.equal(local.kind, Kind.NOT_REPLICATED);
  assert.match(local.reason, /"orders" is not a remote topic of flow "a->b"/);
  const filtered = originPosition(index, flow, at("a.other", 3n));
  assert.equal(filtered.kind, Kind.NOT_REPLICATED);
  const empty = originPosition(index, flow, at("a.late", 3n));
  assert.equal(empty.kind, Kind.NOT_YET_REPLICATED);
  assert.equal(empty.targetOffset, -1n);
  assert.ok(!isCommittable(empty));
});
