// The per-flow options of offset translation (`groups`, `sync_group_offsets`) through the admin
// API's Flow message: creation, updates by mask, views, and records written before they existed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { DEFAULT_GROUP_EXCLUDES } from "@geo/config";
import { Code, type GeoError } from "@geo/grpc";
import { coordinatorV1 } from "@geo/proto";
import { decodeFlowChange, encodeFlowChange, type FlowDefinition } from "./flow-changes";
import { draftFromFlow, flowChangeView, flowView, updatedDraft } from "./flow-messages";

const current: FlowDefinition = {
  name: "x",
  source: "east",
  target: "west",
  topics: { include: ["a"], exclude: [] },
  naming: "prefix",
  provenanceHeader: false,
  startFrom: "latest",
  onOffsetOutOfRange: "fail",
  paused: false,
  groups: { include: ["team-.*"], exclude: ["team-tmp"] },
  syncGroupOffsets: false,
};
const message = (init: Parameters<typeof create<typeof coordinatorV1.FlowSchema>>[1]) =>
  create(coordinatorV1.FlowSchema, { name: "x", ...init });

describe("flow messages: offset-translation options", () => {
  it("creates with the given filter and sync flag, and leaves absent ones to the defaults", () => {
    const draft = draftFromFlow(
      message({ groups: { include: [], exclude: ["tmp-.*"] }, syncGroupOffsets: false }),
    );
    assert.deepEqual(draft.groups, { include: [".*"], exclude: ["tmp-.*"] });
    assert.equal(draft.syncGroupOffsets, false);
    const bare = draftFromFlow(message({}));
    assert.equal("groups" in bare, false, "absent: validation fills MirrorMaker 2's excludes");
    assert.equal("syncGroupOffsets" in bare, false, "unset: validation fills true");
  });

  it("updates exactly what the mask names", () => {
    const flow = message({ groups: { include: ["b"], exclude: ["c"] }, syncGroupOffsets: true });
    const exclude = updatedDraft(current, flow, ["groups.exclude"]);
    assert.deepEqual(exclude.groups, { include: ["team-.*"], exclude: ["c"] });
    assert.equal(exclude.syncGroupOffsets, false);
    const sync = updatedDraft(current, flow, ["sync_group_offsets"]);
    assert.deepEqual(sync.groups, current.groups);
    assert.equal(sync.syncGroupOffsets, true);
    assert.deepEqual(updatedDraft(current, flow, ["groups"]).groups, {
      include: ["b"],
      exclude: ["c"],
    });
    const cleared = updatedDraft(current, message({}), ["groups", "sync_group_offsets"]);
    assert.equal("groups" in cleared, false, "a named but absent filter restores the default");
    assert.equal("syncGroupOffsets" in cleared, false, "an unset flag named by the mask: default");
    const full = updatedDraft(current, message({ topics: { include: ["a"] } }), []);
    assert.equal("groups" in full, false);
    assert.equal("syncGroupOffsets" in full, false);
    assert.throws(
      () => updatedDraft(current, flow, ["groups.colour"]),
      (error: GeoError) =>
        error.code === Code.INVALID_ARGUMENT &&
        /groups\.include, groups\.exclude/.test(error.message),
    );
  });

  it("shows the defaults for definitions stored before the options existed", () => {
    const { groups: _g, syncGroupOffsets: _s, ...old } = current;
    const record = encodeFlowChange({
      flow: "x",
      version: 1n,
      kind: "created",
      actor: "alice",
      time: new Date("2026-11-22T10:00:00Z"),
      reason: "",
      after: old,
    });
    const change = decodeFlowChange(record);
    const view = create(coordinatorV1.FlowChangeSchema, flowChangeView(change, "/geo.yaml"));
    assert.deepEqual(view.after?.groups?.include, [".*"]);
    assert.deepEqual(view.after?.groups?.exclude, [...DEFAULT_GROUP_EXCLUDES]);
    assert.equal(view.after?.syncGroupOffsets, true);
    const api = {
      definition: current,
      version: 2n,
      createdBy: "alice",
      createTime: new Date(),
      updateTime: new Date(),
    };
    const shown = create(
      coordinatorV1.FlowSchema,
      flowView({ owner: "api", config: current, api }, "/geo.yaml"),
    );
    assert.deepEqual(shown.groups?.exclude, ["team-tmp"]);
    assert.equal(shown.syncGroupOffsets, false);
  });
});
