// A round trip us-east -> eu-west -> us-east against the real thing (Kafka, Redis, the
// coordinator, agents in both regions, the offsets and health services as processes), with the
// flow back eu-west->us-east paused until the first switchover as in the demo's pair. The group
// leaves us-east with records unread, reads part of them in eu-west as remote records
// (`us-east.orders`) besides eu-west's own, and after the switchover back reads the rest in
// us-east: the transition maps its position on `us-east.orders` home to `orders`
// (CommitTranslatedOffsets with to_origin), so nothing is read twice and nothing is missed.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLogger } from "@geo/logging";
import { healthV1 } from "@geo/proto";
import {
  GROUP,
  REMOTE,
  type SwitchoverRig,
  sequenceCheck,
  startSwitchoverRig,
  TOPIC,
} from "./support/switchover-rig";
import { waitFor } from "./support/wait-for";

const logger = createLogger({ service: "switchback-e2e-test", level: "warn" });
const AT_US_EAST = 1500;
const READ_FIRST = 700;
/** Written into eu-west's own `orders` while it is active. */
const AT_EU_WEST = 100;
/** Of the 800 records the group left unread at us-east, it reads at least this many in eu-west. */
const REMOTE_READ_IN_EU_WEST = 300;
const AFTER_RETURN = 400;
const TOTAL = AT_US_EAST + AT_EU_WEST + AFTER_RETURN;
/** What us-east holds of eu-west's `orders`. */
const REMOTE_OF_EU_WEST = `eu-west.${TOPIC}`;

let rig: SwitchoverRig;

before(async () => {
  rig = await startSwitchoverRig("switchback", logger, { withReverseFlow: true });
  await rig.produce(0, AT_US_EAST);
  await rig.startAgent("agent-eu-1", "eu-west");
  await rig.startAgent("agent-us-1", "us-east");
});

after(async () => {
  await rig?.stop();
});

/** A drill until it passes (the offsets service reads the maps first), then the switchover. */
async function switchTo(region: string, reason: string) {
  await waitFor(
    `a passing drill to ${region}`,
    async () => {
      const drill = await rig.client.switchover({
        flowGroup: "orders",
        targetRegion: region,
        dryRun: true,
        actor: "drill",
      });
      return drill.transition?.outcome === healthV1.TransitionOutcome.DRILL_PASSED;
    },
    { timeoutMs: 90_000, intervalMs: 2000 },
  );
  const state = await rig.stateOf();
  const answer = await rig.client.switchover({
    flowGroup: "orders",
    targetRegion: region,
    expectedEpoch: state.epoch,
    actor: "test",
    reason,
  });
  console.log(
    `switchover to ${region}: ${answer.steps.map((s) => `${s.name}: ${s.detail}`).join(" | ")}`,
  );
  assert.equal(
    answer.transition?.outcome,
    healthV1.TransitionOutcome.SUCCEEDED,
    answer.transition?.error,
  );
  assert.equal(answer.state?.activeRegion, region);
  return answer;
}

describe("round trip us-east -> eu-west -> us-east (real processes, Kafka, Redis)", () => {
  const read: number[] = [];

  it("the group reads part of us-east's sequence, switches to eu-west and reads remote and local records there", async () => {
    read.push(...(await rig.consume(0, TOPIC, (seen) => seen.length >= READ_FIRST, 60_000)));
    await switchTo("eu-west", "round trip, out");
    await rig.produce(AT_US_EAST, AT_US_EAST + AT_EU_WEST, 1);
    const local = (seq: number) => seq >= AT_US_EAST;
    const inEuWest = await rig.consume(
      1,
      [REMOTE, TOPIC],
      // Until the group has a position on every partition (partition = seq % 3), here or from
      // us-east, for the return to map home: a loaded machine's fetches can reach the counts
      // from fewer, and the group then never read (nor has a position on) the third.
      (seen) =>
        seen.filter(local).length >= AT_EU_WEST &&
        seen.filter((seq) => !local(seq)).length >= REMOTE_READ_IN_EU_WEST &&
        new Set([...read, ...seen.filter((seq) => !local(seq))].map((seq) => seq % 3)).size === 3,
      90_000,
    );
    read.push(...inEuWest);
    const remote = inEuWest.filter((seq) => seq < AT_US_EAST).length;
    console.log(
      `in eu-west: ${remote} remote records (${REMOTE}), ${inEuWest.length - remote} local`,
    );
    assert.ok(remote >= REMOTE_READ_IN_EU_WEST);
  });

  it("switches back: the position on the remote copy goes home; nothing read twice, nothing missed", async () => {
    const back = await switchTo("us-east", "round trip, home");
    const home = back.steps.filter((s) => s.name === "commit-origin-offsets");
    assert.equal(home.length, 1, back.steps.map((s) => s.name).join());
    assert.ok(home[0]!.ok);
    assert.match(home[0]!.detail, /^3 partitions committed/);
    const committed = await rig.admins[0]!.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    const position = committed[0]!.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    const readOfUsEast = read.filter((seq) => seq < AT_US_EAST).length;
    // Partition p holds seq ≡ p (mod 3), in order: the committed offsets sum to what was read.
    assert.equal(position, readOfUsEast, `${GROUP} at us-east ${JSON.stringify(committed)}`);

    await rig.produce(AT_US_EAST + AT_EU_WEST, TOTAL);
    const inUsEast = await rig.consume(
      0,
      [TOPIC, REMOTE_OF_EU_WEST],
      (seen) => read.length + seen.length >= TOTAL,
      90_000,
    );
    const { duplicates, misses } = sequenceCheck([...read, ...inUsEast], TOTAL);
    console.log(
      `round trip figures: ${read.length} read before the return, ${inUsEast.length} after; duplicates ${duplicates}, misses ${misses}`,
    );
    assert.equal(duplicates, 0);
    assert.equal(misses, 0);
  });
});
