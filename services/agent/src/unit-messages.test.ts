import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { toEpoch, toOffset } from "@geo/positions";
import { agentV1, replicationV1 } from "@geo/proto";
import type { UnitStatus } from "@geo/replication";
import { toUnitReport } from "./unit-messages";

const status: UnitStatus = {
  unit: { flow: "us-east->eu-west", sourceTopic: "orders", partition: 3 },
  epoch: toEpoch(7),
  state: "running",
  reason: "",
  nextSourceOffset: toOffset(120),
  lastTargetOffset: toOffset(119),
  lagRecords: 5n,
  lagSeconds: 0.25,
  recordsPerSecond: 10,
  bytesPerSecond: 1000,
  latencyP50Ms: 4,
  latencyP99Ms: 9,
  offsetResets: 0,
  skippedRecords: 0,
  remoteTopic: "us-east.orders",
  warnings: ["source topic orders accepts larger batches than us-east.orders"],
  resumeDuplicates: -1n,
};

test("a running unit's warnings reach the coordinator in its report", () => {
  const wire = toBinary(
    agentV1.UnitReportSchema,
    create(agentV1.UnitReportSchema, toUnitReport(status)),
  );
  const report = fromBinary(agentV1.UnitReportSchema, wire);
  assert.equal(report.state, replicationV1.UnitState.RUNNING);
  assert.equal(report.nextSourceOffset, "120");
  assert.deepEqual(report.warnings, status.warnings);
  assert.deepEqual(toUnitReport({ ...status, warnings: [] }).warnings, []);
});
