// Translation across a takeover: agents killed with kill -9 under load leave records copied twice
// in the target (the new owner starts from the last recorded progress). A group positioned inside
// such a doubly copied range resumes, after translation, on the new owner's copy: every record
// from its position on exactly once.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { offsetsV1 } from "@geo/proto";
import {
  FLOW,
  type GeoStack,
  type StackUnderLoad,
  startStackUnderLoad,
  stopStackUnderLoad,
  trackFailures,
} from "./support/geo-stack";
import { startServingOffsets } from "./support/offsets-fixtures";
import { readPartition, SOURCE } from "./support/replication-fixtures";
import { waitFor } from "./support/wait-for";

const TOPIC = "moves";
const PARTITIONS = 4;
let running: StackUnderLoad | undefined;
let stack: GeoStack;
const failures = trackFailures();

before(async () => {
  running = await startStackUnderLoad({
    name: "offsets-takeover",
    topics: [TOPIC],
    partitions: PARTITIONS,
    coordinators: 1,
    agents: ["agent-1", "agent-2"],
  });
  stack = running.stack;
});

after(() => stopStackUnderLoad(running, failures));

/** Per partition, the values copied more than once into the target. */
async function duplicated(): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (let p = 0; p < PARTITIONS; p++) {
    const seen = new Set<string>();
    const twice: string[] = [];
    for (const r of await readPartition(stack.pair.target, `${SOURCE}.${TOPIC}`, p)) {
      const v = r.value!.toString();
      if (seen.has(v)) twice.push(v);
      seen.add(v);
    }
    if (twice.length > 0) out.set(p, twice);
  }
  return out;
}

test("a group inside a range copied twice resumes on the new owner's copy: nothing twice, nothing missed", async (t) => {
  let twice = new Map<number, string[]>();
  // A kill right after a progress write leaves no duplicate: kill the owner again until one does.
  for (let attempt = 1; attempt <= 4 && twice.size === 0; attempt++) {
    await waitFor("both agents running units", async () => {
      const units = await stack.units();
      return units.length === PARTITIONS && units.every((u) => u.actual !== "");
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const victim = [...stack.agents.entries()][0]!;
    await stack.kill(victim[1]);
    await stack.startAgent(`agent-${attempt + 2}`);
    await running!.assertNothingLost(t, `after kill ${attempt}`);
    twice = await duplicated();
  }
  await running!.load.stop();
  await running!.assertNothingLost(t, "load stopped");
  assert.ok(twice.size > 0, "no record was copied twice after four kills");
  const { client } = await startServingOffsets(stack);
  try {
    for (const [partition, values] of twice) {
      const source = await readPartition(stack.pair.source, TOPIC, partition);
      const target = await readPartition(stack.pair.target, `${SOURCE}.${TOPIC}`, partition);
      const middle = values[Math.floor(values.length / 2)]!;
      const committed = source.find((r) => r.value!.toString() === middle)!.offset;
      const { offsets: answer } = await client.translateOffsets({
        flow: FLOW,
        offsets: [{ topic: TOPIC, partition, offset: String(committed) }],
      });
      const tr = answer[0]!;
      assert.equal(tr.kind, offsetsV1.TranslationKind.EXACT, tr.reason);
      const resumed = target
        .filter((r) => r.offset >= BigInt(tr.targetOffset))
        .map((r) => r.value!.toString());
      const expected = source.filter((r) => r.offset >= committed).map((r) => r.value!.toString());
      const firstCopy = target.find((r) => r.value!.toString() === middle)!.offset;
      t.diagnostic(
        `partition ${partition}: ${values.length} records copied twice; source ${committed} -> target ${tr.targetOffset} (first copy at ${firstCopy})`,
      );
      assert.ok(BigInt(tr.targetOffset) > firstCopy, "points past the copy the group consumed");
      assert.deepEqual(resumed, expected);
    }
  } finally {
    client.close();
  }
});
