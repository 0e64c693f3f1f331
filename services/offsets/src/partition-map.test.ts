import assert from "node:assert/strict";
import { test } from "node:test";
import { type Offset, toEpoch, toOffset } from "@geo/positions";
import { type OffsetMapSegment, translateOffset } from "@geo/progress";
import { OffsetIndex } from "./offset-index";
import { PartitionMap } from "./partition-map";

const unit = { flow: "a->b", sourceTopic: "orders", partition: 0 };

function seg(epoch: number, sourceStart: number, targetStart: number, count: number) {
  return {
    unit,
    epoch: toEpoch(epoch),
    remoteTopic: "a.orders",
    sourceStart: toOffset(sourceStart),
    targetStart: toOffset(targetStart),
    count: BigInt(count),
    agentId: "agent-1",
    time: 0,
  } satisfies OffsetMapSegment;
}

function mapOf(...segments: OffsetMapSegment[]): PartitionMap {
  const map = new PartitionMap();
  for (const s of segments) map.addSegment(s);
  return map;
}

test("a growing run rewritten many times stays one run", () => {
  const map = new PartitionMap();
  for (let n = 1; n <= 1000; n++) map.addSegment(seg(1, 0, 0, n));
  assert.equal(map.runs.length, 1);
  assert.deepEqual(map.translate(toOffset(500)), { kind: "exact", targetOffset: 500n });
  assert.deepEqual(map.translate(toOffset(1000)), { kind: "end", targetOffset: 1000n });
});

test("gaps map to the next copied record, the end to the replicated end", () => {
  // Source 0..9 copied, 10 is a transaction marker, 11..19 copied.
  const map = mapOf(seg(1, 0, 0, 10), seg(1, 11, 10, 9));
  assert.equal(map.runs.length, 2);
  assert.deepEqual(map.translate(toOffset(10)), { kind: "exact", targetOffset: 10n });
  assert.deepEqual(map.translate(toOffset(11)), { kind: "exact", targetOffset: 10n });
  assert.deepEqual(map.translate(toOffset(20)), { kind: "end", targetOffset: 19n });
  // A trailing marker at 20: progress says 21 was reached, so 21 is the end too.
  map.addProgress(toEpoch(1), toOffset(21));
  assert.deepEqual(map.translate(toOffset(21)), { kind: "end", targetOffset: 19n });
  assert.deepEqual(map.translate(toOffset(25)), {
    kind: "ahead",
    targetOffset: 19n,
    notReplicated: 4n,
    replicatedTo: 21n,
  });
});

test("after a takeover the newer epoch's copy wins, even when written first", () => {
  // Epoch 1 copied 0..99 to 0..99; epoch 2 started again at 80: 80..149 to 100..169.
  const inOrder = mapOf(seg(1, 0, 0, 100), seg(2, 80, 100, 70));
  const reversed = mapOf(seg(2, 80, 100, 70), seg(1, 0, 0, 100));
  for (const map of [inOrder, reversed]) {
    assert.deepEqual(map.translate(toOffset(79)), { kind: "exact", targetOffset: 79n });
    assert.deepEqual(map.translate(toOffset(80)), { kind: "exact", targetOffset: 100n });
    assert.deepEqual(map.translate(toOffset(90)), { kind: "exact", targetOffset: 110n });
    assert.deepEqual(map.translate(toOffset(150)), { kind: "end", targetOffset: 170n });
    assert.equal(map.runs.length, 2);
  }
});

test("pruning below the source's log start answers BELOW_RANGE with the earliest target", () => {
  const index = new OffsetIndex();
  index.addSegment(seg(1, 0, 0, 10));
  index.addSegment(seg(1, 12, 10, 10));
  index.removeSegment({ unit, epoch: toEpoch(1), sourceStart: toOffset(0) });
  const map = index.get(unit)!;
  assert.deepEqual(map.translate(toOffset(0)), { kind: "below", targetOffset: 1n, floor: 1n });
  index.prune(unit, toOffset(15));
  assert.deepEqual(map.translate(toOffset(14)), { kind: "below", targetOffset: 13n, floor: 15n });
  assert.deepEqual(map.translate(toOffset(15)), { kind: "exact", targetOffset: 13n });
  assert.equal(index.stats().runs, 1);
});

test("a leading gap (compacted head) is reported so the caller can decide", () => {
  const map = mapOf(seg(1, 5, 0, 10));
  assert.deepEqual(map.translate(toOffset(0)), {
    kind: "leading-gap",
    targetOffset: 0n,
    firstMapped: 5n,
  });
  assert.deepEqual(new PartitionMap().translate(toOffset(0)), { kind: "empty" });
});

test("agrees with translateOffset of @geo/progress on random takeover histories", () => {
  let seed = 42;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let round = 0; round < 300; round++) {
    const segments: OffsetMapSegment[] = [];
    let source = random(5);
    let target = 0;
    for (let epoch = 1; epoch <= 1 + random(4); epoch++) {
      // A new owner starts somewhere at or before where the last one got to.
      if (epoch > 1) source = Math.max(0, source - random(30));
      for (let r = 0; r < 1 + random(5); r++) {
        const count = 1 + random(20);
        segments.push(seg(epoch, source, target, count));
        source += count + random(3);
        target += count + random(2);
      }
    }
    const order = [...segments];
    if (random(2) === 1) order.reverse();
    const map = mapOf(...order);
    for (let offset = 0; offset < source; offset++) {
      const expected = translateOffset(segments, toOffset(offset));
      const answer = map.translate(toOffset(offset));
      if (expected === undefined) assert.equal(answer.kind, "ahead");
      else if (answer.kind === "leading-gap" || answer.kind === "exact" || answer.kind === "end") {
        assert.equal(answer.targetOffset, expected, `round ${round} offset ${offset}`);
      } else {
        assert.fail(`round ${round} offset ${offset}: ${answer.kind}`);
      }
    }
  }
});

test("toOrigin: inside a run, in a gap, at and past the end", () => {
  // Source 0..9 → target 0..9; source 10 is a marker; 11..19 → 10..18.
  const map = mapOf(seg(1, 0, 0, 10), seg(1, 11, 10, 9));
  assert.deepEqual(map.toOrigin(toOffset(0)), { kind: "exact", sourceOffset: 0n });
  assert.deepEqual(map.toOrigin(toOffset(9)), { kind: "exact", sourceOffset: 9n });
  // Target 10 is the copy of source 11: the marker at 10 is skipped, nothing the group read.
  assert.deepEqual(map.toOrigin(toOffset(10)), { kind: "exact", sourceOffset: 11n });
  assert.deepEqual(map.toOrigin(toOffset(18)), { kind: "exact", sourceOffset: 19n });
  assert.deepEqual(map.toOrigin(toOffset(19)), { kind: "end", sourceOffset: 20n });
  map.addProgress(toEpoch(1), toOffset(21));
  assert.deepEqual(map.toOrigin(toOffset(19)), { kind: "end", sourceOffset: 21n });
  assert.deepEqual(map.toOrigin(toOffset(500)), { kind: "end", sourceOffset: 21n });
  assert.deepEqual(new PartitionMap().toOrigin(toOffset(3)), { kind: "empty" });
});

test("toOrigin: a target gap (records outside the map) resumes at the next mapped source", () => {
  // Target 10..14 hold records the map does not know (another writer, or pruned copies).
  const map = mapOf(seg(1, 0, 0, 10), seg(1, 10, 15, 10));
  assert.deepEqual(map.toOrigin(toOffset(12)), { kind: "exact", sourceOffset: 10n });
  assert.deepEqual(map.toOrigin(toOffset(15)), { kind: "exact", sourceOffset: 10n });
  assert.deepEqual(map.toOrigin(toOffset(16)), { kind: "exact", sourceOffset: 11n });
});

test("toOrigin: after a takeover (two epochs) maps back through the newer copy", () => {
  // Epoch 1 copied 0..99 to 0..99; epoch 2 started again at 80: 80..149 to 100..169.
  for (const map of [
    mapOf(seg(1, 0, 0, 100), seg(2, 80, 100, 70)),
    mapOf(seg(2, 80, 100, 70), seg(1, 0, 0, 100)),
  ]) {
    assert.deepEqual(map.toOrigin(toOffset(50)), { kind: "exact", sourceOffset: 50n });
    // Target 80..99 are epoch 1's copies of 80..99, superseded: resume at 80, skipping nothing.
    assert.deepEqual(map.toOrigin(toOffset(90)), { kind: "exact", sourceOffset: 80n });
    assert.deepEqual(map.toOrigin(toOffset(100)), { kind: "exact", sourceOffset: 80n });
    assert.deepEqual(map.toOrigin(toOffset(120)), { kind: "exact", sourceOffset: 100n });
    assert.deepEqual(map.toOrigin(toOffset(170)), { kind: "end", sourceOffset: 150n });
    // Round trip: forward then back lands where it started.
    for (const s of [0, 79, 80, 99, 149].map((n) => toOffset(n))) {
      const forward = map.translate(s);
      assert.equal(forward.kind, "exact");
      assert.deepEqual(map.toOrigin((forward as { targetOffset: Offset }).targetOffset), {
        kind: "exact",
        sourceOffset: s,
      });
    }
  }
});

test("toOrigin: a run whose copy lies before a newer one's never makes the group skip", () => {
  // A zombie of epoch 1 copied 150..159 to 145..154 while epoch 2 copied 121..149 to 141..144 and
  // then 155..179: in source order the epoch 1 run follows, but its copy lies earlier.
  const map = mapOf(seg(2, 121, 141, 4), seg(1, 150, 145, 10), seg(2, 125, 155, 25));
  assert.deepEqual(
    map.runs.map((r) => [r.sourceStart, r.targetStart, r.count]),
    [
      [121, 141, 4],
      [125, 155, 25],
      [150, 145, 10],
    ],
  );
  // Read up to target 150: source 121..124 and 150..154 read, 125.. not: resume at 125.
  assert.deepEqual(map.toOrigin(toOffset(150)), { kind: "exact", sourceOffset: 125n });
  assert.deepEqual(map.toOrigin(toOffset(160)), { kind: "exact", sourceOffset: 130n });
});
