// The passive-side checks against real Kafka and the real replication engine (the agents' code):
// us-east -> eu-west with us-east active, so eu-west's remote topic is passive. The engine's
// writes count 0 foreign writes, also across a second owner with a new producer id; records
// written into eu-west's remote topic directly are counted per partition, in the metric too,
// and put the group in split brain; writes to the passive region's own topic too.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { ClusterConfig } from "@geo/config";
import { createKafkaClient, type Kafka } from "@geo/kafka";
import { type KafkaCluster, startKafkaClusters } from "@geo/local-runtime";
import { createLogger } from "@geo/logging";
import { Registry } from "@geo/metrics";
import { toEpoch } from "@geo/positions";
import { createReplicationEngine, type ReplicationEngine } from "@geo/replication";
import { HealthMonitor } from "./health-monitor";
import type { MonitoredFlow } from "./monitored-flow";
import { PassiveGuard } from "./passive-guard";
import { registerPassiveGuardMetrics } from "./passive-guard-metrics";
import type { GroupView } from "./region-view";

const logger = createLogger({ service: "passive-guard-test", level: "warn" });
const REMOTE = "us-east.orders";
const PARTITIONS = 2;
let kafkaClusters: KafkaCluster[] = [];
let clusters: Record<string, ClusterConfig>;
const kafkas = new Map<string, Kafka>();
let monitor: HealthMonitor;
let guard: PassiveGuard;
const registry = new Registry();
const engines: ReplicationEngine[] = [];

const flow = (name: string, source: string, target: string): MonitoredFlow => ({
  name,
  source,
  target,
  paused: false,
  replicates: (topic) => topic === "orders",
  remoteTopic: (topic) => `${source}.${topic}`,
});
const eastWest = flow("east-west", "us-east", "eu-west");
// The way back exists (paused, as in an active-passive pair ready for failback): its source
// topics are the passive region's own.
const westEast = { ...flow("west-east", "eu-west", "us-east"), paused: true };
const group: GroupView = {
  name: "orders",
  activeCluster: "us-east",
  passiveCluster: "eu-west",
  epoch: toEpoch(1),
  stable: true,
  includes: () => true,
};

before(async () => {
  // Generous: on a machine shared with other suites a broker may need minutes to start.
  kafkaClusters = await startKafkaClusters([{ name: "pg-us-east" }, { name: "pg-eu-west" }], {
    startTimeoutMs: 240_000,
  });
  clusters = {};
  for (const [i, alias] of ["us-east", "eu-west"].entries()) {
    clusters[alias] = {
      alias,
      region: alias,
      bootstrapServers: kafkaClusters[i]!.bootstrapServers,
    } as ClusterConfig;
    kafkas.set(alias, createKafkaClient(clusters[alias]!, { clientId: "pg-test", logger }));
  }
  await createTopic("us-east", "orders");
  await createTopic("eu-west", REMOTE);
  await createTopic("eu-west", "orders");
  monitor = new HealthMonitor({
    config: {
      clusters,
      monitoring: {
        probeIntervalMs: 500,
        heartbeatIntervalMs: 1000,
        lagSeries: "partition",
        foreignWriteGraceMs: 2000,
        keyConflictWindowMs: 0,
        keyConflictMaxKeys: 1000,
      },
    },
    flows: { list: () => [eastWest, westEast] },
    logger,
  });
  let metrics: ReturnType<typeof registerPassiveGuardMetrics> | undefined;
  guard = new PassiveGuard({
    monitor,
    regions: { ready: () => true, groups: () => [group] },
    logger,
    intervalMs: 300,
    foreignGraceMs: 2000,
    onWatched: (report) => metrics?.watched(report),
    onForeign: (report, added) => metrics?.foreign(report, added),
  });
  metrics = registerPassiveGuardMetrics(
    registry,
    () => guard.splitBrain,
    () => guard.activeActive,
  );
  monitor.start();
  guard.start();
});

after(async () => {
  for (const engine of engines) await engine.close().catch(() => {});
  await guard?.close();
  await monitor?.close();
  await Promise.all(kafkaClusters.map((c) => c.stop()));
});

async function createTopic(alias: string, topic: string): Promise<void> {
  const admin = kafkas.get(alias)!.admin();
  await admin.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.createTopics({
          topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
          waitForLeaders: true,
        });
        break;
      } catch (error) {
        if (attempt > 20 || (error as { retriable?: boolean }).retriable !== true) throw error;
        await sleep(500);
      }
    }
  } finally {
    await admin.disconnect();
  }
}

async function produce(
  alias: string,
  topic: string,
  partition: number,
  count: number,
  idempotent = false,
) {
  const producer = kafkas
    .get(alias)!
    .producer(idempotent ? { idempotent: true, maxInFlightRequests: 1 } : {});
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: count }, (_, i) => ({
        partition,
        key: `k${i}`,
        value: `v${i}`,
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

function startEngine(agentId: string, epoch: bigint): ReplicationEngine {
  const engine = createReplicationEngine({
    agentId,
    clusters,
    logger,
    deliveryTimeoutMs: 15_000,
    fetchMaxWaitMs: 100,
    progressIntervalMs: 200,
  });
  engines.push(engine);
  const spec = {
    name: eastWest.name,
    sourceCluster: "us-east",
    targetCluster: "eu-west",
    naming: "prefix" as const,
    provenanceHeader: false,
    startFrom: "earliest" as const,
    onOffsetOutOfRange: "fail" as const,
    paused: false,
  };
  void engine.assign(
    Array.from({ length: PARTITIONS }, (_, partition) => ({
      unit: { flow: eastWest.name, sourceTopic: "orders", partition },
      remoteTopic: REMOTE,
      epoch: toEpoch(epoch),
      flow: spec,
    })),
  );
  return engine;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** Waits until the engine copied `records` per partition and the detector checked up to the end. */
async function settled(records: number): Promise<void> {
  await waitFor(`${records} records per partition replicated and checked`, () => {
    const lag = monitor.lag(eastWest.name);
    const reports = guard.detector.reports([eastWest]);
    return (
      lag?.unknown === undefined &&
      lag?.partitions.length === PARTITIONS &&
      lag.partitions.every((p) => p.nextSourceOffset >= BigInt(records) && p.records === 0n) &&
      reports.length === PARTITIONS &&
      reports.every((r) => r.checkedTo !== undefined && r.checkedTo >= BigInt(records))
    );
  });
}

async function metric(name: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const entry of (await registry.getSingleMetric(name)!.get()).values) {
    out.set(Object.values(entry.labels).join("/"), entry.value);
  }
  return out;
}

test("the agents' writes alone count 0 foreign writes, also across a new owner", async () => {
  const first = startEngine("agent-1", 1n);
  for (const p of [0, 1]) await produce("us-east", "orders", p, 100);
  await settled(100);
  // A new owner (epoch 2) writes with a producer id of its own.
  await first.close();
  startEngine("agent-2", 2n);
  for (const p of [0, 1]) await produce("us-east", "orders", p, 100);
  await settled(200);
  await sleep(3000); // past the grace period
  assert.deepEqual(
    guard.detector.reports([eastWest]).map((r) => r.records),
    [0n, 0n],
  );
  const foreign = await metric("geo_passive_foreign_writes_total");
  assert.deepEqual(
    [...foreign],
    [
      [`east-west/${REMOTE}/0`, 0],
      [`east-west/${REMOTE}/1`, 0],
    ],
  );
  assert.deepEqual([...(await metric("geo_split_brain"))], [["orders", 0]]);
});

test("records written directly into the passive remote topic are counted and mean split brain", async () => {
  const started = Date.now();
  await produce("eu-west", REMOTE, 0, 5); // a plain producer: no producer id
  await produce("eu-west", REMOTE, 1, 3, true); // an idempotent one
  await waitFor("8 foreign records", () => guard.detector.total(eastWest.name) === 8n);
  console.log(`8 foreign records counted ${Date.now() - started} ms after they were written`);
  assert.deepEqual(
    [...(await metric("geo_passive_foreign_writes_total"))],
    [
      [`east-west/${REMOTE}/0`, 5],
      [`east-west/${REMOTE}/1`, 3],
    ],
  );
  await waitFor("split brain", () => guard.splitBrain.state("orders")?.splitBrain === true, 10_000);
  assert.match(guard.splitBrain.state("orders")!.reason, /remote topics by a non-agent/);
  // The agent goes on after them: its records are still its own.
  for (const p of [0, 1]) await produce("us-east", "orders", p, 50);
  await settled(250);
  await sleep(3000);
  assert.equal(guard.detector.total(eastWest.name), 8n);
});

test("writes to the passive region's own topics mean split brain", async () => {
  const tracker = guard.splitBrain;
  const before = tracker.state("orders")!.lastSeen;
  await produce("eu-west", "orders", 0, 2);
  await waitFor(
    "split brain from the passive region's own topic",
    () => (tracker.state("orders")?.lastSeen ?? 0) > before,
    30_000,
  );
  assert.match(
    tracker.state("orders")!.reason,
    /2 records written to the passive region's own topics/,
  );
});

test("active-active: the same key written in both regions within the window is a conflict, with both writes", async () => {
  // The same two flows, in no flow group: an active-active pair sharing topic `orders`.
  const pairGuard = new PassiveGuard({
    monitor,
    regions: { ready: () => true, groups: () => [] },
    logger,
    intervalMs: 300,
    keyConflicts: { windowMs: 60_000, maxKeys: 1000 },
  });
  pairGuard.start();
  try {
    const pair = "eu-west<->us-east";
    await waitFor(
      "the pair's topics followed",
      () => pairGuard.activeActive?.tracker(pair) !== undefined,
    );
    await sleep(1000); // a round placed every partition's position at its end
    await produce("us-east", "orders", 1, 3); // keys k0..k2
    await produce("eu-west", "orders", 1, 2); // keys k0, k1: two conflicts
    await waitFor(
      "2 conflicts",
      () => pairGuard.activeActive?.tracker(pair)?.counts.get("orders") === 2,
    );
    const recent = pairGuard.activeActive!.tracker(pair)!.recent();
    assert.deepEqual(
      recent.map((c) => [c.key.toString(), c.first.cluster !== c.second.cluster, c.topic]),
      [
        ["k1", true, "orders"],
        ["k0", true, "orders"],
      ],
    );
    const clusters = new Set(recent.flatMap((c) => [c.first.cluster, c.second.cluster]));
    assert.deepEqual([...clusters].sort(), ["eu-west", "us-east"]);
    // The engine's copies (us-east.orders in eu-west) are not application writes of `orders`.
    assert.equal(pairGuard.activeActive!.tracker(pair)!.sampleRate, 1);
  } finally {
    await pairGuard.close();
  }
});
