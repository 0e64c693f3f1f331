// The harness's 3-broker KRaft clusters: every broker a controller voter, leadership moving when a
// broker stops, brokers coming back on the same ports and data dirs. Its own file so it runs
// beside the other test files rather than after them.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { after, before, test } from "node:test";
import {
  isProcessAlive,
  type KafkaCluster,
  processRssBytes,
  runKafkaTool,
  startKafkaCluster,
  startKafkaClusters,
} from "@geo/local-runtime";
import { type Admin, Kafka, logLevel } from "kafkajs";

let cluster: KafkaCluster;
let kafka: Kafka;
let admin: Admin;

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;

async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      assert.fail(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ""}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function partitionState(topic: string) {
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const partition = metadata.topics[0]?.partitions[0];
  assert.ok(partition, `metadata for ${topic}`);
  return partition;
}

before(async () => {
  const started = Date.now();
  cluster = await startKafkaCluster({ name: "multi", brokers: 3 });
  const rss = cluster.brokers.map((b) => Math.round((processRssBytes(b.pid!) ?? 0) / 2 ** 20));
  console.log(
    `3-broker cluster ready in ${Date.now() - started} ms, broker RSS ${rss.join("/")} MiB, Kafka ${cluster.version}`,
  );
  kafka = new Kafka({
    clientId: "harness-multi",
    brokers: cluster.bootstrapServers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  admin = kafka.admin();
  await admin.connect();
});

after(async () => {
  await admin?.disconnect();
  await cluster?.stop();
});

test("three brokers, each a controller voter, are all registered", async () => {
  assert.equal(cluster.brokers.length, 3);
  assert.equal(new Set(cluster.brokers.map((b) => b.port)).size, 3);
  assert.ok(cluster.brokers.every((b) => b.running));
  const { brokers } = await admin.describeCluster();
  assert.deepEqual(brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
  assert.match(cluster.version, /^3\.9\.\d+$/);
});

test("an RF-3 topic survives stopping its partition leader, and the leader can come back", async () => {
  const topic = unique("multi-rf3");
  const created = await runKafkaTool(cluster, "topics", [
    "--create",
    "--topic",
    topic,
    "--partitions",
    "1",
    "--replication-factor",
    "3",
  ]);
  assert.equal(created.code, 0, created.stderr);
  const initial = await waitFor("all 3 replicas in sync", async () => {
    const p = await partitionState(topic);
    return p.isr.length === 3 ? p : undefined;
  });

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ key: "a", value: "before" }] });

    const oldLeader = initial.leader;
    await cluster.stopBroker(oldLeader);
    const stopped = cluster.brokers.find((b) => b.nodeId === oldLeader)!;
    assert.equal(stopped.running, false);
    assert.equal(isProcessAlive(stopped.pid!), false);

    const moved = await waitFor(`a new leader other than broker ${oldLeader}`, async () => {
      const p = await partitionState(topic);
      return p.leader !== oldLeader && p.leader >= 0 ? p : undefined;
    });
    assert.ok(moved.replicas.includes(moved.leader));
    await producer.send({ topic, acks: -1, messages: [{ key: "b", value: "after" }] });

    await cluster.startBroker(oldLeader);
    assert.equal(stopped.running, true);
    await waitFor(`broker ${oldLeader} back in the ISR`, async () => {
      const p = await partitionState(topic);
      return p.isr.includes(oldLeader) ? p : undefined;
    });
  } finally {
    await producer.disconnect();
  }

  const values: string[] = [];
  // disconnect() waits for the in-flight fetch, which long-polls maxWaitTimeInMs (default 5 s).
  const consumer = kafka.consumer({ groupId: unique("multi-group"), maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value?.toString() ?? "");
      },
    });
    await waitFor("both records read back", () => (values.length >= 2 ? true : undefined));
  } finally {
    await consumer.disconnect();
  }
  assert.deepEqual(values, ["before", "after"]);
});

test("killBroker is a SIGKILL, and the broker restarts on its ports", async () => {
  const broker = cluster.brokers.find((b) => b.nodeId === 3)!;
  const { port, pid } = broker;
  await cluster.killBroker(3);
  assert.equal(isProcessAlive(pid!), false);
  await cluster.startBroker(3);
  assert.equal(broker.port, port);
  assert.notEqual(broker.pid, pid);
  const { brokers } = await admin.describeCluster();
  assert.ok(brokers.some((b) => b.nodeId === 3 && b.port === port));
});

test("stop() ends all three brokers and removes the cluster's folder", async () => {
  await admin.disconnect();
  const pids = cluster.brokers.map((b) => b.pid!);
  await cluster.stop();
  for (const pid of pids) assert.equal(isProcessAlive(pid), false, `broker pid ${pid} still runs`);
  assert.equal(existsSync(cluster.dir), false);
});

test("startKafkaClusters starts independent clusters side by side", async () => {
  const started = Date.now();
  const clusters = await startKafkaClusters(["east", "west"], {
    brokerProperties: { "num.partitions": 2 },
  });
  try {
    console.log(`2 single-node clusters ready in ${Date.now() - started} ms`);
    assert.deepEqual(
      clusters.map((c) => c.name),
      ["east", "west"],
    );
    assert.notEqual(clusters[0]!.clusterId, clusters[1]!.clusterId);
    const topic = unique("side-by-side");
    const east = await runKafkaTool(clusters[0]!, "topics", ["--create", "--topic", topic]);
    assert.equal(east.code, 0, east.stderr);
    // brokerProperties reached the brokers: the default partition count is 2.
    const described = await runKafkaTool(clusters[0]!, "topics", ["--describe", "--topic", topic]);
    assert.match(described.stdout, /PartitionCount: 2/);
    const west = await runKafkaTool(clusters[1]!, "topics", ["--list"]);
    assert.equal(west.code, 0, west.stderr);
    assert.ok(!west.stdout.includes(topic), "a topic created in east is not in west");
  } finally {
    await Promise.all(clusters.map((c) => c.stop()));
  }
});
