import assert from "node:assert/strict";
import { test } from "node:test";
import { NO_OFFSET, toEpoch, toOffset } from "@geo/positions";
import {
  decodeProgressRecord,
  decodeSegmentRecord,
  encodeProgressValue,
  encodeSegmentValue,
  ProgressFormatError,
  progressKey,
  segmentKey,
} from "./record-format";
import { translateOffset } from "./translate";
import { type OffsetMapSegment, parseUnitId, unitId } from "./unit";

const unit = { flow: "us-east->eu-west", sourceTopic: "orders", partition: 3 };

test("unit ids are stable and parse back, even with a slash in the flow name", () => {
  assert.equal(unitId(unit), "us-east->eu-west/orders/3");
  const odd = { flow: "a/b", sourceTopic: "t.x", partition: 12 };
  assert.deepEqual(parseUnitId(unitId(odd)), odd);
  assert.throws(() => parseUnitId("nope"), TypeError);
});

test("progress records: key = unit + epoch, value JSON with exact 64-bit offsets", () => {
  const p = {
    ...unit,
    epoch: toEpoch(9_007_199_254_740_993n),
    nextSourceOffset: toOffset(9_223_372_036_854_775_000n),
    lastTargetOffset: NO_OFFSET,
    agentId: "agent-1",
    time: 1_750_000_000_000,
  };
  const key = progressKey(unit, p.epoch);
  assert.equal(key.toString(), '["us-east->eu-west","orders",3,"9007199254740993"]');
  const value = encodeProgressValue(p);
  assert.deepEqual(JSON.parse(value.toString()), {
    v: 1,
    flow: "us-east->eu-west",
    sourceTopic: "orders",
    partition: 3,
    epoch: "9007199254740993",
    nextSourceOffset: "9223372036854775000",
    lastTargetOffset: "-1",
    agentId: "agent-1",
    time: 1_750_000_000_000,
  });
  assert.deepEqual(decodeProgressRecord(key, value).progress, p);
  assert.deepEqual(decodeProgressRecord(key, null), { unit, epoch: p.epoch, progress: null });
  // Two epochs never share a key, so compaction cannot let one replace the other.
  assert.notDeepEqual(progressKey(unit, toEpoch(1)), progressKey(unit, toEpoch(2)));
});

test("segment records: key = unit + epoch + sourceStart", () => {
  const s: OffsetMapSegment = {
    unit,
    epoch: toEpoch(4),
    remoteTopic: "us-east.orders",
    sourceStart: toOffset(100),
    targetStart: toOffset(7),
    count: 50n,
    agentId: "a",
    time: 1,
  };
  const key = segmentKey(s);
  assert.equal(key.toString(), '["us-east->eu-west","orders",3,"4","100"]');
  const decoded = decodeSegmentRecord(key, encodeSegmentValue(s));
  assert.deepEqual(decoded.segment, s);
  assert.deepEqual(decodeSegmentRecord(key, null), {
    key: { unit, epoch: toEpoch(4), sourceStart: toOffset(100) },
    segment: null,
  });
});

test("records in an unknown format are refused with ProgressFormatError", () => {
  const key = progressKey(unit, toEpoch(1));
  for (const [k, v] of [
    [null, Buffer.from("{}")],
    [Buffer.from("not json"), null],
    [Buffer.from('["f","t",0]'), null],
    [key, Buffer.from('{"v":2}')],
    [key, Buffer.from('{"v":1,"nextSourceOffset":12}')],
  ] as const) {
    assert.throws(() => decodeProgressRecord(k, v), ProgressFormatError);
  }
});

test("translation: covering segment (highest epoch, then latest start), next run after a gap, end", () => {
  const seg = (epoch: bigint, sourceStart: bigint, targetStart: bigint, count: bigint) => ({
    unit,
    epoch: toEpoch(epoch),
    remoteTopic: "r",
    sourceStart: toOffset(sourceStart),
    targetStart: toOffset(targetStart),
    count,
    agentId: "a",
    time: 0,
  });
  // epoch 1 copied 0..9 → 0..9 and 12..19 → 10..17; epoch 2 re-copied from 15 → 18..
  const segs = [seg(1n, 0n, 0n, 10n), seg(1n, 12n, 10n, 8n), seg(2n, 15n, 18n, 10n)];
  assert.equal(translateOffset(segs, toOffset(0)), 0n);
  assert.equal(translateOffset(segs, toOffset(9)), 9n);
  assert.equal(translateOffset(segs, toOffset(10)), 10n, "in the gap: the next mapped record");
  assert.equal(translateOffset(segs, toOffset(14)), 12n);
  assert.equal(translateOffset(segs, toOffset(16)), 19n, "the newer epoch's copy wins");
  assert.equal(translateOffset(segs, toOffset(25)), 28n, "end of the mapped range");
  assert.equal(translateOffset(segs, toOffset(26)), undefined);
  // same epoch, a restart re-copied from 5: the later run wins
  const restarted = [seg(1n, 0n, 0n, 10n), seg(1n, 5n, 10n, 5n)];
  assert.equal(translateOffset(restarted, toOffset(6)), 11n);
  assert.equal(translateOffset(restarted, toOffset(4)), 4n);
});
