// Commit-driven checkpoints end to end: real Kafka clusters, Redis, a coordinator, an agent and
// the offsets service as processes, the periodic checkpoint round set to 60 s so that only the
// service following the source's `__consumer_offsets` can write a checkpoint within seconds. After
// an unplanned failover a group re-reads what it consumed past its newest checkpoint: this is the
// bound on that.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { GrpcClient } from "@geo/grpc";
import { fetchGroupOffsets } from "@geo/kafka-wire";
import type { OffsetTranslationService } from "@geo/proto";
import { FLOW, type GeoStack, startGeoStack, trackFailures } from "./support/geo-stack";
import { commitAtSource, startServingOffsets } from "./support/offsets-fixtures";
import { endOffset, SOURCE } from "./support/replication-fixtures";
import type { ServiceProcess } from "./support/service-process";
import { waitFor } from "./support/wait-for";

const TOPIC = "cc-orders";
const PARTITIONS = 2;
const RECORDS = 100;
/** A round this long cannot be what writes a checkpoint within the bound. */
const SETTINGS = "{ intervalMs: 60000, followCommits: true, coalesceMs: 250 }";
/** Passes a minute apart (the first a minute after the start): only a flush writes sooner. */
const SLOW_PASSES = "{ intervalMs: 600000, followCommits: true, coalesceMs: 60000 }";
/** Generous for a loaded 2-core machine; the default round alone is 4 s plus its own duration. */
const BOUND_MS = 2000;

let stack: GeoStack;
let offsets: ServiceProcess;
let client: GrpcClient<typeof OffsetTranslationService> | undefined;
const failures = trackFailures();

async function startOffsetsService(settings = SETTINGS): Promise<void> {
  client?.close();
  ({ service: offsets, client } = await startServingOffsets(stack, settings));
}

before(async () => {
  stack = await startGeoStack({
    name: "commit-checkpoints",
    topics: [TOPIC],
    partitions: PARTITIONS,
    coordinators: 1,
    agents: ["agent-1"],
  });
  const producer = stack.pair.source.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let p = 0; p < PARTITIONS; p++) {
    const messages = Array.from({ length: RECORDS }, (_, i) => ({ partition: p, value: `v${i}` }));
    await producer.send({ topic: TOPIC, messages });
  }
  await producer.disconnect();
  for (let p = 0; p < PARTITIONS; p++) {
    await waitFor(
      `${TOPIC}-${p} replicated`,
      async () => (await endOffset(stack.pair.target, `${SOURCE}.${TOPIC}`, p)) === BigInt(RECORDS),
      { timeoutMs: 120_000, intervalMs: 500 },
    );
  }
  await startOffsetsService();
});

after(async () => {
  client?.close();
  await stack?.stop(failures.failed);
});

const commit = (group: string, positions: readonly bigint[]) =>
  commitAtSource(stack.pair.source, group, TOPIC, positions);

/** The group's checkpoints: source offset → target offset per partition, or undefined. */
async function checkpointed(group: string) {
  const { checkpoints } = await client!.listCheckpoints({ flow: FLOW, group });
  return checkpoints.filter((c) => c.sourceTopic === TOPIC);
}

/** Waits until every partition's checkpoint says `positions`; the ms from now until then. */
async function waitForCheckpoints(group: string, positions: readonly bigint[], timeoutMs: number) {
  const start = performance.now();
  await waitFor(
    `checkpoints of ${group} at ${positions.join(", ")}`,
    async () => {
      const found = await checkpointed(group);
      return positions.every((offset, partition) =>
        found.some((c) => c.partition === partition && BigInt(c.sourceOffset) === offset),
      );
    },
    { timeoutMs, intervalMs: 25 },
  );
  return performance.now() - start;
}

async function metric(series: string): Promise<number> {
  const text = await (await fetch(`http://${offsets.endpoints.metrics}/metrics`)).text();
  const [name, labels = ""] = series.split("{");
  const wanted = labels.replace(/}$/, "").split(",").filter(Boolean);
  const lines = text
    .split("\n")
    .filter((l) => l.startsWith(name!) && wanted.every((label) => l.includes(label)));
  return lines.reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
}

test("a group's commit is checkpointed in the target within 2 s, exactly", async () => {
  // The tail starts at the end of __consumer_offsets: a first commit proves it follows.
  await commit("cc-warm-up", [1n, 1n]);
  await waitForCheckpoints("cc-warm-up", [1n, 1n], 30_000);
  const delays: number[] = [];
  for (const [a, b] of [
    [10n, 20n],
    [11n, 20n],
    [40n, 65n],
    [100n, 100n],
  ] as const) {
    const start = performance.now();
    await commit("cc-fast", [a, b]);
    await waitForCheckpoints("cc-fast", [a, b], 10_000);
    delays.push(Math.round(performance.now() - start));
  }
  process.stdout.write(`commit → checkpoint in the target (ms): ${delays.join(", ")}\n`);
  for (const d of delays) assert.ok(d <= BOUND_MS, `${d} ms > ${BOUND_MS} ms: ${delays}`);
  // Checkpoints carry the exact translation of the committed offset (the agent copied it all).
  const { offsets: answers } = await client!.translateOffsets({
    flow: FLOW,
    offsets: [0, 1].map((partition) => ({ topic: TOPIC, partition, offset: "100" })),
  });
  for (const c of await checkpointed("cc-fast")) {
    assert.equal(c.targetOffset, answers[c.partition]!.targetOffset);
    assert.equal(c.metadata, `meta-${c.partition}`);
  }
  assert.ok((await metric(`geo_offsets_commit_records_total{outcome="followed"}`)) >= 10);
  assert.ok(
    (await metric(`geo_offsets_commit_checkpoint_lag_seconds_count{flow="${FLOW}"}`)) >= 10,
  );
});

test("a real consumer group's metadata records are skipped and counted; its commits followed", async () => {
  const consumer = stack.pair.source.kafka.consumer({ groupId: "cc-consumer" });
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  let read = 0;
  await consumer.run({
    eachMessage: async () => {
      read++;
    },
  });
  try {
    await waitFor("cc-consumer read everything", () => read === PARTITIONS * RECORDS, {
      timeoutMs: 60_000,
    });
    await waitForCheckpoints("cc-consumer", [BigInt(RECORDS), BigInt(RECORDS)], 10_000);
  } finally {
    await consumer.disconnect();
  }
  assert.ok((await metric(`geo_offsets_commit_records_total{outcome="other"}`)) > 0);
  assert.equal(await metric(`geo_offsets_commit_records_total{outcome="undecodable"}`), 0);
});

test("the round repairs what the tail did not see: commits made while the service was down", async () => {
  await stack.kill(offsets);
  await commit("cc-missed", [30n, 31n]);
  await startOffsetsService();
  // Not the tail (it starts at the end): the first round once the target index is read.
  await waitForCheckpoints("cc-missed", [30n, 31n], 30_000);
  assert.equal(await metric(`geo_offsets_commit_records_total{outcome="followed"}`), 0);
  // And the restarted tail follows new commits again.
  const start = performance.now();
  await commit("cc-missed", [50n, 51n]);
  await waitForCheckpoints("cc-missed", [50n, 51n], 10_000);
  const ms = performance.now() - start;
  assert.ok(ms <= BOUND_MS, `${Math.round(ms)} ms after the restart`);
});

test("a group ahead of replication is checkpointed at the replicated end, exactly", async () => {
  // Committed past what was copied (here: past the source's end): a failover translating the
  // group's own offset would find it NOT_YET_REPLICATED and refuse to commit it.
  const ahead = BigInt(RECORDS + 7);
  await commit("cc-ahead", [ahead, ahead]);
  await waitForCheckpoints("cc-ahead", [BigInt(RECORDS), BigInt(RECORDS)], 10_000);
  for (const c of await checkpointed("cc-ahead")) {
    assert.equal(c.targetOffset, String(RECORDS));
    assert.equal(c.exact, true, `partition ${c.partition} at ${c.sourceOffset}`);
  }
});

test("a failover from checkpoints starts at the group's last commit followed, not yet written", async () => {
  await stack.kill(offsets);
  await commit("cc-failover", [20n, 30n]);
  const startedAt = performance.now();
  await startOffsetsService(SLOW_PASSES);
  // The first round checkpoints the commit made while the service was down; the next is far off.
  await waitForCheckpoints("cc-failover", [20n, 30n], 30_000);
  // A newer commit, followed by the tail (it starts at the end of __consumer_offsets: commit
  // until it is seen), held for the pass a minute after the start.
  await waitFor(
    "the tail following cc-failover's commit",
    async () => {
      await commit("cc-failover", [70n, 80n]);
      return (await metric(`geo_offsets_commit_records_total{outcome="followed"}`)) >= 2;
    },
    { timeoutMs: 30_000, intervalMs: 1000 },
  );
  const written = (await checkpointed("cc-failover")).map((c) => c.sourceOffset);
  assert.deepEqual(written, ["20", "30"], "not written before the failover asks");
  await stack.pair.source.cluster.stop();
  const answer = await client!.commitTranslatedOffsets(
    { flow: FLOW, group: "cc-failover", actor: "test" },
    { timeoutMs: 30_000 },
  );
  const elapsed = performance.now() - startedAt;
  assert.ok(elapsed < 60_000, `${Math.round(elapsed)} ms: a pass may have written the commit`);
  assert.deepEqual(
    answer.offsets.map((o) => [o.translation!.sourceOffset, o.committed]),
    [
      ["70", true],
      ["80", true],
    ],
  );
  // Committed in the target exactly at the translation of the group's last commit.
  const { offsets: expected } = await client!.translateOffsets({
    flow: FLOW,
    offsets: [70n, 80n].map((offset, partition) => ({
      topic: TOPIC,
      partition,
      offset: String(offset),
    })),
  });
  const inTarget = await fetchGroupOffsets(stack.pair.target.wire, "cc-failover");
  assert.deepEqual(
    inTarget
      .map((p) => [p.topic, p.partition, String(p.offset)])
      .sort((a, b) => Number(a[1]) - Number(b[1])),
    expected.map((t) => [t.targetTopic, t.partition, t.targetOffset]),
  );
  const again = await client!.translateGroupOffsets(
    { flow: FLOW, group: "cc-failover" },
    { timeoutMs: 30_000 },
  );
  assert.equal(again.fromCheckpoints, true, "the source is down: translated from checkpoints");
});
