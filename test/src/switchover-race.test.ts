// Two health services (processes, same Redis, same configuration but their own port) get the same
// Switchover at the same moment: exactly one moves the active region, the other is refused with
// a clear error naming the transition that runs (or, when it arrives after the flip, the epoch
// that moved on), and both then answer the same state. Bad requests before it change nothing.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { Code, createGrpcClient, GeoError, type GrpcClient } from "@geo/grpc";
import { findFreePorts } from "@geo/local-runtime";
import { createLogger } from "@geo/logging";
import { healthV1, ReplicationHealthService } from "@geo/proto";
import { type ServiceProcess, startService } from "./support/service-process";
import { FLOW_NAME, type SwitchoverRig, startSwitchoverRig, TOPIC } from "./support/switchover-rig";

const logger = createLogger({ service: "switchover-race-test", level: "warn" });

let rig: SwitchoverRig;
let second: ServiceProcess;
let secondClient: GrpcClient<typeof ReplicationHealthService>;

before(async () => {
  rig = await startSwitchoverRig("race", logger);
  await rig.produce(0, 300);
  // The group has positions at us-east for the switchover to translate.
  await rig.consume(0, TOPIC, (seen) => seen.length >= 100, 60_000);
  // The second health service: the same file but its own port (and so its own lag answers).
  const [port] = await findFreePorts(1);
  const text = readFileSync(rig.stack.configPath, "utf8");
  const secondPath = rig.stack.configPath.replace(/\.yaml$/, "-second.yaml");
  writeFileSync(
    secondPath,
    text.replace(/health: \{ listen: "127\.0\.0\.1:\d+"/, `health: { listen: "127.0.0.1:${port}"`),
  );
  second = await startService("health", ["--config", secondPath], {}, 120_000);
  secondClient = createGrpcClient(ReplicationHealthService, {
    address: second.endpoints.grpc!,
    defaultTimeoutMs: 120_000,
  });
  await rig.startAgent("agent-eu-1");
});

after(async () => {
  secondClient?.close();
  await second?.stop();
  await rig?.stop();
});

/** What must not move when a request is refused. */
async function snapshot(client: GrpcClient<typeof ReplicationHealthService>) {
  const { state, transitions } = await client.getRegionState({
    flowGroup: "orders",
    historyLimit: 100,
  });
  return {
    activeRegion: state?.activeRegion,
    epoch: state?.epoch,
    phase: state?.phase,
    transitionId: state?.transitionId,
    updateTime: state?.updateTime?.seconds,
    history: transitions.map((t) => t.id),
  };
}

async function refused(call: Promise<unknown>, code: Code, message: RegExp): Promise<void> {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof GeoError, String(error));
    assert.equal(error.code, code, `${error.codeName}: ${error.message}`);
    assert.match(error.message, message);
    return true;
  });
}

describe("two health services racing the same switchover (real processes, Kafka, Redis)", () => {
  it("bad requests get clear errors and change nothing", async () => {
    const before = await snapshot(rig.client);
    const epoch = (await rig.stateOf()).epoch;
    const base = { flowGroup: "orders", targetRegion: "eu-west", expectedEpoch: epoch, actor: "t" };
    await refused(
      rig.client.switchover({ ...base, flowGroup: "payments" }),
      Code.NOT_FOUND,
      /no flow group "payments"; known flow groups: orders/,
    );
    await refused(
      secondClient.failover({ ...base, targetRegion: "ap-south" }),
      Code.INVALID_ARGUMENT,
      /region "ap-south" is not part of flow group "orders"; its regions are us-east .* and eu-west/,
    );
    await refused(
      rig.client.failover({ ...base, targetRegion: "us-east", force: true }),
      Code.FAILED_PRECONDITION,
      /region "us-east" is already active for flow group "orders"/,
    );
    await refused(
      secondClient.switchover({ ...base, expectedEpoch: String(Number(epoch) + 5) }),
      Code.ABORTED,
      new RegExp(`expected_epoch ${Number(epoch) + 5} is stale: .* at epoch ${epoch}`),
    );
    await refused(
      rig.client.switchover({ ...base, expectedEpoch: "" }),
      Code.INVALID_ARGUMENT,
      /expected_epoch is required: read it with GetRegionState/,
    );
    await refused(
      rig.client.failback({ ...base }),
      Code.FAILED_PRECONDITION,
      /failback returns flow group "orders" to the region active before its last move \(none/,
    );
    assert.deepEqual(await snapshot(rig.client), before);
    assert.deepEqual(await snapshot(secondClient), before);
  });

  it("the same Switchover sent to both at once: exactly one wins, the other gets a clear error, both agree afterwards", async () => {
    await rig.produce(300, 600);
    const before = await rig.stateOf();
    const request = (actor: string) => ({
      flowGroup: "orders",
      targetRegion: "eu-west",
      expectedEpoch: before.epoch,
      actor,
      reason: "race",
    });
    const results = await Promise.allSettled([
      rig.client.switchover(request("racer-1")),
      secondClient.switchover(request("racer-2")),
    ]);
    const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const lost = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
    assert.equal(won.length, 1, `one winner: ${results.map((r) => r.status).join(", ")}`);
    assert.equal(lost.length, 1);
    const winner = won[0]!.transition!;
    assert.equal(winner.outcome, healthV1.TransitionOutcome.SUCCEEDED, winner.error);
    const error = lost[0];
    assert.ok(error instanceof GeoError, String(error));
    console.log(
      `race: ${winner.actor} won (${winner.id}); loser: ${error.codeName}: ${error.message}`,
    );
    if (error.code === Code.FAILED_PRECONDITION) {
      // Arrived while the winner ran: the message names it.
      assert.match(
        error.message,
        new RegExp(
          `already in a transition: switchover ${winner.id} to eu-west by ${winner.actor}`,
        ),
      );
    } else {
      // Arrived after the flip: the epoch it read moved on.
      assert.equal(error.code, Code.ABORTED, error.message);
      assert.match(error.message, /is stale: .* with eu-west active/);
    }

    const expected = {
      activeRegion: "eu-west",
      epoch: String(Number(before.epoch) + 1),
      phase: healthV1.RegionPhase.STABLE,
      transitionId: "",
    };
    for (const client of [rig.client, secondClient]) {
      const now = await snapshot(client);
      assert.deepEqual(
        {
          activeRegion: now.activeRegion,
          epoch: now.epoch,
          phase: now.phase,
          transitionId: now.transitionId,
        },
        expected,
      );
      // The loser recorded nothing: the winner's is the only real transition.
      const { transitions } = await client.getRegionState({
        flowGroup: "orders",
        historyLimit: 100,
      });
      assert.deepEqual(
        transitions.filter((t) => !t.dryRun).map((t) => [t.id, t.outcome]),
        [[winner.id, healthV1.TransitionOutcome.SUCCEEDED]],
      );
    }
    assert.equal((await rig.admin.getFlow({ name: FLOW_NAME })).flow?.paused, true);
    // A second transition afterwards, from a stale read, is refused too.
    await refused(
      secondClient.switchover(request("late")),
      Code.ABORTED,
      /is stale: .* with eu-west active/,
    );
  });
});
