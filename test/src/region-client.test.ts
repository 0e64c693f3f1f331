// The region client helper against a real region-state change: the health service process
// streams the state, another store on the same Redis moves the active region, and kafkajs
// producers and consumers wrapped by @geo/region-client follow it between two real Kafka
// clusters, with every record written once and handled once; and a producer leaving a region
// whose broker was killed within its bound, the send in flight there rejected as outcome unknown;
// and closing a producer whose send is in flight to a killed broker within its own bound.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { findFreePorts } from "@geo/local-runtime";
import { createLogger } from "@geo/logging";
import {
  createFollowingConsumer,
  createFollowingProducer,
  createRegionFollower,
  PRODUCER_CLOSED,
  PRODUCER_CLOSED_OUTCOME_UNKNOWN,
  REGION_SWITCHED_OUTCOME_UNKNOWN,
  type RegionFollower,
  type TranslateRequest,
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

const logger = createLogger({ service: "region-client-test", level: "warn" });
let stack: RegionStack;
let health: ServiceProcess;
let peer: RegionStore;
let admins: Record<string, Admin>;
let kafkas: Record<string, Kafka>;
const followers: RegionFollower[] = [];

before(async () => {
  const [healthPort] = await findFreePorts(1);
  stack = await startRegionStack({
    name: "client",
    keyPrefix: "geo-client:",
    logger,
    rest: `flowGroups:
  - { name: events, clusters: [us-east, eu-west] }
  - { name: orders, clusters: [us-east, eu-west] }
  - { name: payments, clusters: [us-east, eu-west] }
  - { name: ledger, clusters: [us-east, eu-west] }
services:
  health: { listen: "127.0.0.1:${healthPort}", metricsListen: "127.0.0.1:0" }
`,
  });
  health = await startService("health", ["--config", stack.configPath]);
  // The peer's log is in memory; the health process persists to the real topics.
  peer = await stack.openPeer(createMemoryRegionLog());
  kafkas = Object.fromEntries(
    ["us-east", "eu-west"].map((alias, i) => [
      alias,
      new Kafka({
        clientId: "client-test",
        brokers: stack.clusters[i]!.bootstrapServers,
        logLevel: logLevel.NOTHING,
      }),
    ]),
  );
  admins = Object.fromEntries(
    Object.entries(kafkas).map(([alias, kafka]) => [alias, kafka.admin()]),
  );
  await Promise.all(Object.values(admins).map((admin) => admin.connect()));
  await createTopicsEverywhere(Object.values(admins), ["events", "orders", "payments", "ledger"]);
});

after(async () => {
  await Promise.all(followers.map((f) => f.close()));
  await Promise.all(Object.values(admins ?? {}).map((admin) => admin.disconnect()));
  await health?.stop();
  await stack?.stop();
});

function follower(flowGroup: string): RegionFollower {
  const created = createRegionFollower({
    healthAddress: health.endpoints.grpc!,
    flowGroup,
    logger,
  });
  followers.push(created);
  return created;
}

async function readAll(alias: string, topic: string): Promise<string[]> {
  const offsets = await admins[alias]!.fetchTopicOffsets(topic);
  const total = offsets.reduce((sum, p) => sum + Number(p.high), 0);
  const values: string[] = [];
  if (total === 0) return values;
  const consumer = kafkas[alias]!.consumer({ groupId: `reader-${alias}-${topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => void values.push(message.value!.toString()),
  });
  await waitFor(`all ${total} records of ${topic} in ${alias}`, () => values.length >= total);
  await consumer.disconnect();
  return values;
}

const duplicatesOf = (values: readonly string[]) =>
  values.filter((v, i) => values.indexOf(v) !== i);

describe("region client helper (real health service, Redis, two Kafka clusters)", () => {
  it("a producer follows a switchover: every record written once, before the flip in A, after it in B", async () => {
    const producer = createFollowingProducer({ follower: follower("events"), logger });
    await producer.start();
    assert.equal(producer.region(), "us-east");
    const total = 600;
    let next = 0;
    const acked: { seq: number; region: string | undefined }[] = [];
    const writers = Array.from({ length: 4 }, async () => {
      while (next < total) {
        const seq = next++;
        await producer.send({
          topic: "events",
          messages: [{ key: String(seq % 7), value: String(seq) }],
        });
        acked.push({ seq, region: producer.region() });
      }
    });
    await waitFor("200 records acknowledged", () => acked.length >= 200);
    let heldDuringDrain = false;
    await movePeer(peer, "events", "eu-west", async () => {
      await waitFor(
        "the producer holding, its sends in flight answered",
        () => producer.region() === undefined && producer.inFlight() === 0,
        {
          timeoutMs: 20_000,
        },
      );
      const before = acked.length;
      await new Promise((resolve) => setTimeout(resolve, 300));
      heldDuringDrain = acked.length === before;
    });
    await Promise.all(writers);
    await producer.close();
    assert.ok(heldDuringDrain, "no record was acknowledged while the region drained");
    assert.deepEqual(producer.history, ["us-east", "eu-west"]);
    const [inA, inB] = await Promise.all([
      readAll("us-east", "events"),
      readAll("eu-west", "events"),
    ]);
    const all = [...inA, ...inB];
    assert.deepEqual(duplicatesOf(all), [], "no record written twice");
    assert.equal(all.length, total, "no record lost");
    assert.ok(
      inA.length >= 200 && inB.length > 0,
      `${inA.length} in us-east, ${inB.length} in eu-west`,
    );
    const maxA = Math.max(...inA.map(Number));
    const minB = Math.min(...inB.map(Number));
    assert.ok(
      maxA < minB + 4,
      `records before the flip went to A (max ${maxA}), after it to B (min ${minB})`,
    );
  });

  it("a consumer follows a switchover: commits at A, resumes at B from the translated offsets", async () => {
    const total = 300;
    // The same records at the same offsets in both clusters, as an exact replica would hold them.
    for (const alias of ["us-east", "eu-west"]) {
      const producer = kafkas[alias]!.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      await producer.send({
        topic: "orders",
        messages: Array.from({ length: total }, (_, i) => ({ partition: i % 3, value: String(i) })),
      });
      await producer.disconnect();
    }
    const translations: TranslateRequest[] = [];
    // Stands in for the offsets service's CommitTranslatedOffsets: the replica is exact, so the
    // translated offset of each partition is the committed one.
    const commitTranslated = async (request: TranslateRequest) => {
      translations.push(request);
      const [committed] = await admins[request.from.cluster]!.fetchOffsets({
        groupId: request.groupId,
        topics: ["orders"],
      });
      await admins[request.to.cluster]!.setOffsets({
        groupId: request.groupId,
        topic: "orders",
        partitions: committed!.partitions.map((p) => ({
          partition: p.partition,
          offset: p.offset,
        })),
      });
    };
    const handled: { value: string; region: string }[] = [];
    const consumer = createFollowingConsumer({
      follower: follower("orders"),
      groupId: "billing",
      topics: () => ["orders"],
      commitTranslated,
      logger,
      eachMessage: async ({ message, region }) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        handled.push({ value: message.value!.toString(), region });
      },
    });
    await consumer.start();
    await waitFor("100 records handled at us-east", () => handled.length >= 100, {
      timeoutMs: 60_000,
    });
    await movePeer(peer, "orders", "eu-west", () =>
      waitFor("the consumer left us-east", () => consumer.region() === undefined, {
        timeoutMs: 30_000,
      }),
    );
    await waitFor("every record handled", () => handled.length >= total, { timeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await consumer.close();
    const values = handled.map((h) => h.value);
    assert.deepEqual(duplicatesOf(values), [], "no record handled twice");
    assert.equal(new Set(values).size, total, "no record missed");
    assert.deepEqual(consumer.history, ["us-east", "eu-west"]);
    assert.equal(translations.length, 1);
    assert.equal(translations[0]?.from.cluster, "us-east");
    assert.equal(translations[0]?.to.cluster, "eu-west");
    const atB = handled.filter((h) => h.region === "eu-west").length;
    assert.ok(atB > 0 && atB < total, `${total - atB} handled at us-east, ${atB} at eu-west`);
  });

  /** A producer of `payments` that wrote to `region`, whose broker is then killed. */
  async function producerLosingItsBroker(
    region: "us-east" | "eu-west",
    bounds: { switchWaitMs?: number; closeWaitMs?: number },
  ) {
    const producer = createFollowingProducer({ follower: follower("payments"), logger, ...bounds });
    await producer.start();
    await producer.send({ topic: "payments", messages: [{ value: `before, in ${region}` }] });
    assert.equal(producer.region(), region);
    await stack.clusters[region === "us-east" ? 0 : 1]!.killBroker(1);
    return producer;
  }

  // Last three: they kill a broker (started again before each ends).
  it("a consumer fails over from a dead broker without waiting to commit there, and resumes from the failover's commit", async () => {
    const write = async (alias: string, values: readonly string[]) => {
      const producer = kafkas[alias]!.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      await producer.send({
        topic: "ledger",
        messages: values.map((value, i) => ({ partition: i % 3, value })),
      });
      await producer.disconnect();
    };
    const before = Array.from({ length: 60 }, (_, i) => `before-${i}`);
    for (const alias of ["us-east", "eu-west"]) await write(alias, before);
    const handled: { value: string; region: string }[] = [];
    const consumer = createFollowingConsumer({
      follower: follower("ledger"),
      groupId: "audit",
      topics: () => ["ledger"],
      // The failover commits the group's checkpoints in eu-west itself (whileLocked below).
      commitTranslated: async () => {},
      logger,
      eachMessage: async ({ message, region }) => {
        handled.push({ value: message.value!.toString(), region });
      },
    });
    await consumer.start();
    await waitFor("every record handled at us-east", () => handled.length >= before.length, {
      timeoutMs: 60_000,
    });
    // What the failover's commit-offsets step does: the group's position, translated.
    await admins["eu-west"]!.setOffsets({
      groupId: "audit",
      topic: "ledger",
      partitions: [0, 1, 2].map((partition) => ({ partition, offset: "20" })),
    });
    await stack.clusters[0]!.killBroker(1);
    try {
      await movePeer(
        peer,
        "ledger",
        "eu-west",
        () =>
          waitFor("the consumer leaving us-east", () => consumer.region() === undefined, {
            timeoutMs: 20_000,
          }),
        "failing-over",
      );
      const flipped = performance.now();
      await waitFor("the consumer in eu-west", () => consumer.region() === "eu-west", {
        timeoutMs: 30_000,
      });
      const resumedMs = performance.now() - flipped;
      await write("eu-west", ["after-0", "after-1", "after-2"]);
      await waitFor("the records written in eu-west handled", () => handled.length >= 63, {
        timeoutMs: 30_000,
      });
      // Leaving began at FAILING_OVER, just before the flip. Committing to the dead region first
      // held the consumer there for seconds (kafkajs retries, bounded by leaveTimeoutMs, 10 s);
      // now it waits only for a disconnect bounded at 0.5 s.
      assert.ok(
        resumedMs < 2500,
        `consuming in eu-west ${Math.round(resumedMs)} ms after the flip`,
      );
      assert.deepEqual(
        handled
          .filter((h) => h.region === "eu-west")
          .map((h) => h.value)
          .sort(),
        ["after-0", "after-1", "after-2"],
        "resumed from the failover's commit: nothing before it handled again",
      );
      assert.deepEqual(consumer.history, ["us-east", "eu-west"]);
      logger.warn({ resumedMs: Math.round(resumedMs) }, "consumer failover from a dead broker");
    } finally {
      await consumer.close();
      await stack.clusters[0]!.startBroker(1);
    }
  });

  it("a producer fails over from a dead broker within switchWaitMs: the send in flight there rejects as outcome unknown", async () => {
    const switchWaitMs = 2000;
    const producer = await producerLosingItsBroker("us-east", { switchWaitMs });
    try {
      const started = performance.now();
      // kafkajs retries this send for ~10 s before rejecting it; the switch must not wait that.
      const outcome = producer.send({ topic: "payments", messages: [{ value: "in-flight" }] }).then(
        () => ({ error: undefined as unknown, ms: performance.now() - started }),
        (error: unknown) => ({ error, ms: performance.now() - started }),
      );
      await waitFor("the send in flight to the dead broker", () => producer.inFlight() === 1);
      const lost = performance.now();
      await movePeer(
        peer,
        "payments",
        "eu-west",
        () =>
          waitFor("the producer holding", () => producer.region() === undefined, {
            timeoutMs: 20_000,
          }),
        "failing-over",
      );
      await producer.send({ topic: "payments", messages: [{ value: "after" }] });
      const backMs = performance.now() - lost;
      const { error, ms } = await outcome;
      const coded = error as { code?: unknown; retriable?: unknown } | undefined;
      assert.ok(
        coded?.code === REGION_SWITCHED_OUTCOME_UNKNOWN && coded.retriable === true,
        `the send in flight rejected as outcome unknown, not ${String(error)}`,
      );
      assert.ok(ms < switchWaitMs + 3000, `the send in flight settled after ${Math.round(ms)} ms`);
      assert.ok(backMs < switchWaitMs + 5000, `written in eu-west ${Math.round(backMs)} ms after`);
      assert.deepEqual(producer.history, ["us-east", "eu-west"]);
      assert.equal(producer.region(), "eu-west");
      assert.deepEqual(await readAll("eu-west", "payments"), ["after"]);
      logger.warn(
        { inFlightSettledMs: Math.round(ms), writtenInEuWestMs: Math.round(backMs) },
        "failover with the send in flight to a dead broker",
      );
      await producer.close();
    } finally {
      await stack.clusters[0]!.startBroker(1);
    }
  });

  it("close() with a send in flight to a dead broker returns within closeWaitMs: the send rejects as outcome unknown", async () => {
    const closeWaitMs = 1500;
    // payments is active in eu-west since the failover above.
    const producer = await producerLosingItsBroker("eu-west", { closeWaitMs });
    try {
      // kafkajs retries this send for ~10 s before rejecting it; close must not wait that.
      const outcome = producer.send({ topic: "payments", messages: [{ value: "in-flight" }] }).then(
        () => undefined,
        (error: unknown) => error,
      );
      await waitFor("the send in flight to the dead broker", () => producer.inFlight() === 1);
      const started = performance.now();
      await producer.close();
      const closeMs = performance.now() - started;
      const coded = (await outcome) as { code?: unknown; retriable?: unknown } | undefined;
      assert.ok(
        coded?.code === PRODUCER_CLOSED_OUTCOME_UNKNOWN && coded.retriable === true,
        `the send in flight rejected as outcome unknown, not ${String(coded)}`,
      );
      assert.ok(closeMs >= closeWaitMs - 50, `gave the send its ${closeWaitMs} ms, not ${closeMs}`);
      assert.ok(closeMs < 2 * closeWaitMs + 1000, `close() took ${Math.round(closeMs)} ms`);
      assert.equal(producer.inFlight(), 0);
      await assert.rejects(producer.send({ topic: "payments", messages: [{ value: "late" }] }), {
        code: PRODUCER_CLOSED,
      });
      logger.warn(
        { closeMs: Math.round(closeMs) },
        "closed with a send in flight to a dead broker",
      );
    } finally {
      await stack.clusters[1]!.startBroker(1);
    }
  });
});
