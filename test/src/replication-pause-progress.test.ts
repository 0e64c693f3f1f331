// The progress of a paused or stopped unit is its exact acknowledged position, written at once:
// the health monitor reads a flow's lag from it (end offset - recorded next source offset), and a
// failover reports that last lag as the records at risk. Paused mid-fetch under traffic, with no
// periodic progress write within the test, the recorded position must still be exactly what the
// target holds, not an older one (which would only bound the records at risk from above).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createProgressStore, type ProgressStore, unitId } from "@geo/progress";
import { createReplicationEngine, type ReplicationEngine } from "@geo/replication";
import {
  createTopic,
  endOffset,
  flowSpec,
  type Pair,
  startPair,
  statusOf,
  TS,
  unitsOf,
} from "./support/replication-fixtures";
import { waitFor } from "./support/wait-for";

let pair: Pair;
let store: ProgressStore;
let engine: ReplicationEngine | undefined;

before(async () => {
  pair = await startPair("repl-pause");
  store = createProgressStore(pair.target.wire);
});

after(async () => {
  await engine?.close().catch(() => {});
  await store?.close();
  await pair?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TOPIC = "paced";
const REMOTE = `us-east.${TOPIC}`;
const PARTITIONS = 2;

/** Writes to both partitions while `keepWriting()`; resolves with the records written. */
async function writeWhile(keepWriting: () => boolean): Promise<number> {
  const producer = pair.source.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let sent = 0;
  try {
    while (keepWriting()) {
      const messages = Array.from({ length: 20 }, (_, i) => ({
        partition: i % PARTITIONS,
        value: `seq-${sent + i}`,
        timestamp: String(TS + BigInt(sent + i)),
      }));
      await producer.send({ topic: TOPIC, acks: -1, messages });
      sent += messages.length;
      await sleep(5);
    }
  } finally {
    await producer.disconnect();
  }
  return sent;
}

/** What the target's progress record says of a partition, and what the remote partition holds. */
async function recorded(partition: number) {
  const unit = { flow: "paced-flow", sourceTopic: TOPIC, partition };
  const progress = (await store.load([unit])).get(unitId(unit));
  return {
    next: progress?.nextSourceOffset,
    lastTarget: progress?.lastTargetOffset,
    remoteEnd: await endOffset(pair.target, REMOTE, partition),
    sourceEnd: await endOffset(pair.source, TOPIC, partition),
  };
}

test("a unit paused mid-fetch records its exact position at once, and so does a stopped one", async () => {
  await createTopic(pair.source, TOPIC, PARTITIONS);
  await createTopic(pair.target, REMOTE, PARTITIONS);
  const e = createReplicationEngine({
    agentId: "pause-agent",
    clusters: pair.clusters,
    logger: pair.logger,
    deliveryTimeoutMs: 10_000,
    fetchMaxWaitMs: 100,
    // No periodic progress write during the test: only the one each unit makes at its start,
    // and the ones a pause and a stop make.
    progressIntervalMs: 3_600_000,
  });
  engine = e;
  const flow = flowSpec("paced-flow");
  await e.assign(unitsOf(flow, TOPIC, PARTITIONS, 1n));

  let writing = true;
  const writer = writeWhile(() => writing);
  await waitFor("both units copying", () =>
    e.statuses().every((s) => s.state === "running" && s.nextSourceOffset >= 100n),
  );
  await e.assign(unitsOf({ ...flow, paused: true }, TOPIC, PARTITIONS, 1n));
  // Writes go on at the source after the pause: they pile up unreplicated, as at a region
  // whose flow was paused before it was lost.
  await sleep(500);
  writing = false;
  await writer;

  for (let partition = 0; partition < PARTITIONS; partition++) {
    let last: Awaited<ReturnType<typeof recorded>> | undefined;
    await waitFor(
      `paced-${partition}: progress at what the target holds`,
      async () => {
        last = await recorded(partition);
        return last.next === last.remoteEnd;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    ).catch((error: Error) => {
      throw new Error(
        `${error.message}; last: ${JSON.stringify(last, (_, v) => (typeof v === "bigint" ? String(v) : v))}`,
      );
    });
    const { next, lastTarget, remoteEnd, sourceEnd } = last!;
    const status = statusOf(e.statuses(), TOPIC, partition)!;
    assert.equal(status.state, "paused");
    assert.equal(status.nextSourceOffset, next, "the recorded position is the acknowledged one");
    assert.equal(lastTarget, remoteEnd - 1n);
    assert.ok(
      sourceEnd > remoteEnd,
      `records piled up at the source (${sourceEnd} > ${remoteEnd})`,
    );
    console.log(
      `paced-${partition}: lag from progress ${sourceEnd - next!} = missing at the target ${sourceEnd - remoteEnd}`,
    );
  }

  // A stop (the coordinator revokes a paused flow's units) records its position the same way.
  await e.assign(unitsOf(flow, TOPIC, PARTITIONS, 1n));
  writing = true;
  const more = writeWhile(() => writing);
  await sleep(500);
  const released = await e.release({ flow: flow.name, sourceTopic: TOPIC, partition: 0 });
  writing = false;
  await more;
  const stopped = await recorded(0);
  assert.equal(stopped.next, released.nextSourceOffset);
  assert.equal(
    stopped.next,
    stopped.remoteEnd,
    "the stopped unit's progress is what the target holds",
  );
});
