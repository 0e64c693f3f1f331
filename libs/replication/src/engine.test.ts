import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "@geo/logging";
import { type Epoch, toEpoch } from "@geo/positions";
import { createReplicationEngine } from "./engine";
import type { FlowSpecLike, UnitAssignment } from "./types";

const logger = createLogger({ service: "engine-test", level: "silent" });
const flow: FlowSpecLike = {
  name: "a->b",
  sourceCluster: "a",
  targetCluster: "b",
  naming: "prefix",
  provenanceHeader: false,
  startFrom: "earliest",
  onOffsetOutOfRange: "fail",
  paused: false,
};
const unit = (partition: number, epoch = toEpoch(1)): UnitAssignment => ({
  unit: { flow: flow.name, sourceTopic: "t", partition },
  remoteTopic: "a.t",
  epoch,
  flow,
});

test("a unit naming an unknown cluster is in error with the reason; nothing else is touched", async () => {
  const engine = createReplicationEngine({ agentId: "x", clusters: {}, logger });
  await engine.assign([unit(0)]);
  const [s] = engine.statuses();
  assert.equal(s!.state, "error");
  assert.match(s!.reason, /unknown cluster "a"/);
  assert.equal(s!.nextSourceOffset, -1n);
  // same epoch again: left as it is
  await engine.assign([unit(0)]);
  assert.equal(engine.statuses()[0]!.state, "error");
  await engine.assign([]);
  assert.deepEqual(engine.statuses(), []);
  await engine.close();
  await assert.rejects(engine.assign([unit(0)]), /closed/);
});

test("assign refuses a unit listed twice and an epoch that is not a bigint", async () => {
  const engine = createReplicationEngine({ agentId: "x", clusters: {}, logger });
  await assert.rejects(engine.assign([unit(0), unit(0)]), /listed twice/);
  await assert.rejects(
    engine.assign([{ ...unit(1), epoch: 1 as unknown as Epoch }]),
    /must be a bigint/,
  );
  await assert.rejects(engine.release(unit(5).unit), /not assigned here/);
  await engine.close();
});
