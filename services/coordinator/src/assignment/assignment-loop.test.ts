// The assignment loop against an in-memory lease store that follows the grant rules of
// @geo/leases (the real scripts are tested there and end to end in test/): what it asks Redis,
// and what it tells agents, round by round.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type FlowConfig, parseConfig } from "@geo/config";
import type {
  GrantOptions,
  GrantResult,
  LeaderTerm,
  LiveAgent,
  RevokeOptions,
  RevokeResult,
  UnitState,
} from "@geo/leases";
import { createLogger } from "@geo/logging";
import { type Epoch, maxEpoch, NO_EPOCH, toEpoch } from "@geo/positions";
import type { DesiredUnit } from "../discovery";
import {
  type AgentDirectory,
  type AssignmentStore,
  type ConnectedAgent,
  createAssignmentLoop,
  type MinEpochOf,
} from "./assignment-loop";

const config = parseConfig(
  `clusters:
  east: { bootstrapServers: ["127.0.0.1:1"] }
  west: { bootstrapServers: ["127.0.0.1:2"] }
flows:
  - { name: e2w, source: east, target: west }
leases: { ttlMs: 2000, renewIntervalMs: 500, safetyMarginMs: 500, graceMs: 300 }
`,
  { source: "assignment-loop.test", env: {} },
);
const logger = createLogger({ service: "assignment-loop-test", level: "silent" });

interface FakeUnit {
  owner?: string;
  epoch: Epoch;
  revokedAt?: number;
  deadAt?: number;
}

/** The grant rules of @geo/leases, in memory, on a clock the test moves. */
class FakeStore implements AssignmentStore {
  clock = 0;
  leaderToken = "term-1";
  readonly units = new Map<string, FakeUnit>();
  readonly live = new Map<string, string>();
  readonly calls: string[] = [];

  async listLiveAgents(): Promise<LiveAgent[]> {
    return [...this.live].map(([agentId, region]) => ({
      agentId,
      region,
      instance: "i",
      info: { region, instance: "i" },
      expiresInMs: 1_000_000,
    }));
  }
  async getUnits(ids: readonly string[]): Promise<(UnitState | undefined)[]> {
    return ids.map((unitId) => {
      const unit = this.units.get(unitId);
      if (unit === undefined) return undefined;
      return {
        unitId,
        epoch: unit.epoch,
        ...(unit.owner === undefined ? {} : { owner: unit.owner }),
        ...(unit.revokedAt === undefined ? {} : { revokedAt: unit.revokedAt }),
      };
    });
  }
  async grantUnit(unitId: string, agentId: string, options: GrantOptions): Promise<GrantResult> {
    this.calls.push(`grant ${unitId} ${agentId}`);
    const unit = this.units.get(unitId) ?? { epoch: NO_EPOCH };
    if (options.fence?.token !== this.leaderToken) {
      return { granted: false, reason: "not-leader", epoch: unit.epoch };
    }
    if (!this.live.has(agentId)) {
      return { granted: false, reason: "agent-not-live", epoch: unit.epoch };
    }
    let reason: "free" | "released" | "expired" | "revoked" =
      unit.epoch === NO_EPOCH ? "free" : "released";
    if (unit.owner !== undefined) {
      const refuse = (
        why: "owner-live" | "revoking" | "grace",
        retryInMs?: number,
      ): GrantResult => ({
        granted: false,
        reason: why,
        epoch: unit.epoch,
        currentOwner: unit.owner!,
        ...(retryInMs === undefined ? {} : { retryInMs }),
      });
      if (this.live.has(unit.owner)) {
        if (unit.revokedAt === undefined) {
          if (unit.owner !== agentId) return refuse("owner-live");
          if (unit.epoch >= options.minEpoch) {
            return { granted: true, reason: "already-owner", epoch: unit.epoch };
          }
        } else {
          const freeAt = unit.revokedAt + options.ttlMs + options.graceMs;
          if (this.clock < freeAt) return refuse("revoking", freeAt - this.clock);
          reason = "revoked";
        }
      } else {
        const freeAt = (unit.deadAt ?? this.clock) + options.graceMs;
        if (this.clock < freeAt) return refuse("grace", freeAt - this.clock);
        reason = "expired";
      }
    }
    const epoch = toEpoch(maxEpoch(unit.epoch, options.minEpoch) + 1n);
    this.units.set(unitId, { owner: agentId, epoch });
    return { granted: true, reason, epoch };
  }
  async revokeUnit(unitId: string, options: RevokeOptions = {}): Promise<RevokeResult> {
    this.calls.push(`revoke ${unitId} ${options.owner}`);
    const unit = this.units.get(unitId);
    if (options.fence?.token !== this.leaderToken) {
      return { revoked: false, reason: "not-leader", epoch: unit?.epoch ?? NO_EPOCH };
    }
    if (unit?.owner === undefined) return { revoked: false, reason: "no-owner", epoch: NO_EPOCH };
    if (unit.owner !== options.owner || unit.epoch !== options.epoch) {
      return { revoked: false, reason: "owner-mismatch", epoch: unit.epoch, owner: unit.owner };
    }
    if (unit.revokedAt !== undefined) {
      return { revoked: false, reason: "already-revoked", epoch: unit.epoch, owner: unit.owner };
    }
    unit.revokedAt = this.clock;
    return { revoked: true, reason: "revoked", epoch: unit.epoch, owner: unit.owner };
  }
  /** The agent's releaseUnit. */
  release(unitId: string): void {
    const unit = this.units.get(unitId)!;
    this.units.set(unitId, { epoch: unit.epoch });
  }
  /** kill -9: the agent's liveness ends now. */
  kill(agentId: string): void {
    this.live.delete(agentId);
    for (const unit of this.units.values()) if (unit.owner === agentId) unit.deadAt = this.clock;
  }
}

type Sent = Parameters<AgentDirectory["send"]>[2];

class FakeDirectory implements AgentDirectory {
  readonly sessions = new Map<string, ConnectedAgent>();
  readonly sent = new Map<string, Sent[]>();
  private next = 0;
  connect(agentId: string): void {
    const session = { agentId, region: "west", sessionId: `s${++this.next}`, capacity: 1 };
    this.sessions.set(agentId, session);
    this.sent.set(agentId, []);
  }
  disconnect(agentId: string): void {
    this.sessions.delete(agentId);
  }
  connected = () => [...this.sessions.values()];
  disconnectedAt = () => undefined;
  send(agentId: string, sessionId: string, message: Sent): boolean {
    if (this.sessions.get(agentId)?.sessionId !== sessionId) return false;
    this.sent.get(agentId)!.push(message);
    return true;
  }
  unitLoad: AgentDirectory["unitLoad"] = () => undefined;
  /** Messages of one kind sent to an agent since the last call. */
  take(agentId: string) {
    const messages = this.sent.get(agentId) ?? [];
    this.sent.set(agentId, []);
    return messages;
  }
  snapshots(agentId: string) {
    return this.take(agentId).flatMap((m) =>
      m.message?.case === "assignment" ? [m.message.value] : [],
    );
  }
}

const desiredUnits = (partitions: number): DesiredUnit[] =>
  ["a", "b"].flatMap((topic) =>
    Array.from({ length: partitions }, (_, partition) => ({
      flow: "e2w",
      sourceTopic: topic,
      partition,
      remoteTopic: `east.${topic}`,
    })),
  );
const term = (epoch: number, token = "term-1"): LeaderTerm => ({
  epoch: toEpoch(epoch),
  token,
  fence: { key: "geo:coordinator:leader", token },
});

function setUp(
  options: {
    units?: DesiredUnit[];
    flows?: () => FlowConfig[];
    minEpochOf?: MinEpochOf;
    loadWarmupMs?: number;
    loadSettleMs?: number;
  } = {},
) {
  const store = new FakeStore();
  const directory = new FakeDirectory();
  const units = options.units ?? desiredUnits(4);
  const loop = createAssignmentLoop({
    config,
    logger,
    store,
    directory,
    units: () => units,
    intervalMs: 1_000_000,
    holdMs: 0,
    loadWarmupMs: options.loadWarmupMs ?? 0,
    loadSettleMs: options.loadSettleMs ?? 0,
    now: () => store.clock,
    ...(options.flows === undefined ? {} : { flows: options.flows }),
    ...(options.minEpochOf === undefined ? {} : { minEpochOf: options.minEpochOf }),
  });
  const join = (agentId: string) => {
    store.live.set(agentId, "west");
    directory.connect(agentId);
  };
  const ownersOf = () => {
    const counts: Record<string, number> = {};
    for (const unit of store.units.values()) {
      if (unit.owner !== undefined) counts[unit.owner] = (counts[unit.owner] ?? 0) + 1;
    }
    return counts;
  };
  return { store, directory, loop, join, ownersOf };
}

const unitsOf = (snapshot: {
  units?: readonly { unit?: { sourceTopic?: string; partition?: number }; epoch?: string }[];
}) =>
  (snapshot.units ?? [])
    .map((u) => `${u.unit?.sourceTopic}/${u.unit?.partition}@${u.epoch}`)
    .sort();

describe("assignment loop", () => {
  it("a new leader keeps units on their live owners until it knows their loads, then balances", async () => {
    const { store, directory, loop, join, ownersOf } = setUp({ loadWarmupMs: 10_000 });
    join("a1");
    join("a2");
    // What the previous leader left: every unit on a1 (balanced by loads this leader has not seen).
    for (const unit of desiredUnits(4)) {
      store.units.set(`e2w/${unit.sourceTopic}/${unit.partition}`, {
        owner: "a1",
        epoch: toEpoch(1),
      });
    }
    try {
      loop.startTerm(term(4));
      await loop.runOnce();
      assert.deepEqual(ownersOf(), { a1: 8 });
      assert.ok(!store.calls.some((call) => call.startsWith("revoke")), store.calls.join("\n"));
      // The reports arrive: an even load, so half the units move.
      directory.unitLoad = () => 1000;
      await loop.runOnce();
      assert.equal(store.calls.filter((call) => call.startsWith("revoke")).length, 4);
    } finally {
      await loop.stop();
    }
  });

  it("a new leader keeps the inherited balance through a load burst; a move still wanted after loadSettleMs is made", async () => {
    const inherit = () => {
      const rig = setUp({ loadWarmupMs: 10_000, loadSettleMs: 10_000 });
      rig.join("a1");
      rig.join("a2");
      // The previous leader's balance: topic a on a1, topic b on a2, every unit 1000 B/s.
      for (const unit of desiredUnits(4)) {
        const owner = unit.sourceTopic === "a" ? "a1" : "a2";
        const id = `e2w/${unit.sourceTopic}/${unit.partition}`;
        rig.store.units.set(id, { owner, epoch: toEpoch(1) });
      }
      // a1's units doubled: 8000 B/s against a fair share of 6000, past the 1.3 band.
      const burst = (id: string) => (id.startsWith("e2w/a/") ? 2000 : 1000);
      return { ...rig, burst };
    };
    const revokes = (calls: readonly string[]) => calls.filter((c) => c.startsWith("revoke"));

    const passing = inherit();
    try {
      passing.directory.unitLoad = passing.burst;
      passing.loop.startTerm(term(4));
      await passing.loop.runOnce();
      assert.deepEqual(revokes(passing.store.calls), [], "the first complete view wants a move");
      passing.store.clock += 3000;
      passing.directory.unitLoad = () => 1000; // the burst passed: the term settles
      await passing.loop.runOnce();
      passing.directory.unitLoad = passing.burst; // settled: balanced like any round
      await passing.loop.runOnce();
      assert.equal(revokes(passing.store.calls).length, 1);
    } finally {
      await passing.loop.stop();
    }

    const lasting = inherit();
    try {
      lasting.directory.unitLoad = lasting.burst;
      lasting.loop.startTerm(term(4));
      for (const at of [0, 5000, 9999]) {
        lasting.store.clock = at;
        await lasting.loop.runOnce();
      }
      assert.deepEqual(revokes(lasting.store.calls), [], "wanted for less than loadSettleMs");
      lasting.store.clock = 10_000;
      await lasting.loop.runOnce();
      assert.deepEqual(lasting.ownersOf(), { a1: 4, a2: 4 }, "revoked, not yet released");
      assert.equal(revokes(lasting.store.calls).length, 1);
    } finally {
      await lasting.loop.stop();
    }
  });

  it("grants every unit with an epoch from the store and tells each agent its full set", async () => {
    const { store, directory, loop, join, ownersOf } = setUp();
    join("a1");
    join("a2");
    loop.startTerm(term(3));
    await loop.runOnce();
    assert.deepEqual(ownersOf(), { a1: 4, a2: 4 });
    const [s1] = directory.snapshots("a1");
    const [s2] = directory.snapshots("a2");
    assert.ok(s1 !== undefined && s2 !== undefined);
    assert.equal(s1.generation, s2.generation);
    assert.ok(
      BigInt(s1.generation ?? "0") > 3n << 32n,
      "generations of term 3 start above 3 << 32",
    );
    assert.equal(s1.units?.length, 4);
    for (const assigned of s1.units ?? []) {
      assert.equal(assigned.epoch, "1");
      assert.equal(assigned.flow?.name, "e2w");
      assert.equal(assigned.flow?.targetCluster, "west");
      assert.equal(assigned.remoteTopic, `east.${assigned.unit?.sourceTopic}`);
    }
    const view = loop.view();
    assert.equal(view.leading, true);
    assert.equal(view.desiredCounts.get("a1"), 4);

    // Nothing changed: no grant is repeated and no snapshot is resent.
    store.calls.length = 0;
    await loop.runOnce();
    assert.deepEqual(store.calls, []);
    assert.deepEqual(directory.take("a1"), []);
    await loop.stop();
  });

  it("waits for an agent's liveness before its first snapshot", async () => {
    const { store, directory, loop, join } = setUp();
    join("a1");
    directory.connect("late");
    loop.startTerm(term(1));
    await loop.runOnce();
    assert.deepEqual(directory.take("late"), []);
    store.live.set("late", "west");
    await loop.runOnce();
    // Its first snapshot gives it its share, taken from a1 by revoke first: empty until released.
    const [first] = directory.snapshots("late");
    assert.deepEqual(first?.units, []);
    await loop.stop();
  });

  it("moves units to a new agent by Revoke, Released, then a grant with a higher epoch", async () => {
    const { store, directory, loop, join, ownersOf } = setUp({ units: desiredUnits(6) });
    join("a1");
    join("a2");
    join("a3");
    loop.startTerm(term(1));
    await loop.runOnce();
    for (const agent of ["a1", "a2", "a3"]) directory.take(agent);

    join("a4");
    store.calls.length = 0;
    await loop.runOnce();
    const revokes = ["a1", "a2", "a3"].flatMap((agent) =>
      directory
        .take(agent)
        .flatMap((m) => (m.message?.case === "revoke" ? [{ agent, revoke: m.message.value }] : [])),
    );
    assert.equal(revokes.length, 3, "a quarter of 12 units moves");
    assert.ok(
      store.calls.every((call) => call.startsWith("revoke ")),
      store.calls.join("; "),
    );
    assert.deepEqual(unitsOf(directory.snapshots("a4")[0]!), [], "nothing granted before release");
    assert.deepEqual(ownersOf(), { a1: 4, a2: 4, a3: 4 });

    for (const { revoke } of revokes) {
      assert.equal(revoke.epoch, "1");
      store.release(`e2w/${revoke.unit?.sourceTopic}/${revoke.unit?.partition}`);
    }
    await loop.runOnce();
    assert.deepEqual(ownersOf(), { a1: 3, a2: 3, a3: 3, a4: 3 });
    const [snapshot] = directory.snapshots("a4");
    assert.equal(snapshot?.units?.length, 3);
    for (const assigned of snapshot?.units ?? []) assert.equal(assigned.epoch, "2");
    await loop.stop();
  });

  it("a new leader does not move units whose runners have not reported their load yet", async (t) => {
    const { store, directory, loop, join, ownersOf } = setUp();
    join("a1");
    join("a2");
    loop.startTerm(term(1));
    await loop.runOnce();
    await loop.stop();
    const owners = new Map([...store.units].map(([id, unit]) => [id, unit.owner]));
    assert.deepEqual(ownersOf(), { a1: 4, a2: 4 });

    // The standby takes over; a1 reconnected and reported, a2's first report is still on its way.
    directory.unitLoad = (unitId: string) => (owners.get(unitId) === "a1" ? 1000 : undefined);
    const successor = createAssignmentLoop({
      config,
      logger,
      store,
      directory,
      units: () => desiredUnits(4),
      intervalMs: 1_000_000,
      holdMs: 0,
      now: () => store.clock,
    });
    t.after(() => successor.stop());
    store.calls.length = 0;
    successor.startTerm(term(2));
    await successor.runOnce();
    assert.deepEqual(
      store.calls.filter((call) => call.startsWith("revoke ")),
      [],
      "nothing revoked: an unmeasured unit counts as the mean measured load",
    );
    assert.deepEqual(ownersOf(), { a1: 4, a2: 4 });
    for (const agent of ["a1", "a2"]) {
      const snapshots = directory.snapshots(agent);
      assert.equal(snapshots.at(-1)?.units?.length, 4, `${agent} keeps its 4 units`);
    }
  });

  it("re-grants a dead agent's units once its lease ended plus grace, saying why meanwhile", async () => {
    const { store, directory, loop, join, ownersOf } = setUp();
    join("a1");
    join("a2");
    loop.startTerm(term(1));
    await loop.runOnce();
    directory.take("a1");

    store.kill("a2");
    directory.disconnect("a2");
    await loop.runOnce();
    assert.deepEqual(ownersOf(), { a1: 4, a2: 4 }, "grace period: not yet");
    const waiting = [...loop.view().units.values()].filter((unit) => unit.epoch === undefined);
    assert.equal(waiting.length, 4);
    assert.match(waiting[0]?.note ?? "", /grace period running/);
    assert.equal(waiting[0]?.desiredAgentId, "a1");

    store.clock += config.leases.graceMs;
    await loop.runOnce();
    assert.deepEqual(ownersOf(), { a1: 8 });
    const [snapshot] = directory.snapshots("a1");
    assert.equal(snapshot?.units?.length, 8);
    assert.deepEqual(
      [...new Set(snapshot?.units?.map((u) => u.epoch))].sort(),
      ["1", "2"],
      "taken-over units have a higher epoch",
    );
    await loop.stop();
  });

  it("starts above the epochs recorded in the target cluster", async () => {
    const { store, loop, join } = setUp({
      minEpochOf: async (units) =>
        new Map(units.map((unit) => [`e2w/${unit.sourceTopic}/${unit.partition}`, toEpoch(41)])),
    });
    join("a1");
    loop.startTerm(term(1));
    await loop.runOnce();
    assert.deepEqual([...new Set([...store.units.values()].map((unit) => unit.epoch))], [42n]);
    await loop.stop();
  });

  it("grants nothing when the recorded epochs cannot be read", async () => {
    const { store, loop, join } = setUp({
      minEpochOf: async () => {
        throw new Error("target cluster unreachable");
      },
    });
    join("a1");
    loop.startTerm(term(1));
    await loop.runOnce();
    assert.equal(store.units.size, 0);
    assert.match([...loop.view().units.values()][0]?.note ?? "", /target cluster unreachable/);
    await loop.stop();
  });

  it("stops leading when Redis refuses its fence", async () => {
    const { store, loop, join } = setUp();
    join("a1");
    store.leaderToken = "someone-else";
    loop.startTerm(term(1));
    await loop.runOnce();
    assert.equal(loop.view().leading, false);
    assert.equal(store.units.size, 0);
    await loop.stop();
  });

  it("a term that ends as its round finishes leaves the standby view and no round due", async () => {
    const { store, directory, loop, join } = setUp();
    join("a1");
    // The term ends in the microtask right after the round's last send, before the promise of
    // the round settles: the round's leading view must not overwrite the standby one.
    const send = directory.send.bind(directory);
    directory.send = (agentId, sessionId, message) => {
      queueMicrotask(() => loop.endTerm());
      return send(agentId, sessionId, message);
    };
    loop.startTerm(term(1));
    await loop.runOnce();
    assert.equal(loop.view().leading, false);
    assert.equal(loop.view().units.size, 0);
    store.calls.length = 0;
    await loop.runOnce();
    assert.deepEqual(store.calls, [], "no round runs without a term");
    await loop.stop();
  });

  it("revokes the units of a flow that gets paused", async () => {
    let paused = false;
    const { directory, loop, join } = setUp({
      flows: () => config.flows.map((flow) => ({ ...flow, paused })),
    });
    join("a1");
    loop.startTerm(term(1));
    await loop.runOnce();
    directory.take("a1");
    paused = true;
    await loop.runOnce();
    const messages = directory.take("a1");
    const revokes = messages.filter((m) => m.message?.case === "revoke");
    assert.equal(revokes.length, 8);
    assert.match(
      revokes[0]?.message?.case === "revoke" ? (revokes[0].message.value.reason ?? "") : "",
      /flow e2w paused/,
    );
    const snapshot = messages.find((m) => m.message?.case === "assignment");
    assert.deepEqual(
      snapshot?.message?.case === "assignment" ? snapshot.message.value.units : undefined,
      [],
    );
    await loop.stop();
  });
});
