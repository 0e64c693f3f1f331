// The offset-translation service end to end: real Kafka clusters, Redis, coordinator, agents and
// the offsets service as processes. A group stops at varied positions on a plain, a compacted
// (with gaps) and a transactional (with aborted batches) topic; after translation a reader on
// the target resumes with exactly the records the group had not consumed.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Code, type GeoError, type GrpcClient } from "@geo/grpc";
import { commitGroupOffsets } from "@geo/kafka-wire";
import { type OffsetTranslationService, offsetsV1 } from "@geo/proto";
import { FLOW, type GeoStack, startGeoStack } from "./support/geo-stack";
import {
  commitAtSource,
  javaTranslateOffsets,
  mm2RuleAnswer,
  produceTopics,
  startServingOffsets,
  waitForGaps,
} from "./support/offsets-fixtures";
import { createTopic, readPartition, SOURCE, TARGET } from "./support/replication-fixtures";
import type { ServiceProcess } from "./support/service-process";
import { waitFor } from "./support/wait-for";

const PARTITIONS = 4;
const TOPICS = ["plain", "compacted", "txn"] as const;

let stack: GeoStack;
let offsets: ServiceProcess;
let client: GrpcClient<typeof OffsetTranslationService>;
const failures = { failed: false };

async function startOffsetsService(): Promise<void> {
  ({ service: offsets, client } = await startServingOffsets(stack));
}

/** Source positions per partition: 0, mid-batch (inside an aborted batch), a gap or batch edge, the end. */
async function positionsOf(topic: string): Promise<bigint[]> {
  const out: bigint[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const records = await readPartition(stack.pair.source, topic, p);
    const end = (await stack.pair.source.wire.listOffsets(topic, [p], "latest"))[0]!.offset;
    const gapAt = records.findIndex((r, i) => i > 0 && records[i - 1]!.offset + 1n < r.offset);
    const edge = gapAt > 0 ? records[gapAt - 1]!.offset + 1n : records[20]!.offset;
    const middle = topic === "txn" ? 15n : records[13]!.offset;
    out.push([0n, middle, edge, end][p]!);
  }
  return out;
}

before(async () => {
  stack = await startGeoStack({
    name: "offsets",
    topics: ["plain"],
    include: [...TOPICS],
    partitions: PARTITIONS,
    coordinators: 1,
    agents: [],
  });
  const source = stack.pair.source;
  await createTopic(source, "compacted", PARTITIONS, {
    "cleanup.policy": "compact",
    "segment.ms": "100",
    "min.cleanable.dirty.ratio": "0.01",
    "min.compaction.lag.ms": "0",
    "delete.retention.ms": "0",
  });
  await createTopic(source, "txn", PARTITIONS);
  await produceTopics(source, PARTITIONS);
  await waitForGaps(source, "compacted", PARTITIONS);
  // Only now replicate: the agent copies the compacted log with its gaps.
  await stack.startAgent("agent-1");
  for (const topic of TOPICS) {
    for (let p = 0; p < PARTITIONS; p++) {
      const want = (await readPartition(source, topic, p)).length;
      await waitFor(
        `${topic}-${p} replicated`,
        async () => {
          const got = await readPartition(stack.pair.target, `${SOURCE}.${topic}`, p);
          return got.length === want;
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
    }
  }
  await startOffsetsService();
});

after(async () => {
  client?.close();
  await stack?.stop(failures.failed);
});

function wrap(name: string, fn: () => Promise<void>) {
  test(name, async () => {
    try {
      await fn();
    } catch (error) {
      failures.failed = true;
      throw error;
    }
  });
}

const translated = new Map<string, offsetsV1.TranslatedOffset[]>();

for (const topic of TOPICS) {
  wrap(
    `${topic}: a target reader resumes with exactly the records the group had not consumed`,
    async () => {
      const group = `g-${topic}`;
      const positions = await positionsOf(topic);
      await commitAtSource(stack.pair.source, group, topic, positions);
      const answer = await client.translateGroupOffsets({ flow: FLOW, group });
      assert.equal(answer.fromCheckpoints, false);
      assert.equal(answer.offsets.length, PARTITIONS);
      translated.set(group, answer.offsets);
      const rows: string[] = [];
      for (const t of answer.offsets) {
        const p = t.partition;
        assert.ok(t.exact, `${topic}-${p}: ${t.reason}`);
        assert.equal(t.metadata, `meta-${p}`);
        const sourceRecords = await readPartition(stack.pair.source, topic, p);
        const targetRecords = await readPartition(stack.pair.target, `${SOURCE}.${topic}`, p);
        const expected = sourceRecords
          .filter((r) => r.offset >= positions[p]!)
          .map((r) => r.value!.toString());
        const resumed = targetRecords
          .filter((r) => r.offset >= BigInt(t.targetOffset))
          .map((r) => r.value!.toString());
        const seen = new Set(resumed);
        const misses = expected.filter((v) => !seen.has(v)).length;
        const duplicates = resumed.length - expected.length + misses;
        const mm2 = mm2RuleAnswer(sourceRecords, targetRecords, positions[p]!);
        rows.push(
          `| ${topic} | ${p} | ${positions[p]} | ${t.targetOffset} (${offsetsV1.TranslationKind[t.kind]}) | ${mm2} | ${mm2 < 0n ? "no sync" : BigInt(t.targetOffset) - mm2} | ${duplicates} | ${misses} |`,
        );
        assert.deepEqual(
          resumed,
          expected,
          `${topic}-${p} from source ${positions[p]} / target ${t.targetOffset}`,
        );
      }
      process.stdout.write(
        `\n| topic | partition | committed | ours (kind) | MM2 rule (last sync + 1) | MM2 re-reads | duplicates | misses |\n|---|---|---|---|---|---|---|---|\n${rows.join("\n")}\n`,
      );
    },
  );
}

wrap(
  "TranslateOffsets: bad input gets clear errors, past-the-end says how much is missing",
  async () => {
    await assert.rejects(
      client.translateOffsets({
        flow: "nope",
        offsets: [{ topic: "plain", partition: 0, offset: "0" }],
      }),
      /NOT_FOUND|no flow "nope"/,
    );
    await assert.rejects(client.translateOffsets({ flow: FLOW, offsets: [] }), /offsets: is empty/);
    await assert.rejects(
      client.translateOffsets({
        flow: FLOW,
        offsets: [{ topic: "plain", partition: -1, offset: "0" }],
      }),
      /partition/,
    );
    await assert.rejects(
      client.translateGroupOffsets({ flow: FLOW, group: "never-committed" }),
      /no committed offsets/,
    );
    const end = (await stack.pair.source.wire.listOffsets("plain", [0], "latest"))[0]!.offset;
    const { offsets: answers } = await client.translateOffsets({
      flow: FLOW,
      offsets: [
        { topic: "plain", partition: 0, offset: String(end + 7n) },
        { topic: "plain", partition: 99, offset: "0" },
        { topic: "not-replicated", partition: 0, offset: "0" },
      ],
    });
    assert.equal(answers[0]!.kind, offsetsV1.TranslationKind.NOT_YET_REPLICATED);
    assert.equal(answers[0]!.recordsNotReplicated, "7");
    assert.equal(answers[0]!.exact, false);
    assert.ok(BigInt(answers[0]!.targetOffset) > 0n);
    assert.equal(answers[1]!.kind, offsetsV1.TranslationKind.NOT_YET_REPLICATED);
    assert.equal(answers[1]!.targetOffset, "-1");
    assert.equal(answers[2]!.kind, offsetsV1.TranslationKind.NOT_REPLICATED);
  },
);

wrap(
  "checkpoints: MM2's topic and format, read by Java's RemoteClusterUtils with the same offsets",
  async () => {
    const group = "g-txn";
    await waitFor(
      "checkpoints of g-txn",
      async () => {
        const { checkpoints } = await client.listCheckpoints({ flow: FLOW, group });
        return (
          checkpoints.length === PARTITIONS && checkpoints.every((c) => BigInt(c.ageMs) < 10_000n)
        );
      },
      { timeoutMs: 30_000 },
    );
    const { checkpoints } = await client.listCheckpoints({ flow: FLOW, group });
    const ours = translated.get(group)!;
    for (const c of checkpoints) {
      const t = ours.find((o) => o.partition === c.partition)!;
      assert.equal(c.targetOffset, t.targetOffset);
      assert.equal(c.targetTopic, `${SOURCE}.txn`);
      assert.ok(c.exact);
    }
    const java = await javaTranslateOffsets(stack.pair.target, SOURCE, group);
    process.stdout.write(
      `RemoteClusterUtils.translateOffsets(${group}): ${JSON.stringify(java)}\n`,
    );
    assert.deepEqual(
      java,
      Object.fromEntries(ours.map((t) => [`${t.targetTopic}-${t.partition}`, t.targetOffset])),
    );
  },
);

wrap(
  "group offset sync: commits into an absent target group, never an active one, never backwards",
  async () => {
    const target = stack.pair.target;
    const remote = `${SOURCE}.plain`;
    const committed = async (group: string) =>
      Object.fromEntries(
        (await target.admin.fetchOffsets({ groupId: group, topics: [remote] }))[0]!.partitions.map(
          (p) => [p.partition, p.offset],
        ),
      );
    const ours = translated.get("g-plain")!;
    await waitFor(
      "g-plain synced into the target",
      async () => {
        const now = await committed("g-plain");
        return ours.every((t) => now[t.partition] === t.targetOffset || t.targetOffset === "0");
      },
      { timeoutMs: 30_000 },
    );

    // Ahead in the target: never moved back.
    const ahead = "g-ahead";
    const end = (await target.wire.listOffsets(remote, [1], "latest"))[0]!.offset;
    const r = await commitGroupOffsets(target.wire, ahead, [
      { topic: remote, partition: 1, offset: end, metadata: null },
    ]);
    assert.equal(r[0]!.errorCode, 0);
    await commitAtSource(stack.pair.source, ahead, "plain", [5n, 5n, 5n, 5n]);
    const dry = await client.commitTranslatedOffsets({ flow: FLOW, group: ahead, dryRun: true });
    assert.equal(dry.dryRun, true);
    const p1 = dry.offsets.find((o) => o.translation?.partition === 1)!;
    assert.equal(p1.committed, false);
    assert.match(p1.reason, /never move backwards/);
    assert.equal(p1.previousTargetOffset, String(end));

    // Active in the target: untouched by sync, refused by CommitTranslatedOffsets.
    const active = "g-active";
    const consumer = target.kafka.consumer({ groupId: active });
    await consumer.connect();
    await consumer.subscribe({ topic: remote, fromBeginning: false });
    await consumer.run({ autoCommit: false, eachMessage: async () => {} });
    try {
      await waitFor("g-active has members", async () => {
        const d = await target.admin.describeGroups([active]);
        return d.groups[0]!.members.length > 0;
      });
      await commitAtSource(stack.pair.source, active, "plain", [7n, 7n, 7n, 7n]);
      await assert.rejects(
        client.commitTranslatedOffsets({ flow: FLOW, group: active }),
        /active member/,
      );
      await waitFor("g-active and g-ahead checkpointed", async () => {
        const { checkpoints } = await client.listCheckpoints({ flow: FLOW });
        return [active, ahead].every((g) => checkpoints.some((c) => c.group === g));
      });
      await new Promise((resolve) => setTimeout(resolve, 6000));
      const activeOffsets = await committed(active);
      assert.ok(
        Object.values(activeOffsets).every((o) => o === "-1"),
        JSON.stringify(activeOffsets),
      );
      assert.equal((await committed(ahead))[1], String(end));
    } finally {
      await consumer.disconnect();
    }
  },
);

wrap(
  "metrics: checkpoint age per group, groups checkpointed, requests, commits, index size",
  async () => {
    const text = await (await fetch(`http://${offsets.endpoints.metrics}/metrics`)).text();
    // Series as written here, without the registry's default `service` label.
    const value = (series: string) => {
      const [name, labels = "}"] = series.split("{");
      const wanted = labels
        .slice(0, -1)
        .split(",")
        .filter((l) => l !== "");
      const line = text
        .split("\n")
        .find((l) => l.startsWith(`${name}{`) && wanted.every((label) => l.includes(label)));
      assert.ok(
        line !== undefined,
        `${series} in /metrics:\n${text
          .split("\n")
          .filter((l) => l.startsWith("geo_offsets"))
          .join("\n")}`,
      );
      return Number(line.split(" ").pop());
    };
    assert.ok(value(`geo_offsets_checkpoint_age_seconds{flow="${FLOW}",group="g-plain"}`) < 30);
    assert.ok(value(`geo_offsets_groups_checkpointed{flow="${FLOW}"}`) >= 3);
    assert.ok(value("geo_offsets_index_partitions") >= PARTITIONS * TOPICS.length);
    assert.ok(value("geo_offsets_index_runs") >= PARTITIONS * TOPICS.length);
    assert.ok(value(`geo_offsets_group_offset_commits_total{flow="${FLOW}",trigger="sync"}`) > 0);
    assert.ok(value(`geo_offsets_translation_requests_total{method="TranslateGroupOffsets"}`) > 0);
    assert.ok(
      value(`geo_offsets_translation_errors_total{method="TranslateOffsets",code="NOT_FOUND"}`) > 0,
    );
  },
);

wrap(
  "a flow created through the admin API: its group filter and sync_group_offsets are honoured",
  async () => {
    const admin = stack.admin(stack.coordinators[0]!);
    const name = "api-orders-flow";
    const topic = "api-orders";
    await assert.rejects(
      admin.createFlow({
        flow: { name, sourceCluster: SOURCE, targetCluster: TARGET, groups: { include: ["a-(x"] } },
      }),
      (error: GeoError) =>
        error.code === Code.INVALID_ARGUMENT && /flow\.groups\.include\[0\]/.test(error.message),
    );
    await createTopic(stack.pair.source, topic, 2);
    const producer = stack.pair.source.kafka.producer();
    await producer.connect();
    for (const partition of [0, 1]) {
      const messages = Array.from({ length: 10 }, (_, i) => ({ value: `${partition}-${i}` }));
      await producer.send({ topic, messages: messages.map((m) => ({ ...m, partition })) });
    }
    await producer.disconnect();
    const { flow } = await admin.createFlow({
      flow: {
        name,
        sourceCluster: SOURCE,
        targetCluster: TARGET,
        topics: { include: [topic] },
        groups: { include: ["api-.*"] },
        syncGroupOffsets: false,
      },
    });
    assert.deepEqual(flow?.groups?.exclude, [], "an explicit empty exclude is kept");
    assert.equal(flow?.syncGroupOffsets, false);
    await commitAtSource(stack.pair.source, "api-g", topic, [3n, 7n]);
    await commitAtSource(stack.pair.source, "other-g", topic, [4n, 4n]);
    const checkpointed = async () =>
      (await client.listCheckpoints({ flow: name })).checkpoints.map((c) => c.group);
    await waitFor(
      "api-g checkpointed for the API flow",
      async () => (await checkpointed()).filter((g) => g === "api-g").length === 2,
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    // Two more rounds (every 4 s): a sync, were it on, would have committed by now.
    await new Promise((resolve) => setTimeout(resolve, 9000));
    assert.deepEqual(
      [...new Set(await checkpointed())],
      ["api-g"],
      "other-g is outside the filter",
    );
    const remote = `${SOURCE}.${topic}`;
    const targetOffsets = async () =>
      (
        await stack.pair.target.admin.fetchOffsets({ groupId: "api-g", topics: [remote] })
      )[0]!.partitions.map((p) => p.offset);
    assert.deepEqual(await targetOffsets(), ["-1", "-1"], "sync_group_offsets: false");

    await admin.updateFlow({
      flow: { name, syncGroupOffsets: true },
      updateMask: { paths: ["sync_group_offsets"] },
      expectedVersion: flow!.version,
    });
    const { offsets } = await client.translateGroupOffsets({ flow: name, group: "api-g" });
    const wanted = offsets.sort((a, b) => a.partition - b.partition).map((t) => t.targetOffset);
    await waitFor(
      "api-g synced into the target after UpdateFlow",
      async () => JSON.stringify(await targetOffsets()) === JSON.stringify(wanted),
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    await admin.deleteFlow({ name });
  },
);

wrap(
  "source cluster stopped: answers from target-side data; the same after a restart",
  async () => {
    const before = translated.get("g-plain")!;
    await stack.pair.source.cluster.stop();
    const fromCheckpoints = await client.translateGroupOffsets(
      { flow: FLOW, group: "g-plain" },
      { timeoutMs: 30_000 },
    );
    assert.equal(fromCheckpoints.fromCheckpoints, true);
    assert.ok(BigInt(fromCheckpoints.checkpointAgeMs) < 60_000n);
    assert.deepEqual(
      fromCheckpoints.offsets.map((o) => o.targetOffset),
      before.map((o) => o.targetOffset),
    );
    client.close();
    await offsets.stop();
    await startOffsetsService();
    const restarted = await client.translateGroupOffsets(
      { flow: FLOW, group: "g-plain" },
      { timeoutMs: 30_000 },
    );
    assert.equal(restarted.fromCheckpoints, true);
    assert.deepEqual(
      restarted.offsets.map((o) => o.targetOffset),
      before.map((o) => o.targetOffset),
    );
    const explicit = await client.translateOffsets({
      flow: FLOW,
      offsets: before.map((o) => ({
        topic: "plain",
        partition: o.partition,
        offset: o.sourceOffset,
      })),
    });
    assert.deepEqual(
      explicit.offsets.map((o) => o.targetOffset),
      before.map((o) => o.targetOffset),
    );
  },
);
