// The replication engine rides out a broker restart on either side: records keep arriving at
// the source while the target's broker, then the source's, stop and start again; afterwards the
// target holds exactly the source's records, in order, none lost and none doubled.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createReplicationEngine, type ReplicationEngine } from "@geo/replication";
import {
  createTopic,
  fidelity,
  flowSpec,
  type Pair,
  readPartition,
  startPair,
  TS,
  unitsOf,
  waitCaughtUp,
} from "./support/replication-fixtures";

let pair: Pair;
let engine: ReplicationEngine | undefined;

before(async () => {
  pair = await startPair("repl-restart");
});

after(async () => {
  await engine?.close().catch(() => {});
  await pair?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a broker restart on the target, then on the source, is ridden out without loss or duplicates", async () => {
  await createTopic(pair.source, "steady", 2);
  await createTopic(pair.target, "us-east.steady", 2);
  engine = createReplicationEngine({
    agentId: "restart-agent",
    clusters: pair.clusters,
    logger: pair.logger.child({}, { level: "fatal" }),
    deliveryTimeoutMs: 25_000,
    fetchMaxWaitMs: 100,
    progressIntervalMs: 50,
    maxRetryBackoffMs: 1000,
  });
  const units = unitsOf(flowSpec("steady-flow"), "steady", 2, 1n);
  await engine.assign(units);

  let writing = true;
  let sent = 0;
  const writer = (async () => {
    const producer = pair.source.kafka.producer({
      allowAutoTopicCreation: false,
      retry: { retries: 50, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    await producer.connect();
    try {
      while (writing) {
        const messages = Array.from({ length: 20 }, (_, i) => ({
          partition: i % 2,
          key: `k${sent + i}`,
          value: `seq-${sent + i}`,
          headers: { h: "1", g: "2" },
          timestamp: String(TS + BigInt(sent + i)),
        }));
        try {
          await producer.send({ topic: "steady", acks: -1, messages });
          sent += messages.length;
        } catch {
          await sleep(200);
        }
        await sleep(20);
      }
    } finally {
      await producer.disconnect().catch(() => {});
    }
  })();

  await sleep(1000);
  const target = pair.target.cluster.brokers[0]!.nodeId;
  await pair.target.cluster.stopBroker(target);
  await sleep(1000);
  await pair.target.cluster.startBroker(target);
  await sleep(1500);
  const source = pair.source.cluster.brokers[0]!.nodeId;
  await pair.source.cluster.stopBroker(source);
  await sleep(1000);
  await pair.source.cluster.startBroker(source);
  await sleep(1500);
  writing = false;
  await writer;
  assert.ok(sent > 200, `records written during the restarts: ${sent}`);

  await waitCaughtUp(pair.source, () => engine!.statuses(), units, 60_000);
  for (const partition of [0, 1]) {
    const src = await readPartition(pair.source, "steady", partition);
    const dst = await readPartition(pair.target, "us-east.steady", partition);
    assert.equal(dst.length, src.length, `steady-${partition}: no loss, no duplicates`);
    assert.deepEqual(dst.map(fidelity), src.map(fidelity));
  }
  assert.ok(engine.statuses().every((s) => s.state === "running"));
});
