// A planned switchover against the real thing: two Kafka clusters, Redis, the coordinator, an
// agent in eu-west replicating us-east->eu-west, the offsets service and the health service, all
// processes. A consumer group stops halfway through a sequenced topic at us-east; a drill on the
// healthy pair passes and fails (saying why) once eu-west's agent is stopped; the Switchover then
// drains (lag 0 through GetFlowHealth), pauses the flow, commits the group's translated offsets
// into eu-west (CommitTranslatedOffsets) and flips the active region; a consumer of the same
// group at eu-west continues: every record once, none missing.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createGrpcClient, type GrpcClient } from "@geo/grpc";
import { findFreePorts } from "@geo/harness";
import { createLogger } from "@geo/logging";
import { CoordinatorService, healthV1, ReplicationHealthService } from "@geo/proto";
import { type Admin, Kafka, logLevel } from "kafkajs";
import { createTopicsEverywhere, type RegionStack, startRegionStack } from "./support/region-stack";
import { type ServiceProcess, startService } from "./support/service-process";
import { waitFor } from "./support/wait-for";

const logger = createLogger({ service: "switchover-e2e-test", level: "warn" });
const GROUP = "billing";
const TOPIC = "orders";
const REMOTE = `us-east.${TOPIC}`;
const PARTITIONS = 3;
const FIRST_BATCH = 1500;
const CONSUMED_AT_SOURCE = 700;
const TOTAL = 2000;

let stack: RegionStack;
let coordinator: ServiceProcess;
let health: ServiceProcess;
let offsets: ServiceProcess;
let agent: ServiceProcess | undefined;
let client: GrpcClient<typeof ReplicationHealthService>;
let admin: GrpcClient<typeof CoordinatorService>;
let kafkas: Kafka[];
let admins: Admin[];

before(async () => {
  const [coordinatorPort, healthPort, offsetsPort] = await findFreePorts(3);
  stack = await startRegionStack({
    name: "switchover",
    keyPrefix: "geo-switchover:",
    logger,
    rest: `flowGroups:
  - { name: orders, clusters: [us-east, eu-west], consumerGroups: [${GROUP}], drainTimeoutMs: 60000 }
services:
  coordinator: { listen: "127.0.0.1:${coordinatorPort}", metricsListen: "127.0.0.1:0" }
  health: { listen: "127.0.0.1:${healthPort}", metricsListen: "127.0.0.1:0" }
  offsets: { listen: "127.0.0.1:${offsetsPort}", metricsListen: "127.0.0.1:0" }
  agent: { listen: "127.0.0.1:0", metricsListen: "127.0.0.1:0" }
logging: { level: info }
`,
  });
  kafkas = stack.clusters.map(
    (cluster) =>
      new Kafka({
        clientId: "switchover-test",
        brokers: [...cluster.bootstrapServers],
        logLevel: logLevel.NOTHING,
      }),
  );
  admins = kafkas.map((kafka) => kafka.admin());
  await Promise.all(admins.map((a) => a.connect()));
  await createTopicsEverywhere([admins[0]!], [TOPIC]);
  [coordinator, health, offsets] = await Promise.all([
    startService("coordinator", ["--config", stack.configPath]),
    startService("health", ["--config", stack.configPath]),
    startService("offsets", ["--config", stack.configPath]),
  ]);
  admin = createGrpcClient(CoordinatorService, {
    address: coordinator.endpoints.grpc!,
    defaultTimeoutMs: 30_000,
  });
  // An API-owned flow: the coordinator pauses only those (see the report in the README).
  // Its own group sync is off, so the group's position in eu-west can only come from the
  // switchover's CommitTranslatedOffsets.
  await waitFor("flow east-west created (once a coordinator leads)", async () => {
    await admin.createFlow({
      flow: {
        name: "east-west",
        sourceCluster: "us-east",
        targetCluster: "eu-west",
        topics: { include: [TOPIC] },
        syncGroupOffsets: false,
      },
    });
    return true;
  });
  client = createGrpcClient(ReplicationHealthService, {
    address: health.endpoints.grpc!,
    defaultTimeoutMs: 120_000,
  });
  await produce(0, FIRST_BATCH);
  agent = await startAgent("agent-eu-1");
});

after(async () => {
  client?.close();
  admin?.close();
  await Promise.all((admins ?? []).map((a) => a.disconnect()));
  await Promise.all([coordinator?.stop(), health?.stop(), offsets?.stop(), agent?.stop()]);
  await stack?.stop();
});

async function startAgent(id: string): Promise<ServiceProcess> {
  const started = await startService("agent", [
    "--config",
    stack.configPath,
    "--region",
    "eu-west",
    "--id",
    id,
  ]);
  await waitFor(
    `${id} connected`,
    async () =>
      (await admin.listAgents({ region: "eu-west" })).agents.some(
        (a) => a.connected && a.id === id,
      ),
    { timeoutMs: 60_000 },
  );
  return started;
}

/** Records `from..to-1`, value = the sequence number, partition = sequence mod PARTITIONS. */
async function produce(from: number, to: number): Promise<void> {
  const producer = kafkas[0]!.producer();
  await producer.connect();
  const messages = [];
  for (let seq = from; seq < to; seq++) {
    messages.push({ partition: seq % PARTITIONS, key: String(seq), value: String(seq) });
  }
  await producer.send({ topic: TOPIC, messages });
  await producer.disconnect();
}

/**
 * Consumes `topic` as GROUP in cluster `index` until `enough` says so; commits exactly what it
 * processed (records delivered after that are not counted) and leaves the group.
 */
async function consume(
  index: number,
  topic: string,
  enough: (seen: number[]) => boolean,
  timeoutMs: number,
): Promise<number[]> {
  const seen: number[] = [];
  const positions = new Map<number, string>();
  const consumer = kafkas[index]!.consumer({ groupId: GROUP });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let done = false;
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      if (done) return;
      seen.push(Number(message.value!.toString()));
      positions.set(partition, String(BigInt(message.offset) + 1n));
      if (enough(seen)) done = true;
    },
  });
  try {
    await waitFor(`${GROUP} consumed enough of ${topic}`, () => done, { timeoutMs });
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${seen.length} records read`);
  } finally {
    await consumer.commitOffsets(
      [...positions].map(([partition, offset]) => ({ topic, partition, offset })),
    );
    await consumer.disconnect();
  }
  return seen;
}

async function stateOf() {
  let state: healthV1.RegionState | undefined;
  await waitFor("GetRegionState orders", async () => {
    state = (await client.getRegionState({ flowGroup: "orders" })).state;
    return state !== undefined;
  });
  return state!;
}

const stepNames = (steps: readonly healthV1.TransitionStep[]) =>
  steps.map((s) => `${s.name}${s.ok ? "" : "!"}`);

describe("planned switchover us-east -> eu-west (real processes, Kafka, Redis)", () => {
  let consumedAtSource: number[] = [];

  it("a consumer group stops halfway through the sequence at us-east", async () => {
    consumedAtSource = await consume(0, TOPIC, (seen) => seen.length >= CONSUMED_AT_SOURCE, 60_000);
    assert.equal(consumedAtSource.length, CONSUMED_AT_SOURCE);
  });

  it("a drill on the healthy pair passes and moves nothing", async () => {
    const before = await stateOf();
    let answer: healthV1.SwitchoverResponse | undefined;
    // The offsets service reads the flow's offset map before it can translate exactly.
    await waitFor(
      "a passing drill",
      async () => {
        answer = await client.switchover({
          flowGroup: "orders",
          targetRegion: "eu-west",
          dryRun: true,
          actor: "drill",
        });
        return answer.transition?.outcome === healthV1.TransitionOutcome.DRILL_PASSED;
      },
      { timeoutMs: 60_000, intervalMs: 2000 },
    );
    const steps = stepNames(answer!.steps);
    console.log(`drill (healthy pair): ${steps.join(", ")}`);
    assert.ok(steps.includes("commit-offsets"), steps.join());
    assert.match(answer!.steps.find((s) => s.name === "check-agents")!.detail, /agent-eu-1/);
    const after = await stateOf();
    assert.equal(after.activeRegion, "us-east");
    assert.equal(after.epoch, before.epoch);
  });

  it("with eu-west's agent stopped, the drill fails and says why", async () => {
    await agent!.stop();
    agent = undefined;
    await waitFor(
      "eu-west without a live agent",
      async () => !(await admin.listAgents({ region: "eu-west" })).agents.some((a) => a.connected),
      { timeoutMs: 60_000 },
    );
    const answer = await client.switchover({
      flowGroup: "orders",
      targetRegion: "eu-west",
      dryRun: true,
      actor: "drill",
    });
    assert.equal(answer.transition?.outcome, healthV1.TransitionOutcome.DRILL_FAILED);
    assert.match(answer.transition?.error ?? "", /check-agents: region eu-west has no live agent/);
    // A new agent (a restarted one keeps its id only once the old session expired).
    agent = await startAgent("agent-eu-2");
  });

  it("switches over: drains, pauses, commits the translated offsets, flips; the group continues at eu-west exactly", async () => {
    // Written at us-east just before the switchover: the drain must wait for them.
    await produce(FIRST_BATCH, TOTAL);
    const before = await stateOf();
    const answer = await client.switchover({
      flowGroup: "orders",
      targetRegion: "eu-west",
      expectedEpoch: before.epoch,
      actor: "test",
      reason: "planned switchover end to end",
    });
    const record = answer.transition!;
    const steps = stepNames(answer.steps);
    console.log(
      `switchover: ${steps.join(", ")}; ${answer.steps.map((s) => `${s.name}: ${s.detail}`).join(" | ")}`,
    );
    assert.equal(record.outcome, healthV1.TransitionOutcome.SUCCEEDED, record.error);
    for (const step of ["drain", "pause-flow", "commit-offsets"]) {
      assert.ok(steps.includes(step), `${step} in ${steps.join()}`);
    }
    assert.equal(answer.state?.activeRegion, "eu-west");
    assert.equal(answer.state?.epoch, String(Number(before.epoch) + 1));
    assert.equal((await admin.getFlow({ name: "east-west" })).flow?.paused, true);
    const rtoMs = Number(record.rto?.seconds ?? 0n) * 1000 + (record.rto?.nanos ?? 0) / 1e6;
    assert.equal(record.rpoRecords, "0");
    assert.ok(rtoMs > 0 && rtoMs < 60_000, `RTO ${rtoMs} ms`);

    const targetAdmin = admins[1]!;
    console.log(
      `at eu-west: ${GROUP} ${JSON.stringify(await targetAdmin.fetchOffsets({ groupId: GROUP, topics: [REMOTE] }))}; ` +
        `ends ${JSON.stringify(await targetAdmin.fetchTopicOffsets(REMOTE))}`,
    );
    const continued = await consume(
      1,
      REMOTE,
      (seen) => consumedAtSource.length + seen.length >= TOTAL,
      90_000,
    );
    const all = [...consumedAtSource, ...continued];
    const counts = new Map<number, number>();
    for (const seq of all) counts.set(seq, (counts.get(seq) ?? 0) + 1);
    const duplicates = all.length - counts.size;
    let misses = 0;
    for (let seq = 0; seq < TOTAL; seq++) if (!counts.has(seq)) misses++;
    console.log(
      `switchover figures: RTO ${rtoMs.toFixed(0)} ms, RPO ${record.rpoRecords} records, ` +
        `${consumedAtSource.length} consumed at us-east, ${continued.length} at eu-west, ` +
        `duplicates ${duplicates}, misses ${misses}`,
    );
    assert.equal(duplicates, 0);
    assert.equal(misses, 0);
  });
});
