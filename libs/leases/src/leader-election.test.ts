import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { type RedisServer, startRedis } from "@geo/local-runtime";
import { type Epoch, parseEpoch, toEpoch } from "@geo/positions";
import type { Redis } from "@geo/redis";
import { createLeaderElection } from "./leader-election";
import type {
  DemotionReason,
  LeaderElection,
  LeaderElectionOptions,
  LeaderTerm,
} from "./leader-election-types";
import { createLeaseStore } from "./lease-store";
import { testClient, uniquePrefix, waitFor } from "./test-support";

let server: RedisServer;
const clients: Redis[] = [];
const elections: LeaderElection[] = [];

before(async () => {
  server = await startRedis();
});

after(async () => {
  await Promise.all(elections.map((election) => election.stop()));
  for (const client of clients) client.disconnect();
  await server?.stop();
});

function client(name: string): Redis {
  const redis = testClient(server.url, name);
  clients.push(redis);
  return redis;
}

interface Contender {
  election: LeaderElection;
  events: { event: "elected" | "demoted"; at: number; epoch: Epoch; reason?: DemotionReason }[];
  terms: LeaderTerm[];
}

function contender(
  options: Pick<LeaderElectionOptions, "key" | "id" | "ttlMs" | "renewIntervalMs"> &
    Partial<LeaderElectionOptions>,
): Contender {
  const events: Contender["events"] = [];
  const terms: LeaderTerm[] = [];
  const election = createLeaderElection({
    redis: client(options.id),
    ...options,
    onElected: (term) => {
      terms.push(term);
      events.push({ event: "elected", at: performance.now(), epoch: term.epoch });
    },
    onDemoted: (reason, term) =>
      events.push({ event: "demoted", at: performance.now(), epoch: term.epoch, reason }),
  });
  elections.push(election);
  return { election, events, terms };
}

const nextEvent = (c: Contender, event: "elected" | "demoted", after = 0, timeoutMs = 10_000) =>
  waitFor(
    `${event} event`,
    () => c.events.find((e) => e.event === event && e.at >= after),
    timeoutMs,
    2,
  );

describe("createLeaderElection (real Redis)", () => {
  it("elects exactly one of two contenders, after the recovery wait of a fresh Redis", async (t) => {
    const key = `${uniquePrefix("two")}coordinator:leader`;
    const ttlMs = 600;
    const options = { key, ttlMs, renewIntervalMs: 150, safetyMarginMs: 150 };
    const a = contender({ ...options, id: "a" });
    const b = contender({ ...options, id: "b" });
    const started = performance.now();
    a.election.start();
    b.election.start();
    const first = await waitFor("a leader", () =>
      a.election.isLeader() ? a : b.election.isLeader() ? b : undefined,
    );
    const electedAfter = performance.now() - started;
    t.diagnostic(`first election after ${electedAfter.toFixed(0)} ms (recovery wait ${ttlMs} ms)`);
    assert.ok(electedAfter >= ttlMs - 20, `elected after ${electedAfter} ms`);
    const second = first === a ? b : a;

    // Watch both for several TTLs: never two leaders, no re-election.
    const watchUntil = performance.now() + 3 * ttlMs;
    while (performance.now() < watchUntil) {
      assert.ok(!(a.election.isLeader() && b.election.isLeader()), "two leaders at once");
      assert.ok(first.election.isLeader(), "the leader lost its lease while renewing");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(first.events.length, 1);
    assert.equal(second.events.length, 0);
    const firstEpoch = first.terms[0]!.epoch;

    // A clean stop releases the lease: the other one takes over within a renew interval.
    const stoppedAt = performance.now();
    await first.election.stop();
    assert.deepEqual(
      first.events.map((e) => [e.event, e.reason]),
      [
        ["elected", undefined],
        ["demoted", "stopped"],
      ],
    );
    const taken = await nextEvent(second, "elected");
    t.diagnostic(`takeover after a clean stop: ${(taken.at - stoppedAt).toFixed(0)} ms`);
    assert.ok(taken.at - stoppedAt <= 150 + 250);
    assert.equal(taken.epoch, firstEpoch + 1n);
    await second.election.stop();
  });

  it("elects the standby within ttl + renew interval after the leader process is killed -9", async (t) => {
    const key = `${uniquePrefix("kill")}coordinator:leader`;
    const ttlMs = 1000;
    const renewIntervalMs = 200;
    const child: ChildProcess = spawn(
      process.execPath,
      [
        join(__dirname, "fixtures", "leader-process.js"),
        server.url,
        key,
        "doomed",
        String(ttlMs),
        String(renewIntervalMs),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      const lines: { event: string; epoch: string }[] = [];
      createInterface({ input: child.stdout! }).on("line", (line) => lines.push(JSON.parse(line)));
      const elected = await waitFor("the child to lead", () =>
        lines.find((line) => line.event === "elected"),
      );
      const standby = contender({ key, id: "standby", ttlMs, renewIntervalMs });
      standby.election.start();
      // The standby stays a follower while the leader process renews.
      await new Promise((resolve) => setTimeout(resolve, 2 * ttlMs));
      assert.equal(standby.events.length, 0);

      child.kill("SIGKILL");
      const killedAt = performance.now();
      const taken = await nextEvent(standby, "elected");
      const takeoverMs = taken.at - killedAt;
      t.diagnostic(
        `takeover after kill -9: ${takeoverMs.toFixed(0)} ms (bound ttl + renew interval = ${ttlMs + renewIntervalMs} ms)`,
      );
      // Slack for timers on a busy 2-core machine.
      assert.ok(takeoverMs <= ttlMs + renewIntervalMs + 250, `took ${takeoverMs} ms`);
      assert.equal(taken.epoch, parseEpoch(elected.epoch) + 1n);
      await standby.election.stop();
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("fences grants: a leader's token stops working when its term ends", async () => {
    const prefix = uniquePrefix("fence");
    const key = `${prefix}coordinator:leader`;
    const options = { key, ttlMs: 500, renewIntervalMs: 100, recoveryMs: 0 };
    const a = contender({ ...options, id: "a" });
    a.election.start();
    const term = await waitFor("a to lead", () => a.election.term());
    const store = createLeaseStore({ redis: client("fence-store"), keyPrefix: prefix });
    await client("fence-setup").set(store.keys.era, "0");
    await store.registerAgent("agent-1", 30_000, { region: "eu", instance: "i" });
    const grant = { minEpoch: toEpoch(0), graceMs: 0, ttlMs: 500 };
    assert.equal(
      (await store.grantUnit("u1", "agent-1", { ...grant, fence: term.fence })).granted,
      true,
    );
    await a.election.stop();
    const b = contender({ ...options, id: "b" });
    b.election.start();
    const next = await waitFor("b to lead", () => b.election.term());
    assert.deepEqual(await store.grantUnit("u2", "agent-1", { ...grant, fence: term.fence }), {
      granted: false,
      epoch: toEpoch(0),
      reason: "not-leader",
    });
    assert.equal((await store.revokeUnit("u1", { fence: term.fence })).reason, "not-leader");
    assert.equal(
      (await store.grantUnit("u2", "agent-1", { ...grant, fence: next.fence })).granted,
      true,
    );
    assert.equal(next.epoch, term.epoch + 1n);
    await b.election.stop();
  });

  it("is not leader after a pause that outlived its local deadline", async () => {
    const key = `${uniquePrefix("pause")}coordinator:leader`;
    let pausedMs = 0;
    const a = contender({
      key,
      id: "a",
      ttlMs: 1000,
      renewIntervalMs: 200,
      safetyMarginMs: 200,
      recoveryMs: 0,
      now: () => performance.now() + pausedMs,
    });
    a.election.start();
    const term = await waitFor("a to lead", () => a.election.term());
    pausedMs += 1000; // the process slept through its whole lease
    assert.equal(a.election.isLeader(), false);
    assert.equal(a.election.term(), undefined);
    assert.deepEqual(
      a.events.map((e) => [e.event, e.reason]),
      [
        ["elected", undefined],
        ["demoted", "deadline"],
      ],
    );
    // It released the stale token, so it can lead again, with a new epoch.
    const again = await nextEvent(a, "elected", a.events[1]!.at);
    assert.equal(again.epoch, term.epoch + 1n);
    await a.election.stop();
  });

  it("demotes itself by its local deadline when Redis is gone, and keeps epochs monotonic after an empty restart", async (t) => {
    const key = `${uniquePrefix("loss")}coordinator:leader`;
    const ttlMs = 1000;
    // Stands for the highest leader epoch found in durable records (the target cluster).
    let highestDurableEpoch = toEpoch(0);
    const a = contender({
      key,
      id: "a",
      ttlMs,
      renewIntervalMs: 200,
      safetyMarginMs: 200,
      minEpoch: () => highestDurableEpoch,
    });
    a.election.start();
    const term = await waitFor("a to lead", () => a.election.term(), 10_000);
    highestDurableEpoch = term.epoch;
    await new Promise((resolve) => setTimeout(resolve, 300));

    const msLeft = a.election.msLeft();
    const killedAt = performance.now();
    await server.kill();
    const demoted = await nextEvent(a, "demoted");
    assert.equal(demoted.reason, "deadline");
    const deadline = killedAt + msLeft;
    const late = demoted.at - deadline;
    t.diagnostic(
      `redis killed with ${msLeft.toFixed(0)} ms left; demoted ${late.toFixed(1)} ms after the local deadline`,
    );
    assert.ok(late >= -1, `demoted ${-late} ms before its deadline`);
    // Slack for the timer on a busy machine; isLeader() itself turns false at the deadline.
    assert.ok(late <= 250, `demoted ${late} ms after its deadline`);
    assert.equal(a.election.isLeader(), false);

    // Redis comes back empty: the epoch counter is gone, minEpoch keeps the next one above.
    await server.restart();
    const restartedAt = performance.now();
    const again = await nextEvent(a, "elected", restartedAt, 15_000);
    t.diagnostic(`re-elected ${(again.at - restartedAt).toFixed(0)} ms after the empty restart`);
    assert.ok(again.at - restartedAt >= ttlMs - 20, "no election before the recovery wait");
    assert.equal(again.epoch, term.epoch + 1n);
    await a.election.stop();
  });
});
