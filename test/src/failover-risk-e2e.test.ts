// An unplanned failover that loses records, and the failback that finds them, against the real
// thing (the rig of switchover-e2e): a consumer group halfway through a sequenced topic at
// us-east, checkpointed into eu-west; then the flow us-east->eu-west is paused while producers
// keep writing to us-east, so records pile up unreplicated, and us-east's broker stops. The
// failover reports the last lag measured before the loss as the records at risk; they must be
// exactly the records missing at eu-west. When us-east returns (with more writes made there
// during the outage), the failback lists exactly the records eu-west never received, by
// partition and offset range, and copies them into `orders.diverged.us-east` in eu-west.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, createGrpcClient, GeoError } from "@geo/grpc";
import { createLogger } from "@geo/logging";
import { healthV1, OffsetTranslationService } from "@geo/proto";
import { Kafka, logLevel } from "kafkajs";
import {
  durationMs,
  FLOW_NAME,
  GROUP,
  REMOTE,
  type SwitchoverRig,
  sequenceCheck,
  startSwitchoverRig,
  TOPIC,
} from "./support/switchover-rig";
import { waitFor } from "./support/wait-for";

const logger = createLogger({ service: "failover-risk-e2e-test", level: "warn" });
const REPLICATED = 900;
const CONSUMED_AT_SOURCE = 450;
/** Written to us-east while the flow is paused: at risk when us-east is lost. */
const AT_RISK_END = 1200;
/** Written to us-east after it returns, before the failback (a client still writing there). */
const OUTAGE_END = 1260;
const SIDE_TOPIC = `${TOPIC}.diverged.us-east`;
const REVERSE_FLOW = "west-east";

let rig: SwitchoverRig;

before(async () => {
  rig = await startSwitchoverRig("failover-risk", logger);
  await rig.produce(0, REPLICATED);
  await rig.startAgent("agent-eu-1");
});

after(async () => {
  await rig?.stop();
});

/** Every record of `topic` in cluster `index` (value = sequence), with its partition. */
async function readAll(
  index: number,
  topic: string,
): Promise<{ seq: number; partition: number }[]> {
  const ends = await rig.admins[index]!.fetchTopicOffsets(topic);
  const total = ends.reduce((sum, p) => sum + Number(p.high), 0);
  const kafka = new Kafka({
    clientId: "failover-risk-reader",
    brokers: [...rig.stack.clusters[index]!.bootstrapServers],
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}` });
  const seen: { seq: number; partition: number }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      seen.push({ seq: Number(message.value!.toString()), partition });
    },
  });
  try {
    await waitFor(`${total} records of ${topic} read`, () => seen.length >= total, {
      timeoutMs: 120_000,
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

/** High watermark per partition of `topic` in cluster `index`. */
async function endsOf(index: number, topic: string): Promise<bigint[]> {
  const ends = await rig.admins[index]!.fetchTopicOffsets(topic);
  return ends.sort((a, b) => a.partition - b.partition).map((p) => BigInt(p.high));
}

describe("records at risk of an unplanned failover, and the divergence a failback finds", () => {
  let consumedAtSource: number[] = [];
  let checkpointed = 0n;
  let missingAtTarget: Set<number>;
  let replicatedEnds: bigint[];

  it("the group stops halfway at us-east; the flow is paused while us-east keeps taking writes", async () => {
    consumedAtSource = await rig.consume(
      0,
      TOPIC,
      (seen) => seen.length >= CONSUMED_AT_SOURCE,
      120_000,
    );
    const offsets = createGrpcClient(OffsetTranslationService, {
      address: rig.offsets.endpoints.grpc!,
      defaultTimeoutMs: 10_000,
    });
    try {
      await waitFor(
        `${GROUP}'s checkpoints at its committed positions`,
        async () => {
          const { checkpoints } = await offsets.listCheckpoints({ flow: FLOW_NAME, group: GROUP });
          checkpointed = checkpoints.reduce((s, c) => s + BigInt(c.sourceOffset), 0n);
          return checkpointed === BigInt(consumedAtSource.length);
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
    } finally {
      offsets.close();
    }
    await waitFor(
      "everything replicated",
      async () => (await endsOf(1, REMOTE)).reduce((s, e) => s + e, 0n) === BigInt(REPLICATED),
      { timeoutMs: 120_000 },
    );
    await rig.admin.pauseFlow({ name: FLOW_NAME, actor: "test", reason: "pile records up" });
    // Only once the agent stopped the flow's units: a fetch already under way would otherwise
    // still carry the next records across.
    await waitFor(
      "agent-eu-1 runs no unit",
      async () =>
        (await rig.admin.listAgents({ region: "eu-west" })).agents.every(
          (a) => a.runningUnitCount === 0,
        ),
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    await rig.produce(REPLICATED, AT_RISK_END);
    // The failover can only report what the health monitor measured before the loss.
    await waitFor(
      `the health service measured ${AT_RISK_END - REPLICATED} records behind`,
      async () => {
        const health = await rig.client.getFlowHealth({ flow: FLOW_NAME, topics: [TOPIC] });
        const behind = health.partitions.reduce((s, p) => s + BigInt(p.lag?.records ?? "0"), 0n);
        return !health.lagUnknown && behind === BigInt(AT_RISK_END - REPLICATED);
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
  });

  it("fails over with us-east stopped: the records at risk are exactly those missing at eu-west; the group continues there", async () => {
    const source = rig.stack.clusters[0]!;
    await source.stopBroker(source.brokers[0]!.nodeId);
    const before = await rig.stateOf();
    let answer: healthV1.FailoverResponse | undefined;
    await waitFor(
      "a failover accepted once us-east failed 3 probes",
      async () => {
        answer = await rig.client.failover({
          flowGroup: "orders",
          targetRegion: "eu-west",
          expectedEpoch: before.epoch,
          actor: "test",
          reason: "us-east lost",
        });
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    const record = answer!.transition!;
    console.log(`failover: ${answer!.steps.map((s) => `${s.name}: ${s.detail}`).join(" | ")}`);
    assert.equal(record.outcome, healthV1.TransitionOutcome.SUCCEEDED, record.error);
    assert.equal(record.rpoUnknown, false);

    const atTarget = await readAll(1, REMOTE);
    replicatedEnds = await endsOf(1, REMOTE);
    const present = new Set(atTarget.map((r) => r.seq));
    missingAtTarget = new Set(
      Array.from({ length: AT_RISK_END }, (_, seq) => seq).filter((seq) => !present.has(seq)),
    );
    const missingByPartition = [0, 1, 2].map(
      (p) => [...missingAtTarget].filter((seq) => seq % 3 === p).length,
    );
    console.log(
      `records at risk reported ${record.rpoRecords}, missing at eu-west ${missingAtTarget.size} ` +
        `(by partition ${missingByPartition.join("/")})`,
    );
    assert.equal(record.rpoRecords, String(missingAtTarget.size));
    assert.equal(missingAtTarget.size, AT_RISK_END - REPLICATED);
    assert.deepEqual(
      record.recordsAtRisk.map((r) => [r.flow, r.sourceTopic, r.partition, Number(r.records)]),
      missingByPartition.map((n, p) => [FLOW_NAME, TOPIC, p, n]).filter(([, , , n]) => n !== 0),
    );
    for (const risk of record.recordsAtRisk) assert.ok(risk.measureTime, "measured when");
    // One checkpoint per partition the group committed at us-east.
    const committedPartitions = new Set(consumedAtSource.map((seq) => seq % 3)).size;
    assert.deepEqual(
      record.checkpointAges.map((a) => [a.flow, a.group, a.partitions]),
      [[FLOW_NAME, GROUP, committedPartitions]],
    );

    // The group resumes from its checkpoints: it reads what eu-west has, and at most what it
    // consumed at us-east since the last checkpoint again.
    const continued = await rig.consume(
      1,
      REMOTE,
      (seen) => new Set([...consumedAtSource, ...seen]).size >= present.size,
      120_000,
    );
    const all = [...consumedAtSource, ...continued];
    const { duplicates, misses } = sequenceCheck(all, AT_RISK_END);
    const sinceCheckpoint = consumedAtSource.length - Number(checkpointed);
    console.log(
      `failover with records at risk: RTO ${durationMs(record.rto).toFixed(0)} ms, RPO ${record.rpoRecords} records, ` +
        `checkpoint age ${durationMs(record.checkpointAges[0]?.oldestAge).toFixed(0)} ms, ` +
        `${consumedAtSource.length} consumed at us-east (${sinceCheckpoint} since the checkpoint), ` +
        `${continued.length} at eu-west, duplicates ${duplicates}, misses ${misses} (= records at risk)`,
    );
    assert.ok(duplicates <= sinceCheckpoint, `${duplicates} duplicates > ${sinceCheckpoint}`);
    assert.equal(misses, missingAtTarget.size);
  });

  it("refuses a failback while us-east is down, then with us-east back lists exactly the diverged records and copies them", async () => {
    const state = await rig.stateOf();
    const request = {
      flowGroup: "orders",
      targetRegion: "us-east",
      expectedEpoch: state.epoch,
      actor: "test",
      reason: "us-east is back",
      copyDiverged: true,
      catchUpTimeout: { seconds: 180n, nanos: 0 },
    };
    await assert.rejects(rig.client.failback(request), (error: unknown) => {
      assert.ok(error instanceof GeoError, String(error));
      assert.equal(error.code, Code.FAILED_PRECONDITION, error.message);
      return true;
    });
    const source = rig.stack.clusters[0]!;
    await source.startBroker(source.brokers[0]!.nodeId);
    await waitFor("us-east answers", async () => (await endsOf(0, TOPIC)).length === 3, {
      timeoutMs: 120_000,
      intervalMs: 1000,
    });
    // A client that still reached us-east during the outage.
    await rig.produce(AT_RISK_END, OUTAGE_END);
    const sourceEnds = await endsOf(0, TOPIC);
    await prepareReverseFlow();

    const answer = await rig.client.failback(request);
    const record = answer.transition!;
    console.log(`failback: ${answer.steps.map((s) => `${s.name}: ${s.detail}`).join(" | ")}`);
    assert.equal(record.outcome, healthV1.TransitionOutcome.SUCCEEDED, record.error);
    assert.equal(answer.state?.activeRegion, "us-east");
    assert.match(
      answer.steps.find((s) => s.name === "commit-offsets")!.detail,
      /^nothing to commit: group "billing" has no committed offsets/,
    );
    const expected = [0, 1, 2]
      .map((p) => ({
        flow: FLOW_NAME,
        sourceTopic: TOPIC,
        partition: p,
        startOffset: String(replicatedEnds[p]),
        endOffset: String(sourceEnds[p]),
        records: String(sourceEnds[p]! - replicatedEnds[p]!),
        copiedToTopic: SIDE_TOPIC,
      }))
      .filter((r) => r.records !== "0");
    assert.deepEqual(
      record.diverged.map((r) => ({
        flow: r.flow,
        sourceTopic: r.sourceTopic,
        partition: r.partition,
        startOffset: r.startOffset,
        endOffset: r.endOffset,
        records: r.records,
        copiedToTopic: r.copiedToTopic,
      })),
      expected,
    );
    // The kept record says the same.
    const kept = await rig.client.getRegionState({ flowGroup: "orders", historyLimit: 1 });
    assert.equal(kept.transitions[0]?.diverged.length, expected.length);

    const side = await readAll(1, SIDE_TOPIC);
    const diverged = [
      ...missingAtTarget,
      ...Array.from({ length: OUTAGE_END - AT_RISK_END }, (_, i) => AT_RISK_END + i),
    ];
    console.log(
      `failback divergence: ${record.diverged.reduce((s, r) => s + Number(r.records), 0)} records in ${record.diverged.length} ranges, ` +
        `${side.length} copied into ${SIDE_TOPIC} (${missingAtTarget.size} at risk at the failover + ${OUTAGE_END - AT_RISK_END} written during the outage)`,
    );
    assert.deepEqual(
      side.map((r) => r.seq).sort((a, b) => a - b),
      diverged.sort((a, b) => a - b),
    );
    for (const r of side)
      assert.equal(r.partition, r.seq % 3, `record ${r.seq} kept its partition`);
  });
});

/**
 * The failback reverses the flows: it needs eu-west -> us-east, an agent in us-east, and the
 * offsets service knowing the new flow (it commits the group's offsets over it).
 */
async function prepareReverseFlow(): Promise<void> {
  await rig.admin.createFlow({
    flow: {
      name: REVERSE_FLOW,
      sourceCluster: "eu-west",
      targetCluster: "us-east",
      topics: { include: [TOPIC] },
      syncGroupOffsets: false,
    },
  });
  await rig.startAgent("agent-us-1", "us-east");
  const offsets = createGrpcClient(OffsetTranslationService, {
    address: rig.offsets.endpoints.grpc!,
    defaultTimeoutMs: 10_000,
  });
  try {
    await waitFor(
      `the offsets service knows ${REVERSE_FLOW}`,
      async () => {
        // Known once it answers about the group: billing consumed us-east.orders in eu-west,
        // which west-east does not replicate, so it has no offsets to move back.
        const answer = await offsets
          .commitTranslatedOffsets({ flow: REVERSE_FLOW, group: GROUP, dryRun: true })
          .catch((error: Error) => error);
        if (answer instanceof Error && !/has no committed offsets/.test(answer.message)) {
          throw answer;
        }
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
  } finally {
    offsets.close();
  }
}
