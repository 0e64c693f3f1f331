// The harness against real servers: one single-node Kafka cluster for the whole file, Redis
// instances, Kafka's own CLI tools as an independent reader and writer, and the reaper.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  ensureKafkaDistribution,
  HarnessError,
  harnessRunId,
  isProcessAlive,
  type KafkaCluster,
  processRssBytes,
  runKafkaTool,
  startKafkaCluster,
  startRedis,
  stopAll,
  waitFor,
} from "@geo/local-runtime";
import { Redis } from "ioredis";
import { type IHeaders, Kafka, logLevel } from "kafkajs";

let cluster: KafkaCluster;
let kafka: Kafka;

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;

before(async () => {
  const started = Date.now();
  cluster = await startKafkaCluster({ name: "harness" });
  const rss = processRssBytes(cluster.brokers[0]!.pid!);
  console.log(
    `single-node cluster ready in ${Date.now() - started} ms at ${cluster.bootstrapServers.join(",")}, broker RSS ${Math.round((rss ?? 0) / 2 ** 20)} MiB`,
  );
  kafka = new Kafka({
    clientId: "harness-test",
    brokers: cluster.bootstrapServers,
    logLevel: logLevel.NOTHING,
  });
});

after(async () => {
  await cluster?.stop();
});

test("the broker reports a 3.9.x version in its own start-up log", async (t) => {
  t.diagnostic(`broker-reported Kafka version: ${cluster.version}`);
  console.log(`broker-reported Kafka version: ${cluster.version}`);
  assert.match(cluster.version, /^3\.9\.\d+$/);
  const log = readFileSync(cluster.brokers[0]!.logFile, "utf8");
  assert.ok(log.includes(`Kafka version: ${cluster.version}`), "version line in the broker log");
  assert.equal(cluster.distribution.version, cluster.version);
});

test("a warm jar check costs next to nothing", async (t) => {
  const started = process.hrtime.bigint();
  const distribution = await ensureKafkaDistribution();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  t.diagnostic(`warm ensureKafkaDistribution: ${ms.toFixed(2)} ms`);
  assert.ok(existsSync(join(distribution.dir, `kafka_2.13-${distribution.version}.jar`)));
  assert.ok(ms < 200, `warm check took ${ms} ms`);
});

test("kafkajs → Kafka's console consumer: key, value and header order arrive intact", async () => {
  const topic = unique("harness-kjs-to-console");
  const created = await runKafkaTool(cluster, "topics", [
    "--create",
    "--topic",
    topic,
    "--partitions",
    "1",
    "--replication-factor",
    "1",
  ]);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /Created topic/);
  const described = await runKafkaTool(cluster, "topics", ["--describe", "--topic", topic]);
  assert.match(described.stdout, /PartitionCount: 1/);

  const producer = kafka.producer();
  await producer.connect();
  try {
    // Distinct header keys, deliberately not in sorted order: kafkajs encodes an object's keys in
    // insertion order (integer-like keys excepted), and merges repeated keys, so a repeated key
    // could not round-trip in order through its producer.
    await producer.send({
      topic,
      messages: [
        { key: "k1", value: "v1", headers: { zeta: "1", alpha: "2", mid: "3" } },
        { key: "k2", value: "v2" },
      ],
    });
  } finally {
    await producer.disconnect();
  }

  const consumed = await runKafkaTool(
    cluster,
    "console-consumer",
    [
      "--topic",
      topic,
      "--from-beginning",
      "--max-messages",
      "2",
      "--timeout-ms",
      "20000",
      "--property",
      "print.headers=true",
      "--property",
      "print.key=true",
      "--property",
      "print.value=true",
    ],
    { timeoutMs: 45_000 },
  );
  assert.equal(consumed.code, 0, consumed.stderr);
  const lines = consumed.stdout.trim().split("\n");
  assert.deepEqual(lines, ["zeta:1,alpha:2,mid:3\tk1\tv1", "NO_HEADERS\tk2\tv2"]);
});

test("Kafka's console producer → kafkajs and the console consumer: a repeated header key keeps its order", async () => {
  const topic = unique("harness-console-to-kjs");
  const created = await runKafkaTool(cluster, "topics", ["--create", "--topic", topic]);
  assert.equal(created.code, 0, created.stderr);

  const produced = await runKafkaTool(
    cluster,
    "console-producer",
    ["--topic", topic, "--property", "parse.key=true", "--property", "parse.headers=true"],
    { input: "h:1,g:2,h:3\tkey-1\tvalue-1\nsolo:x\tkey-2\tvalue-2\n" },
  );
  assert.equal(produced.code, 0, produced.stderr);

  // The independent reader shows the wire order, repeats included.
  const consumed = await runKafkaTool(
    cluster,
    "console-consumer",
    [
      "--topic",
      topic,
      "--from-beginning",
      "--max-messages",
      "2",
      "--timeout-ms",
      "20000",
      "--property",
      "print.headers=true",
      "--property",
      "print.key=true",
    ],
    { timeoutMs: 45_000 },
  );
  assert.equal(consumed.code, 0, consumed.stderr);
  assert.deepEqual(consumed.stdout.trim().split("\n"), [
    "h:1,g:2,h:3\tkey-1\tvalue-1",
    "solo:x\tkey-2\tvalue-2",
  ]);

  // kafkajs merges the repeated key into an array, in wire order.
  const received: { key: string; value: string; headers: IHeaders }[] = [];
  const groupId = unique("harness-group");
  // disconnect() waits for the in-flight fetch, which long-polls maxWaitTimeInMs (default 5 s).
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push({
          key: message.key?.toString() ?? "",
          value: message.value?.toString() ?? "",
          headers: message.headers ?? {},
        });
      },
    });
    await waitFor("2 records through kafkajs", () => (received.length >= 2 ? true : undefined));
  } finally {
    await consumer.disconnect();
  }
  assert.deepEqual(
    received.map((r) => [r.key, r.value]),
    [
      ["key-1", "value-1"],
      ["key-2", "value-2"],
    ],
  );
  const h = received[0]!.headers.h as Buffer[];
  assert.deepEqual(
    h.map((b) => b.toString()),
    ["1", "3"],
  );
  assert.equal(received[0]!.headers.g?.toString(), "2");

  // The group kafkajs used is visible to Kafka's group tool.
  const groups = await runKafkaTool(cluster, "consumer-groups", ["--list"]);
  assert.equal(groups.code, 0, groups.stderr);
  assert.ok(groups.stdout.split("\n").includes(groupId), groups.stdout);
});

test("producer-perf writes what kafkajs's admin then counts", async () => {
  const topic = unique("harness-perf");
  const created = await runKafkaTool(cluster, "topics", ["--create", "--topic", topic]);
  assert.equal(created.code, 0, created.stderr);
  const perf = await runKafkaTool(cluster, "producer-perf", [
    "--topic",
    topic,
    "--num-records",
    "1000",
    "--record-size",
    "100",
    "--throughput",
    "-1",
  ]);
  assert.equal(perf.code, 0, perf.stderr);
  assert.match(perf.stdout, /1000 records sent/);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    assert.deepEqual(
      offsets.map((o) => o.high),
      ["1000"],
    );
  } finally {
    await admin.disconnect();
  }
});

test("a tool that outlives its timeout is killed and reported", async () => {
  const started = Date.now();
  await assert.rejects(
    runKafkaTool(cluster, "console-consumer", ["--topic", unique("harness-none")], {
      timeoutMs: 1500,
    }),
    (error: HarnessError) => error.code === "TOOL_TIMEOUT",
  );
  assert.ok(Date.now() - started < 10_000);
});

test("an unknown broker id is refused with a typed error", async () => {
  await assert.rejects(
    cluster.stopBroker(7),
    (error: HarnessError) => error instanceof HarnessError && error.code === "UNKNOWN_BROKER",
  );
});

test("Redis: round trip, restart() empties it on the same port, stop() leaves nothing", async () => {
  const redis = await startRedis();
  const firstPid = redis.pid;
  assert.notEqual(redis.port, 6379);
  let client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.set("harness:key", "value");
    assert.equal(await client.get("harness:key"), "value");
    client.disconnect();

    await redis.restart();
    assert.notEqual(redis.pid, firstPid);
    assert.equal(isProcessAlive(firstPid), false);
    client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    client.on("error", () => {});
    await client.connect();
    assert.equal(await client.get("harness:key"), null, "a restarted Redis keeps nothing");
    assert.equal(await client.dbsize(), 0);
  } finally {
    client.disconnect();
  }
  const pid = redis.pid;
  await redis.stop();
  assert.equal(isProcessAlive(pid), false);
  assert.equal(existsSync(redis.dir), false);
});

test("Redis with appendOnly keeps data across restart() and kill()", async () => {
  const redis = await startRedis({ appendOnly: true });
  const client = new Redis(redis.url, { maxRetriesPerRequest: 5 });
  client.on("error", () => {});
  try {
    await client.set("harness:kept", "yes");
    await redis.restart();
    assert.equal(await client.get("harness:kept"), "yes");
    const pid = redis.pid;
    await redis.kill();
    assert.equal(isProcessAlive(pid), false);
    assert.equal(redis.running, false);
    await redis.restart();
    // appendfsync everysec: a crash loses at most the last second; this write is older.
    assert.equal(await client.get("harness:kept"), "yes");
  } finally {
    client.disconnect();
    await redis.stop();
  }
});

function spawnFixture(script: string, args: string[] = []): ChildProcess {
  return spawn(process.execPath, [join(__dirname, script), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const end = out.indexOf("\n");
      if (end >= 0) resolve(out.slice(0, end));
    });
    child.on("exit", (code) =>
      reject(new Error(`fixture exited (${code}) before printing:\n${err}`)),
    );
  });
}

for (const signal of ["SIGKILL", "SIGTERM", "SIGINT"] as const) {
  test(`the reaper stops a server whose parent died of ${signal}`, async () => {
    const child = spawnFixture("harness-reaper-child.js");
    const { pid, dir } = JSON.parse(await firstLine(child)) as { pid: number; dir: string };
    assert.ok(isProcessAlive(pid), "redis runs while its parent lives");
    assert.ok(dir.includes(`geo-harness-${harnessRunId()}-`), dir);
    const killedAt = Date.now();
    child.kill(signal);
    await waitFor(`redis-server pid ${pid} to exit after its parent got ${signal}`, () =>
      isProcessAlive(pid) ? undefined : true,
    );
    await waitFor(`the reaper to remove ${dir}`, () => (existsSync(dir) ? undefined : true));
    console.log(`reaper: redis gone ${Date.now() - killedAt} ms after parent ${signal}`);
  });
}

test("two processes fetching the jars at once: one fetch, one shared result", async () => {
  // The shared Maven repository is warm after before(), so this costs one Maven run, not a download.
  const cacheDir = mkdtempSync(join(tmpdir(), `geo-harness-${harnessRunId()}-jars-`));
  try {
    const children = [0, 1].map(() => spawnFixture("harness-jars-child.js", [cacheDir]));
    const stderr = ["", ""];
    for (const [i, child] of children.entries()) {
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr[i] += chunk.toString();
      });
    }
    const outputs = await Promise.all(children.map(firstLine));
    const dirs = outputs.map((line) => (JSON.parse(line) as { dir: string }).dir);
    assert.equal(dirs[0], dirs[1]);
    await Promise.all(
      children.map(
        (child) =>
          new Promise((resolve) =>
            child.exitCode === null ? child.on("exit", resolve) : resolve(0),
          ),
      ),
    );
    const banners = stderr.join("").match(/fetching Kafka \S+ jars from Maven Central/g) ?? [];
    assert.equal(banners.length, 1, `exactly one process fetched:\n${stderr.join("\n")}`);
    // The fetch left only the finished folder: no temp dir, no lock.
    assert.deepEqual(readdirSync(cacheDir), [`kafka-${cluster.distribution.version}`]);
    assert.ok(existsSync(join(dirs[0]!, ".complete.json")));
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test("a Kafka version Maven Central does not have is refused with a typed error", async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), `geo-harness-${harnessRunId()}-jars-`));
  try {
    await assert.rejects(
      ensureKafkaDistribution({ version: "0.0.404", cacheDir }),
      (error: HarnessError) =>
        error.code === "JARS_UNAVAILABLE" && /Apache Kafka 0\.0\.404/.test(error.message),
    );
    // Nothing half-fetched is left to be mistaken for a distribution.
    assert.deepEqual(readdirSync(cacheDir), []);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test("a single-node cluster restarts with its data: stopBroker then startBroker", async () => {
  const topic = unique("harness-restart");
  const created = await runKafkaTool(cluster, "topics", ["--create", "--topic", topic]);
  assert.equal(created.code, 0, created.stderr);
  const broker = cluster.brokers[0]!;
  const { port, pid } = broker;
  await cluster.stopBroker(1);
  assert.equal(isProcessAlive(pid!), false);
  assert.equal(broker.running, false);
  await cluster.startBroker(1);
  assert.equal(broker.port, port);
  assert.ok(broker.running);
  const listed = await runKafkaTool(cluster, "topics", ["--list"]);
  assert.ok(listed.stdout.split("\n").includes(topic), `${topic} survived the restart`);
});

test("stopAll() stops whatever this process still runs", async () => {
  const servers = await Promise.all([startRedis(), startRedis()]);
  const pids = servers.map((s) => s.pid);
  await stopAll();
  for (const pid of pids) assert.equal(isProcessAlive(pid), false);
  // stopAll() took the shared cluster down too; the remaining test checks exactly that.
});

// Last: the shared cluster goes away here (after() then finds it stopped).
test("stop() ends every broker process and removes the cluster's folder", async () => {
  const pids = cluster.brokers.map((b) => b.pid!);
  await cluster.stop();
  for (const pid of pids) assert.equal(isProcessAlive(pid), false, `broker pid ${pid} still runs`);
  assert.equal(cluster.brokers[0]!.running, false);
  assert.equal(existsSync(cluster.dir), false);
  await assert.rejects(
    cluster.startBroker(1),
    (error: HarnessError) => error.code === "ALREADY_STOPPED",
  );
});
