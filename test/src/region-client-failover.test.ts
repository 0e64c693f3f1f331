// The region client helper through an unplanned failover: us-east's broker is killed while a
// following producer writes and a following consumer reads; the active region fails over to
// eu-west (as the health service's Failover records it: FAILING_OVER, then FAILED_OVER). The
// producer's sends that us-east never acknowledged are reported to the caller, never dropped
// silently, and every acknowledged record is in exactly one cluster; the consumer resumes in
// eu-west from the last checkpoint, missing nothing, re-reading at most what it handled since.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { findFreePorts } from "@geo/harness";
import { createLogger } from "@geo/logging";
import {
  createFollowingConsumer,
  createFollowingProducer,
  createRegionFollower,
  type RegionFollower,
} from "@geo/region-client";
import { createMemoryRegionLog, type RegionStore } from "@geo/region-state";
import { type Admin, Kafka, logLevel } from "kafkajs";
import {
  createTopicsEverywhere,
  movePeer,
  type RegionStack,
  startRegionStack,
} from "./support/region-stack";
import { type ServiceProcess, startService } from "./support/service-process";
import { waitFor } from "./support/wait-for";

const logger = createLogger({ service: "region-failover-test", level: "warn" });
let stack: RegionStack;
let health: ServiceProcess;
let peer: RegionStore;
let kafkas: Kafka[];
let admins: Admin[];
const followers: RegionFollower[] = [];

before(async () => {
  const [healthPort] = await findFreePorts(1);
  stack = await startRegionStack({
    name: "client-failover",
    keyPrefix: "geo-failover:",
    logger,
    rest: `flowGroups:
  - { name: orders, clusters: [us-east, eu-west] }
services:
  health: { listen: "127.0.0.1:${healthPort}", metricsListen: "127.0.0.1:0" }
`,
  });
  health = await startService("health", ["--config", stack.configPath]);
  peer = await stack.openPeer(createMemoryRegionLog());
  kafkas = stack.clusters.map(
    (c) =>
      new Kafka({
        clientId: "failover-test",
        brokers: c.bootstrapServers,
        logLevel: logLevel.NOTHING,
      }),
  );
  admins = kafkas.map((kafka) => kafka.admin());
  await Promise.all(admins.map((admin) => admin.connect()));
  await createTopicsEverywhere(admins, ["events", "orders"]);
});

/** Clean-up must not hang on a client still chasing the killed broker. */
const bounded = (work: Promise<unknown>) =>
  Promise.race([
    work.catch(() => undefined),
    new Promise((resolve) => setTimeout(resolve, 30_000).unref()),
  ]);

after(async () => {
  await bounded(Promise.all(followers.map((f) => f.close())));
  await bounded(Promise.all((admins ?? []).map((admin) => admin.disconnect())));
  await bounded(health?.stop() ?? Promise.resolve());
  await stack?.stop();
});

async function readAll(kafka: Kafka, admin: Admin, topic: string): Promise<string[]> {
  const total = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  const values: string[] = [];
  if (total === 0) return values;
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => void values.push(message.value!.toString()),
  });
  await waitFor(`all ${total} records of ${topic}`, () => values.length >= total, {
    timeoutMs: 60_000,
  });
  await consumer.disconnect();
  return values;
}

describe("region client helper through a failover (real broker killed)", () => {
  it("producer and consumer follow a failover from a dead us-east to eu-west", async () => {
    const total = 300;
    for (const kafka of kafkas) {
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      await producer.send({
        topic: "orders",
        messages: Array.from({ length: total }, (_, i) => ({ partition: i % 3, value: String(i) })),
      });
      await producer.disconnect();
    }
    const follower = createRegionFollower({
      healthAddress: health.endpoints.grpc!,
      flowGroup: "orders",
      logger,
    });
    followers.push(follower);
    let checkpoint: { partition: number; offset: string }[] = [];
    const handled: { value: string; region: string; partition: number; offset: bigint }[] = [];
    const consumer = createFollowingConsumer({
      follower,
      groupId: "billing",
      topics: () => ["orders"],
      leaveTimeoutMs: 2000,
      logger,
      // Stands in for the offsets service in a failover: the last checkpoint taken before the
      // loss, exact for this replica.
      commitTranslated: async ({ groupId, to }) => {
        await admins[to.cluster === "eu-west" ? 1 : 0]!.setOffsets({
          groupId,
          topic: "orders",
          partitions: checkpoint,
        });
      },
      eachMessage: async ({ message, region, partition }) => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        handled.push({
          value: message.value!.toString(),
          region,
          partition,
          offset: BigInt(message.offset),
        });
      },
    });
    const producer = createFollowingProducer({ follower, logger });
    await Promise.all([consumer.start(), producer.start()]);

    let next = 0;
    let stop = false;
    const acked = new Set<string>();
    const rejected = new Set<string>();
    const writing = (async () => {
      while (!stop) {
        const value = String(next++);
        await producer
          .send({ topic: "events", messages: [{ value }] })
          .then(() => acked.add(value))
          .catch(() => rejected.add(value));
      }
    })();

    await waitFor(
      "100 records handled and 100 written at us-east",
      () => handled.length >= 100 && acked.size >= 100,
      {
        timeoutMs: 60_000,
      },
    );
    const [committed] = await admins[0]!.fetchOffsets({ groupId: "billing", topics: ["orders"] });
    checkpoint = committed!.partitions.map((p) => ({
      partition: p.partition,
      offset: p.offset === "-1" ? "0" : p.offset,
    }));
    await stack.clusters[0]!.killBroker(1);
    const lost = performance.now();
    await movePeer(peer, "orders", "eu-west", async () => {}, "failing-over");
    // The failover ends FAILED_OVER in the real service; movePeer ends STABLE: both are open.
    await waitFor(
      "records acknowledged by eu-west",
      () => producer.region() === "eu-west" && acked.size > 150,
      {
        timeoutMs: 90_000,
      },
    );
    const writesBackMs = Math.round(performance.now() - lost);
    await waitFor(
      "every record handled",
      () => new Set(handled.map((h) => h.value)).size >= total,
      {
        timeoutMs: 90_000,
      },
    );
    stop = true;
    await writing;
    await Promise.all([producer.close(), consumer.close()]);
    // us-east back before any assertion, so that nothing is left chasing a dead broker.
    await stack.clusters[0]!.startBroker(1);

    assert.deepEqual(producer.history, ["us-east", "eu-west"]);
    assert.deepEqual(consumer.history, ["us-east", "eu-west"]);
    // The consumer: nothing missed; re-read only what it handled in us-east at or after the
    // checkpoint's offsets (its last commit before the loss).
    const values = handled.map((h) => h.value);
    const duplicates = values.length - new Set(values).size;
    const atCheckpoint = new Map(checkpoint.map((c) => [c.partition, BigInt(c.offset)]));
    const sinceCheckpoint = handled.filter(
      (h) => h.region === "us-east" && h.offset >= (atCheckpoint.get(h.partition) ?? 0n),
    );
    const reread = handled.filter(
      (h) => h.region === "eu-west" && values.indexOf(h.value) !== values.lastIndexOf(h.value),
    );
    assert.equal(duplicates, reread.length);
    const allowed = new Set(sinceCheckpoint.map((h) => h.value));
    for (const h of reread)
      assert.ok(allowed.has(h.value), `${h.value} re-read though committed before the loss`);
    assert.ok(
      duplicates <= sinceCheckpoint.length,
      `${duplicates} re-read, ${sinceCheckpoint.length} since the checkpoint`,
    );

    // The producer: count what each cluster holds.
    const fresh = new Kafka({
      clientId: "failover-count",
      brokers: stack.clusters[0]!.bootstrapServers,
      logLevel: logLevel.NOTHING,
    });
    const freshAdmin = fresh.admin();
    await freshAdmin.connect();
    const [inA, inB] = await Promise.all([
      readAll(fresh, freshAdmin, "events"),
      readAll(kafkas[1]!, admins[1]!, "events"),
    ]);
    await freshAdmin.disconnect();
    const all = [...inA, ...inB];
    const written = new Set(all);
    assert.equal(all.length, written.size, "no record written twice");
    for (const value of acked)
      assert.ok(written.has(value), `acknowledged record ${value} is in a cluster`);
    for (const value of written)
      assert.ok(acked.has(value) || rejected.has(value), `record ${value} was sent`);
    process.stdout.write(
      `# failover: writes back after ${writesBackMs} ms; ${acked.size} acknowledged, ${rejected.size} rejected to the caller (${[...rejected].filter((v) => written.has(v)).length} of them written anyway); consumer re-read ${duplicates} of ${sinceCheckpoint.length} handled since the checkpoint\n`,
    );
  });
});
