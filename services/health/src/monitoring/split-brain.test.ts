import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toEpoch } from "@geo/positions";
import { SplitBrainTracker } from "./split-brain";

const sample = (over: Partial<Parameters<SplitBrainTracker["observe"]>[1]> = {}) => ({
  epoch: toEpoch(1),
  stable: true,
  foreignWrites: 0n,
  passiveSourceRecords: 100n as bigint | undefined,
  ...over,
});

describe("SplitBrainTracker", () => {
  it("reports foreign writes and passive source growth, and holds them for holdMs", () => {
    const t = new SplitBrainTracker(1000);
    assert.equal(t.observe("g", sample(), 0).splitBrain, false);
    assert.equal(t.observe("g", sample(), 100).splitBrain, false);
    const grown = t.observe("g", sample({ passiveSourceRecords: 103n }), 200);
    assert.equal(grown.splitBrain, true);
    assert.match(grown.reason, /3 records written to the passive region's own topics/);
    assert.equal(t.observe("g", sample({ passiveSourceRecords: 103n }), 1100).splitBrain, true);
    assert.equal(t.observe("g", sample({ passiveSourceRecords: 103n }), 1200).splitBrain, false);
    const foreign = t.observe("g", sample({ passiveSourceRecords: 103n, foreignWrites: 2n }), 1300);
    assert.equal(foreign.splitBrain, true);
    assert.match(foreign.reason, /2 records written into the passive region's remote topics/);
  });
  it("ignores writes across a transition or a change of epoch, and unknown sources", () => {
    const t = new SplitBrainTracker(1000);
    t.observe("g", sample(), 0);
    assert.equal(
      t.observe("g", sample({ stable: false, passiveSourceRecords: 150n }), 1).splitBrain,
      false,
    );
    assert.equal(
      t.observe("g", sample({ epoch: toEpoch(2), passiveSourceRecords: 200n }), 2).splitBrain,
      false,
    );
    assert.equal(
      t.observe("g", sample({ epoch: toEpoch(2), passiveSourceRecords: undefined }), 3).splitBrain,
      false,
    );
    assert.equal(
      t.observe("g", sample({ epoch: toEpoch(2), passiveSourceRecords: 300n }), 4).splitBrain,
      false,
    );
    assert.deepEqual(t.groups(), ["g"]);
  });
});
