// Issue 12's client-side figures (not a test): a producer wrapped by @geo/region-client writes a
// steady numbered stream while the active region of its flow group moves back and forth between
// two real clusters. Per switch: how long after the lock (drain) the producer held its records,
// how long after the flip its first record was acknowledged by the new region, and the write
// pause its application saw; at the end, every number is looked for in both clusters
// (duplicates, misses). The orchestrator's own waits (consumers leaving, lag 0, commits) come on
// top and depend on the flow; the lock and flip are made directly in the region store.
//   node bench/dist/region-switch.js [rounds=6] [recordsPerSecond=500]
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@geo/config";
import { findFreePorts, startKafkaClusters, startRedis } from "@geo/local-runtime";
import { createLogger } from "@geo/logging";
import { createRedisClient } from "@geo/redis";
import { createFollowingProducer, createRegionFollower } from "@geo/region-client";
import {
  createMemoryRegionLog,
  createRegionStore,
  regionGroupsFromConfig,
} from "@geo/region-state";
import { Kafka, logLevel } from "kafkajs";
import { printReport, type Row } from "./report";
import { now, sleep, startService, waitUntil } from "./service-stack";

const rounds = Number(process.argv[2] ?? 6);
const perSecond = Number(process.argv[3] ?? 500);
const TOPIC = "switch-bench";
const GROUP = "bench";
const logger = createLogger({ service: "region-switch-bench", level: "warn" });

async function main(): Promise<void> {
  const [clusters, redisServer] = await Promise.all([
    startKafkaClusters([{ name: "switch-us-east" }, { name: "switch-eu-west" }]),
    startRedis(),
  ]);
  const dir = mkdtempSync(join(tmpdir(), "geo-switch-bench-"));
  const [healthPort] = await findFreePorts(1);
  const configPath = join(dir, "geo.yaml");
  writeFileSync(
    configPath,
    `clusters:
  us-east: { bootstrapServers: [${clusters[0]!.bootstrapServers.join(", ")}] }
  eu-west: { bootstrapServers: [${clusters[1]!.bootstrapServers.join(", ")}] }
flowGroups:
  - { name: ${GROUP}, clusters: [us-east, eu-west] }
redis: { url: "${redisServer.url}", keyPrefix: "bench:" }
services:
  health: { listen: "127.0.0.1:${healthPort}", metricsListen: "127.0.0.1:0" }
logging: { level: info }
`,
  );
  const config = loadConfig({ path: configPath });
  const redis = createRedisClient(config.redis, { logger, name: "switch-bench" });
  const health = await startService("health", "health", ["--config", configPath]);
  const store = createRegionStore({
    redis,
    keyPrefix: "bench:",
    groups: regionGroupsFromConfig(config),
    log: createMemoryRegionLog(),
    logger,
  });
  store.start();
  await store.whenReady();
  const kafkas = clusters.map(
    (c) =>
      new Kafka({
        clientId: "switch-bench",
        brokers: c.bootstrapServers,
        logLevel: logLevel.NOTHING,
      }),
  );
  for (const kafka of kafkas) {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: TOPIC, numPartitions: 3 }],
    });
    await admin.disconnect();
  }
  const follower = createRegionFollower({
    healthAddress: health.endpoints.grpc!,
    flowGroup: GROUP,
    logger,
  });
  const producer = createFollowingProducer({ follower, logger });
  await producer.start();

  // The application: one record every 1000/perSecond ms, each send awaited by its own writer.
  let sent = 0;
  let stop = false;
  const acks: { at: number; region: string }[] = [];
  const writing = (async () => {
    const pending: Promise<void>[] = [];
    const interval = 1000 / perSecond;
    const start = now();
    while (!stop) {
      const seq = sent++;
      pending.push(
        producer
          .send({ topic: TOPIC, messages: [{ key: String(seq % 64), value: String(seq) }] })
          .then(() => void acks.push({ at: now(), region: producer.region() ?? "?" })),
      );
      const wait = start + sent * interval - now();
      if (wait > 0) await sleep(wait);
    }
    await Promise.all(pending);
  })();

  const rows: Row[] = [];
  await sleep(2000);
  for (let round = 1; round <= rounds; round++) {
    const state = await store.get(GROUP);
    const to = state.activeRegion === "us-east" ? "eu-west" : "us-east";
    const lockAt = now();
    const locked = await store.begin(
      {
        flowGroup: GROUP,
        kind: "switchover",
        toRegion: to,
        expectedEpoch: state.epoch,
        actor: "bench",
        reason: "bench",
      },
      "switching-over",
    );
    await waitUntil(
      "the producer holding",
      async () => (producer.region() === undefined && producer.inFlight() === 0 ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 5 },
    );
    const heldAt = now();
    const lastAckBefore = acks.at(-1)?.at ?? heldAt;
    const flipAt = now();
    await store.finish(GROUP, locked.transition!.id, {
      outcome: "succeeded",
      flip: true,
      phase: "stable",
    });
    const firstAfter = await waitUntil(
      `the first record acknowledged by ${to}`,
      async () => acks.find((a) => a.at > flipAt && a.region === to),
      { timeoutMs: 30_000, intervalMs: 5 },
    );
    rows.push({
      round,
      from: state.activeRegion,
      to,
      lockToHoldMs: Math.round(heldAt - lockAt),
      flipToFirstAckMs: Math.round(firstAfter.at - flipAt),
      writePauseMs: Math.round(firstAfter.at - lastAckBefore),
    });
    await sleep(1500);
  }
  stop = true;
  await writing;
  await producer.close();
  await follower.close();

  const counts = new Map<string, number>();
  for (const kafka of kafkas) {
    const admin = kafka.admin();
    await admin.connect();
    const total = (await admin.fetchTopicOffsets(TOPIC)).reduce(
      (sum, p) => sum + Number(p.high),
      0,
    );
    await admin.disconnect();
    const consumer = kafka.consumer({ groupId: `count-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    let read = 0;
    await consumer.run({
      eachMessage: async ({ message }) => {
        read++;
        const value = message.value!.toString();
        counts.set(value, (counts.get(value) ?? 0) + 1);
      },
    });
    await waitUntil("every record read back", async () => (read >= total ? true : undefined), {
      timeoutMs: 60_000,
    });
    await consumer.disconnect();
  }
  let duplicates = 0;
  let missing = 0;
  for (let seq = 0; seq < sent; seq++) {
    const seen = counts.get(String(seq)) ?? 0;
    if (seen === 0) missing++;
    if (seen > 1) duplicates += seen - 1;
  }
  rows.push({
    round: "all",
    from: "",
    to: `${sent} records at ${perSecond}/s`,
    duplicates,
    missing,
  });
  printReport("region-switch", rows, {
    columns: [
      "round",
      "from",
      "to",
      "lockToHoldMs",
      "flipToFirstAckMs",
      "writePauseMs",
      "duplicates",
      "missing",
    ],
  });
  await store.close();
  redis.disconnect();
  health.child.kill("SIGTERM");
  await health.exited;
  await Promise.all([...clusters.map((c) => c.stop()), redisServer.stop()]);
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
