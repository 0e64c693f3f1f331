// The hub failing under steady load, all real: two coordinator processes behind one address (as
// a Kubernetes Service gives agents), three agent processes, a producer writing sequence-numbered
// records to every partition. kill -9 of the leading coordinator does not stop replication and
// the standby takes over; Redis restarting empty stops the agents' writes (they cannot renew) until
// leases are granted again with epochs above every epoch the target recorded; nothing is lost.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { GEO_TOPICS } from "@geo/config";
import {
  allRunningOn,
  countsByAgent,
  type GeoStack,
  json,
  LEASES,
  type StackUnderLoad,
  settledUnits,
  startStackUnderLoad,
  stopStackUnderLoad,
  trackFailures,
  type UnitRow,
} from "./support/geo-stack";
import {
  epochViolations,
  highestRecorded,
  progressHistory,
  sampleEnds,
  targetActivity,
} from "./support/replica-check";
import { endOffset } from "./support/replication-fixtures";
import type { ServiceProcess } from "./support/service-process";
import { waitFor } from "./support/wait-for";

const TOPICS = ["orders", "payments", "clicks"];
const PARTITIONS = 4;
const UNITS = TOPICS.length * PARTITIONS;
const AGENTS = ["agent-1", "agent-2", "agent-3"];
/** The steady load's rate: 2 records per partition every 100 ms. */
const RECORDS_PER_SECOND = UNITS * 20;
/** Redis stays down this long: past the lease TTL, so every lease has ended meanwhile. */
const REDIS_DOWN_MS = LEASES.ttlMs + 4000;

let running: StackUnderLoad | undefined;
let stack: GeoStack;
let assertNothingLost: StackUnderLoad["assertNothingLost"];
const failures = trackFailures();

before(async () => {
  running = await startStackUnderLoad({
    name: "coordinator-faults",
    topics: TOPICS,
    partitions: PARTITIONS,
    coordinators: 2,
    agents: AGENTS,
  });
  ({ stack, assertNothingLost } = running);
});

after(() => stopStackUnderLoad(running, failures));

const sampler = () => sampleEnds(stack.pair.source, stack.pair.target, TOPICS, PARTITIONS, 100);

test("agents behind the shared address reach the leader; both coordinators show every unit running", async (t) => {
  const started = Date.now();
  // On a Redis without history the first election waits a lease TTL for a leader it cannot see.
  let leader: ServiceProcess | undefined;
  await waitFor("a leader", async () => {
    leader = await stack.leader();
    return leader !== undefined;
  });
  assert.ok(leader);
  await settledUnits(stack, UNITS, AGENTS, { via: leader });
  t.diagnostic(`every unit running ${Date.now() - started} ms after the agents started`);
  const standby = stack.coordinators.find((c) => c !== leader)!;
  // The standby forwards status reads to the leader (polled: balancing may be moving a unit).
  let rows: UnitRow[] = [];
  await waitFor("every unit running, as ListUnits through the standby shows", async () => {
    rows = await stack.units(standby);
    return allRunningOn(rows, UNITS, AGENTS) && rows.every((u) => u.epoch > 0n);
  }).catch((error: Error) => assert.fail(`${error.message}: ${json(rows)}`));
  await assertNothingLost(t, "steady state");
});

test("kill -9 of the leading coordinator under load: replication goes on, the standby takes over, nothing lost", async (t) => {
  const old = await stack.leader();
  assert.ok(old);
  const standby = stack.coordinators.find((c) => c !== old)!;
  const before = await settledUnits(stack, UNITS, AGENTS, { via: old });
  const ends = sampler();
  try {
    // A baseline of how far the target trails the source while nothing fails.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const killedAt = Date.now();
    await stack.kill(old);
    await waitFor("the standby leads", async () => (await stack.leader()) === standby, {
      timeoutMs: LEASES.ttlMs + 10_000,
      intervalMs: 50,
    });
    const electedAt = Date.now();
    let after: UnitRow[] = [];
    await waitFor(
      "every unit running, as ListUnits through the new leader shows",
      async () => {
        after = await stack.units(standby);
        return allRunningOn(after, UNITS, AGENTS);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const { agents } = await stack.admin(standby).listAgents({ region: "eu-west" });
    const resumedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await ends.stop();
    const baseline = targetActivity(ends.samples, killedAt - 2000, killedAt);
    const leaderless = targetActivity(ends.samples, killedAt, electedAt);
    const failover = targetActivity(ends.samples, killedAt, resumedAt);
    const moved = after.filter(
      (u) => before.find((b) => b.id === u.id)?.actual !== u.actual,
    ).length;
    t.diagnostic(
      `leader kill -9 → standby elected after ${electedAt - killedAt} ms, every unit running through it after ${resumedAt - killedAt} ms; units moved: ${moved}; ${json(countsByAgent(after))}`,
    );
    t.diagnostic(
      `target while no coordinator led (${electedAt - killedAt} ms): +${leaderless.gained} records for ${leaderless.produced} produced, longest pause ${leaderless.longestStallMs} ms; during the whole failover: longest pause ${failover.longestStallMs} ms, lag up to ${failover.maxLag} records (before the kill: up to ${baseline.maxLag}, longest pause ${baseline.longestStallMs} ms)`,
    );
    assert.ok(
      leaderless.gained * 2n >= leaderless.produced && leaderless.gained > 0n,
      `the target kept receiving records while no coordinator led: +${leaderless.gained} for ${leaderless.produced} produced`,
    );
    // Bounded: no worse than the lag before the kill plus three seconds of the load.
    assert.ok(
      failover.maxLag <= baseline.maxLag + BigInt(RECORDS_PER_SECOND * 3),
      `lag ${failover.maxLag} during the failover, ${baseline.maxLag} before`,
    );
    assert.deepEqual(
      agents.map((a) => [a.id, a.connected]).sort(),
      AGENTS.map((id) => [id, true]),
      "every agent has a session with the new leader",
    );
    assert.equal(
      agents.reduce((sum, a) => sum + a.runningUnitCount, 0),
      UNITS,
      "ListAgents through the new leader counts every unit running",
    );
  } finally {
    await ends.stop();
  }
  await assertNothingLost(t, "after the leader's kill -9");
  // Back to two coordinators, as an orchestrator would restart the killed one.
  await stack.restartCoordinator(stack.coordinators.indexOf(old));
});

test("Redis restarting empty under load: writes stop, leases come back with higher epochs, nothing lost", async (t) => {
  await settledUnits(stack, UNITS, AGENTS);
  const ends = sampler();
  /** The progress log's end while Redis was down: what was recorded before the restart. */
  let boundary = 0n;
  let recordedBefore = new Map<string, bigint>();
  let downAt = 0;
  let upAt = 0;
  let after: UnitRow[] = [];
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    downAt = Date.now();
    await stack.redis.kill();
    await new Promise((resolve) => setTimeout(resolve, REDIS_DOWN_MS));
    boundary = await endOffset(stack.pair.target, GEO_TOPICS.progress, 0);
    await stack.redis.restart();
    upAt = Date.now();
    recordedBefore = highestRecorded(
      new Map(
        [...(await progressHistory(stack.pair.target))].map(([id, writes]) => [
          id,
          writes.filter((w) => w.offset < boundary),
        ]),
      ),
    );
    await waitFor(
      "every unit running again with an epoch above what the target recorded",
      async () => {
        const leader = await stack.leader();
        if (leader === undefined) return false;
        after = await stack.units(leader);
        return (
          allRunningOn(after, UNITS, AGENTS) &&
          after.every((u) => u.epoch > (recordedBefore.get(u.id) ?? 0n))
        );
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } finally {
    await ends.stop();
  }
  const recoveredAt = Date.now();
  const outage = targetActivity(ends.samples, downAt, upAt);
  const stopAfterMs = (outage.lastGrowthAt ?? downAt) - downAt;
  const recovery = targetActivity(ends.samples, downAt, recoveredAt);
  t.diagnostic(
    `Redis down ${upAt - downAt} ms: the target's last write ${stopAfterMs} ms after it went down (lease TTL ${LEASES.ttlMs} ms, safety margin ${LEASES.safetyMarginMs} ms); every unit running again ${recoveredAt - upAt} ms after it came back empty; replication paused ${recovery.longestStallMs} ms in all; ${json(countsByAgent(after))}`,
  );
  // Trust ends at the last renewal + TTL − safety margin, and the writes in flight then have
  // their delivery deadline: the rest is room for samples and a busy machine.
  assert.ok(
    stopAfterMs <= LEASES.ttlMs + 1500,
    `the agents still wrote ${stopAfterMs} ms after Redis went down`,
  );

  await assertNothingLost(t, "after the Redis restart");
  const history = await progressHistory(stack.pair.target);
  assert.deepEqual(epochViolations(history), [], "no epoch reused or going back");
  for (const unit of after) {
    const highestBefore = recordedBefore.get(unit.id) ?? 0n;
    const since = history.get(unit.id)!.filter((w) => w.offset >= boundary);
    assert.ok(
      since.some((w) => w.epoch === unit.epoch),
      `${unit.id}: its new epoch ${unit.epoch} is recorded in the target`,
    );
    for (const write of since) {
      assert.ok(
        write.epoch > highestBefore,
        `${unit.id}: epoch ${write.epoch} written by ${write.agentId} after the restart, ${highestBefore} recorded before`,
      );
    }
  }
});
