// The region client helper through a real Switchover (the rig of switchover-e2e: coordinator,
// an agent in eu-west, the offsets and health services as processes): a following producer
// writes a sequence to `orders` while a following consumer of group `billing` reads it; the
// health service switches over us-east -> eu-west (the producer holds while the flow drains, the
// consumer commits and leaves, the switchover commits the group's translated offsets); both then
// continue at eu-west, the consumer reading the replicated `us-east.orders` from the translated
// offsets and the new writes in eu-west's `orders`. Every record once, none missing; and the
// process exits afterwards (every client closed, nothing left running).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLogger } from "@geo/logging";
import { healthV1 } from "@geo/proto";
import {
  createFollowingConsumer,
  createFollowingProducer,
  createRegionFollower,
  offsetsServiceCommitter,
} from "@geo/region-client";
import { createTopicsEverywhere } from "./support/region-stack";
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

const logger = createLogger({ service: "region-client-switchover-test", level: "warn" });
const TOTAL = 1500;
const BEFORE_SWITCH = 400;

let rig: SwitchoverRig;

before(async () => {
  rig = await startSwitchoverRig("client-switchover", logger);
  // Where the producer writes once eu-west is active.
  await createTopicsEverywhere([rig.admins[1]!], [TOPIC]);
  await rig.startAgent("agent-eu-1");
});

after(async () => {
  await rig?.stop();
});

describe("region client helper following a real switchover", () => {
  it("a following producer and consumer continue at eu-west: every record once, none missing", async () => {
    const follower = createRegionFollower({
      healthAddress: rig.healthAddress,
      flowGroup: "orders",
      logger,
    });
    const commitTranslated = offsetsServiceCommitter({
      offsetsAddress: rig.offsets.endpoints.grpc!,
      flowName: () => FLOW_NAME,
      grpc: { defaultTimeoutMs: 30_000 },
    });
    const producer = createFollowingProducer({ follower, logger });
    const handled: { seq: number; region: string; topic: string }[] = [];
    const consumer = createFollowingConsumer({
      follower,
      groupId: GROUP,
      topics: (region) => (region === "us-east" ? [TOPIC] : [REMOTE, TOPIC]),
      commitTranslated,
      logger,
      eachMessage: async ({ message, region, topic }) => {
        handled.push({ seq: Number(message.value!.toString()), region, topic });
      },
    });
    try {
      await Promise.all([producer.start(), consumer.start()]);
      assert.equal(producer.region(), "us-east");
      let next = 0;
      const writing = (async () => {
        while (next < TOTAL) {
          const from = next;
          next = Math.min(TOTAL, next + 10);
          const messages = [];
          for (let seq = from; seq < next; seq++)
            messages.push({ partition: seq % 3, key: String(seq), value: String(seq) });
          await producer.send({ topic: TOPIC, messages });
        }
      })();
      await waitFor(
        `${BEFORE_SWITCH} records handled at us-east`,
        () => handled.length >= BEFORE_SWITCH,
        { timeoutMs: 60_000 },
      );
      const before = await rig.stateOf();
      const answer = await rig.client.switchover({
        flowGroup: "orders",
        targetRegion: "eu-west",
        expectedEpoch: before.epoch,
        actor: "test",
        reason: "clients follow",
      });
      const record = answer.transition!;
      console.log(
        `switchover under following clients: ${record.steps.map((s) => `${s.name}: ${s.detail}`).join(" | ")}`,
      );
      assert.equal(record.outcome, healthV1.TransitionOutcome.SUCCEEDED, record.error);
      await writing;
      await waitFor(
        "every record handled",
        () => new Set(handled.map((h) => h.seq)).size >= TOTAL,
        {
          timeoutMs: 120_000,
        },
      );
      // Anything re-delivered would arrive shortly after the last record.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const { duplicates, misses } = sequenceCheck(
        handled.map((h) => h.seq),
        TOTAL,
      );
      const at = (region: string, topic: string) =>
        handled.filter((h) => h.region === region && h.topic === topic).length;
      console.log(
        `client switchover figures: RTO ${durationMs(record.rto).toFixed(0)} ms; handled ${at("us-east", TOPIC)} at us-east, ` +
          `${at("eu-west", REMOTE)} replicated and ${at("eu-west", TOPIC)} new at eu-west; duplicates ${duplicates}, misses ${misses}`,
      );
      assert.equal(duplicates, 0);
      assert.equal(misses, 0);
      assert.deepEqual(producer.history, ["us-east", "eu-west"]);
      assert.deepEqual(consumer.history, ["us-east", "eu-west"]);
      assert.ok(at("eu-west", TOPIC) > 0, "records written at eu-west after the flip");
    } finally {
      await Promise.all([producer.close(), consumer.close()]);
      await follower.close();
      commitTranslated.close();
    }
  });
});
