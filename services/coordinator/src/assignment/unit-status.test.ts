import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { toEpoch } from "@geo/positions";
import { agentV1, replicationV1 } from "@geo/proto";
import { actualReport, assignmentSummary, type ReportedUnit, unitStatusView } from "./unit-status";

const State = replicationV1.UnitState;
const unit = { flow: "f", sourceTopic: "t", partition: 0, remoteTopic: "east.t" };
const report = (
  agentId: string,
  state: replicationV1.UnitState,
  epoch: string,
  extra: {
    reason?: string;
    nextSourceOffset?: string;
    lag?: { records: string };
    warnings?: string[];
    bytesPerSecond?: number;
  } = {},
): ReportedUnit => ({
  agentId,
  report: create(agentV1.UnitReportSchema, {
    ...extra,
    unit: { flow: "f", sourceTopic: "t", partition: 0 },
    state,
    epoch,
  }),
});
const base = { unit, paused: false, reports: [], noAssignmentReason: "standby" };

describe("unitStatusView", () => {
  it("shows a paused flow's units PAUSED", () => {
    const status = unitStatusView({ ...base, paused: true, assignment: undefined });
    assert.equal(status.state, State.PAUSED);
    assert.match(status.reason ?? "", /flow f is paused/);
    // Not PAUSED while its agent still copies: an operator waiting for PAUSED can rely on it.
    const stopping = unitStatusView({
      ...base,
      paused: true,
      assignment: undefined,
      reports: [report("a", State.RUNNING, "3")],
    });
    assert.equal(stopping.state, State.RUNNING);
    assert.match(stopping.reason ?? "", /flow f is paused; a is stopping the unit/);
  });

  it("says why a unit has no assignment or no grant yet", () => {
    assert.equal(unitStatusView({ ...base, assignment: undefined }).reason, "standby");
    const noAgent = unitStatusView({ ...base, assignment: { note: "no live agent in west" } });
    assert.equal(noAgent.state, State.PENDING);
    assert.equal(noAgent.desiredAgentId, "");
    assert.equal(noAgent.reason, "no live agent in west");
    const waiting = unitStatusView({
      ...base,
      assignment: { desiredAgentId: "b", note: "grace period running" },
    });
    assert.equal(waiting.desiredAgentId, "b");
    assert.equal(waiting.state, State.PENDING);
    assert.equal(waiting.reason, "grace period running");
  });

  it("shows the actual agent's warnings and copy rate", () => {
    const status = unitStatusView({
      ...base,
      assignment: { desiredAgentId: "a", epoch: toEpoch(2) },
      reports: [
        report("a", State.RUNNING, "2", {
          warnings: ["source max.message.bytes 2097152 > remote 1048576"],
          bytesPerSecond: 512,
        }),
      ],
    });
    assert.deepEqual(status.warnings, ["source max.message.bytes 2097152 > remote 1048576"]);
    assert.equal(status.bytesPerSecond, 512);
    const idle = unitStatusView({
      ...base,
      assignment: { desiredAgentId: "a", epoch: toEpoch(2) },
    });
    assert.equal(idle.warnings, undefined);
  });

  it("takes state, lag and position from the desired agent's report of the granted epoch", () => {
    const status = unitStatusView({
      ...base,
      assignment: { desiredAgentId: "a", epoch: toEpoch(4) },
      reports: [
        report("a", State.RUNNING, "4", {
          nextSourceOffset: "9007199254740993",
          lag: { records: "12" },
        }),
      ],
    });
    assert.equal(status.state, State.RUNNING);
    assert.equal(status.actualAgentId, "a");
    assert.equal(status.epoch, "4");
    assert.equal(status.nextSourceOffset, "9007199254740993");
    assert.equal(status.lag?.records, "12");
  });

  it("shows a unit moving while the old owner still reports it", () => {
    const status = unitStatusView({
      ...base,
      assignment: { desiredAgentId: "b", epoch: toEpoch(5) },
      reports: [report("a", State.RUNNING, "4")],
    });
    assert.equal(status.desiredAgentId, "b");
    assert.equal(status.actualAgentId, "a");
    assert.equal(status.state, State.PENDING);
    assert.match(status.reason ?? "", /moving from a to b/);
  });

  it("passes on an agent's ERROR with its reason, and ignores stopped reports", () => {
    const error = unitStatusView({
      ...base,
      assignment: { desiredAgentId: "a", epoch: toEpoch(2) },
      reports: [report("a", State.ERROR, "2", { reason: "target refused: RECORD_TOO_LARGE" })],
    });
    assert.equal(error.state, State.ERROR);
    assert.equal(error.reason, "target refused: RECORD_TOO_LARGE");
    assert.equal(actualReport([report("a", State.STOPPED, "2")], "a"), undefined);
  });

  it("prefers the running report with the highest epoch when the desired agent sends none", () => {
    const chosen = actualReport(
      [
        report("a", State.PENDING, "9"),
        report("b", State.RUNNING, "3"),
        report("c", State.RUNNING, "4"),
      ],
      "z",
    );
    assert.equal(chosen?.agentId, "c");
  });
});

describe("assignmentSummary", () => {
  it("counts units per state, unassigned and mismatched units, and per agent", () => {
    const summary = assignmentSummary({
      generation: 7n,
      computeTime: new Date(0),
      agents: ["idle"],
      statuses: [
        { desiredAgentId: "a", actualAgentId: "a", state: State.RUNNING },
        { desiredAgentId: "b", actualAgentId: "a", state: State.PENDING },
        { desiredAgentId: "", actualAgentId: "", state: State.PENDING },
        { desiredAgentId: "", actualAgentId: "", state: State.PAUSED },
      ],
    });
    assert.equal(summary.generation, "7");
    assert.equal(summary.unitCount, 4);
    assert.equal(summary.unassignedUnitCount, 1);
    assert.equal(summary.mismatchedUnitCount, 1);
    assert.deepEqual(summary.stateCounts, [
      { state: State.PENDING, count: 2 },
      { state: State.RUNNING, count: 1 },
      { state: State.PAUSED, count: 1 },
    ]);
    assert.deepEqual(summary.agents, [
      { agentId: "a", desiredUnitCount: 1, actualUnitCount: 2 },
      { agentId: "b", desiredUnitCount: 1, actualUnitCount: 0 },
      { agentId: "idle", desiredUnitCount: 0, actualUnitCount: 0 },
    ]);
  });
});
