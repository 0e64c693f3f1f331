import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "@geo/config";
import type { LiveAgent, UnitState } from "@geo/leases";
import { toEpoch } from "@geo/positions";
import type { AgentDirectory, AssignmentStore } from "./assignment-types";
import { planAgents, readLeases, wantedUnits } from "./round-inputs";

const config = parseConfig(
  `clusters:
  east: { bootstrapServers: ["127.0.0.1:1"] }
  west: { bootstrapServers: ["127.0.0.1:2"], region: far-west }
flows:
  - { name: e2w, source: east, target: west, topics: { include: [t] } }
  - { name: held, source: east, target: west, topics: { include: [u] }, paused: true }
`,
  { source: "round-inputs.test", env: {} },
);
const unit = (flow: string, partition: number) => ({
  flow,
  sourceTopic: "t",
  partition,
  remoteTopic: "r.t",
});

describe("wantedUnits", () => {
  it("keeps running flows' units by target region, paused ones apart, unknown flows out", () => {
    const units = [unit("e2w", 0), unit("held", 1), unit("gone", 2), unit("e2w", 3)];
    const wanted = wantedUnits(units, config.flows, config.clusters);
    assert.deepEqual(
      wanted.active.map(({ id, region }) => [id, region]),
      [
        ["e2w/t/0", "far-west"],
        ["e2w/t/3", "far-west"],
      ],
    );
    assert.deepEqual([...wanted.activeIds], ["e2w/t/0", "e2w/t/3"]);
    assert.deepEqual([...wanted.pausedIds], ["held/t/1"]);
    assert.equal(wanted.unitById.get("e2w/t/3")?.partition, 3);
    assert.equal(wanted.unitById.has("held/t/1"), false);
  });

  it("leaves out units whose target cluster is not known", () => {
    const { east } = config.clusters;
    const wanted = wantedUnits([unit("e2w", 0), unit("held", 1)], config.flows, { east: east! });
    assert.equal(wanted.active.length, 0);
    assert.deepEqual([...wanted.pausedIds], ["held/t/1"]);
  });
});

describe("readLeases", () => {
  it("reads the units' owners and epochs; revoked only while an owner still holds it", async () => {
    const asked: string[][] = [];
    const states: UnitState[] = [
      { unitId: "a", epoch: toEpoch(3), owner: "x", revokedAt: 10 },
      { unitId: "b", epoch: toEpoch(2), revokedAt: 10 },
      { unitId: "c", epoch: toEpoch(0) },
    ];
    const store = {
      getUnits: async (ids: readonly string[]) => {
        asked.push([...ids]);
        return states;
      },
    } as unknown as AssignmentStore;
    const leases = await readLeases(store, ["a", "b", "c"]);
    assert.deepEqual(asked, [["a", "b", "c"]]);
    assert.deepEqual(Object.fromEntries(leases), {
      a: { owner: "x", epoch: toEpoch(3), revoked: true },
      b: { epoch: toEpoch(2), revoked: false },
      c: { epoch: toEpoch(0), revoked: false },
    });
    assert.equal((await readLeases(store, [])).size, 0);
    assert.equal(asked.length, 1, "no Redis call for no units");
  });
});

describe("planAgents", () => {
  const live = (agentId: string): LiveAgent => ({
    agentId,
    region: "west",
    instance: "i",
    info: { region: "west", instance: "i" },
    expiresInMs: 1000,
  });
  const directory = {
    disconnectedAt: (id: string) => (id === "late" ? 5000 : undefined),
  } as unknown as AgentDirectory;

  it("lists connected agents, then live agents without a session held from their last session or the term", () => {
    const agents = planAgents({
      sessions: [
        { agentId: "s1", region: "west", sessionId: "1", capacity: 2 },
        { agentId: "s2", region: "west", sessionId: "2", capacity: 1 },
      ],
      live: [live("s1"), live("late"), live("early")],
      directory,
      termStartedAt: 1000,
      holdMs: 15_000,
    });
    assert.deepEqual(agents, [
      { id: "s1", region: "west", connected: true, live: true, capacity: 2 },
      { id: "s2", region: "west", connected: true, live: false, capacity: 1 },
      { id: "late", region: "west", connected: false, live: true, holdUntil: 20_000 },
      { id: "early", region: "west", connected: false, live: true, holdUntil: 16_000 },
    ]);
  });
});
