// The region state served by the real health service process, with a real coordinator, Redis
// and two Kafka clusters: GetRegionState/ListRegionStates, WatchRegionState across services
// (changes made by another store on the same Redis arrive in order), refusals that change
// nothing, drills, persistence in the region topic of both clusters so that a health service
// restarted on an empty Redis still knows the active region, and a watch ending UNAVAILABLE
// when the server stops.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, createGrpcClient, GeoError, type GrpcClient } from "@geo/grpc";
import { findFreePorts } from "@geo/local-runtime";
import { createLogger } from "@geo/logging";
import { parseEpoch } from "@geo/positions";
import { CoordinatorService, coordinatorV1, healthV1, ReplicationHealthService } from "@geo/proto";
import { createKafkaRegionLog, type RegionLog, type RegionStore } from "@geo/region-state";
import { movePeer, type RegionStack, startRegionStack } from "./support/region-stack";
import { type ServiceProcess, startService } from "./support/service-process";
import { waitFor } from "./support/wait-for";

const logger = createLogger({ service: "region-state-test", level: "warn" });
const PREFIX = "geo-regions:";
let stack: RegionStack;
let configPath: string;
let coordinator: ServiceProcess;
let health: ServiceProcess;
let agent: ServiceProcess | undefined;
let client: GrpcClient<typeof ReplicationHealthService>;
let peerLog: RegionLog;
let peer: RegionStore;

before(async () => {
  const [coordinatorPort, healthPort, offsetsPort] = await findFreePorts(3);
  stack = await startRegionStack({
    name: "regions",
    keyPrefix: PREFIX,
    logger,
    rest: `flowGroups:
  - { name: orders, clusters: [us-east, eu-west], consumerGroups: [billing] }
  - { name: audit, clusters: [eu-west, us-east] }
services:
  coordinator: { listen: "127.0.0.1:${coordinatorPort}", metricsListen: "127.0.0.1:0" }
  health: { listen: "127.0.0.1:${healthPort}", metricsListen: "127.0.0.1:0" }
  # Nothing listens there: the offsets service is down, whatever it implements by now.
  offsets: { listen: "127.0.0.1:${offsetsPort}", metricsListen: "127.0.0.1:0" }
  agent: { listen: "127.0.0.1:0", metricsListen: "127.0.0.1:0" }
logging: { level: info }
`,
  });
  configPath = stack.configPath;
  [coordinator, health] = await Promise.all([
    startService("coordinator", ["--config", configPath]),
    startService("health", ["--config", configPath]),
  ]);
  // API-owned flows (the coordinator pauses only those): the group's pair in both directions.
  const admin = createGrpcClient(CoordinatorService, {
    address: coordinator.endpoints.grpc!,
    defaultTimeoutMs: 30_000,
  });
  for (const [name, source, target] of [
    ["east-west", "us-east", "eu-west"],
    ["west-east", "eu-west", "us-east"],
  ] as const) {
    await waitFor(`flow ${name} created (once a coordinator leads)`, async () => {
      await admin.createFlow({
        flow: {
          name,
          sourceCluster: source,
          targetCluster: target,
          topics: { include: ["orders"] },
        },
      });
      return true;
    });
  }
  admin.close();
  client = createGrpcClient(ReplicationHealthService, {
    address: health.endpoints.grpc!,
    defaultTimeoutMs: 30_000,
  });
  // A second store on the same Redis and the real region topics: another health service, as
  // far as the first one can tell.
  peerLog = createKafkaRegionLog(stack.config, logger);
  peer = await stack.openPeer(peerLog);
});

after(async () => {
  client?.close();
  await Promise.all([coordinator?.stop(), health?.stop(), agent?.stop()]);
  await stack?.stop();
  await peerLog?.close();
});

/** The health service's answer once it restored the state (it answers UNAVAILABLE until then). */
async function stateOf(group: string) {
  let state: healthV1.RegionState | undefined;
  await waitFor(`GetRegionState ${group}`, async () => {
    state = (await client.getRegionState({ flowGroup: group })).state;
    return state !== undefined;
  });
  return state!;
}

async function rejects(call: Promise<unknown>, code: Code, message: RegExp): Promise<void> {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof GeoError, String(error));
    assert.equal(error.codeName, new GeoError(code, "").codeName, error.message);
    assert.match(error.message, message);
    return true;
  });
}

const flip = (to: string) => movePeer(peer, "orders", to);

describe("region state through the health service (real processes, Kafka, Redis)", () => {
  it("answers every group's state with its regions and bootstrap servers", async () => {
    const state = await stateOf("orders");
    assert.equal(state.activeRegion, "us-east");
    assert.equal(state.epoch, "1");
    assert.equal(state.phase, healthV1.RegionPhase.STABLE);
    assert.deepEqual(
      state.regions.map((r) => [r.region, r.cluster, r.bootstrapServers]),
      [
        ["us-east", "us-east", stack.clusters[0]!.bootstrapServers],
        ["eu-west", "eu-west", stack.clusters[1]!.bootstrapServers],
      ],
    );
    const list = await client.listRegionStates({});
    assert.deepEqual(
      list.states.map((s) => [s.flowGroup, s.activeRegion]),
      [
        ["audit", "eu-west"],
        ["orders", "us-east"],
      ],
    );
    await rejects(
      client.getRegionState({ flowGroup: "nope" }),
      Code.NOT_FOUND,
      /known flow groups: audit, orders/,
    );
    await rejects(
      client.getRegionState({ flowGroup: "" }),
      Code.INVALID_ARGUMENT,
      /flow_group: is required/,
    );
    await rejects(
      client.getRegionState({ flowGroup: "orders", historyLimit: 500 }),
      Code.INVALID_ARGUMENT,
      /history_limit/,
    );
  });

  it("refuses bad transitions clearly and changes nothing; a region without agents is refused by the real checks", async () => {
    const before = await stateOf("orders");
    const base = {
      flowGroup: "orders",
      targetRegion: "eu-west",
      expectedEpoch: before.epoch,
      actor: "test",
    };
    await rejects(
      client.switchover({ ...base, targetRegion: "mars" }),
      Code.INVALID_ARGUMENT,
      /"mars" is not part of flow group "orders"/,
    );
    await rejects(
      client.switchover({ ...base, flowGroup: "nope" }),
      Code.NOT_FOUND,
      /no flow group "nope"/,
    );
    await rejects(
      client.switchover({ ...base, targetRegion: "us-east" }),
      Code.FAILED_PRECONDITION,
      /already active/,
    );
    await rejects(
      client.switchover({ ...base, expectedEpoch: "99" }),
      Code.ABORTED,
      /expected_epoch 99 is stale/,
    );
    await rejects(
      client.switchover({ ...base, expectedEpoch: "0" }),
      Code.INVALID_ARGUMENT,
      /expected_epoch is required/,
    );
    await rejects(client.failback(base), Code.FAILED_PRECONDITION, /never moved/);
    // The coordinator runs, but no agent: the real ListAgents says eu-west has none.
    await rejects(
      client.switchover(base),
      Code.FAILED_PRECONDITION,
      /check-agents: region eu-west has no live agent/,
    );
    await rejects(client.failover(base), Code.FAILED_PRECONDITION, /refused, nothing changed/);
    // A transition held by another service: the second one is refused.
    const locked = await peer.begin(
      {
        flowGroup: "orders",
        kind: "switchover",
        toRegion: "eu-west",
        expectedEpoch: parseEpoch(before.epoch),
        actor: "peer",
        reason: "",
      },
      "switching-over",
    );
    await rejects(
      client.switchover(base),
      Code.FAILED_PRECONDITION,
      /already in a transition: switchover .* by peer/,
    );
    await peer.finish("orders", locked.transition!.id, {
      outcome: "failed",
      flip: false,
      error: "test",
    });
    const after = await stateOf("orders");
    assert.equal(after.epoch, before.epoch);
    assert.equal(after.activeRegion, "us-east");
  });

  it("runs a drill that fails on the missing agents, says why, and keeps the report", async () => {
    const answer = await client.switchover({
      flowGroup: "orders",
      targetRegion: "eu-west",
      dryRun: true,
      actor: "drill",
    });
    assert.equal(answer.transition?.outcome, healthV1.TransitionOutcome.DRILL_FAILED);
    assert.match(answer.transition?.error ?? "", /check-agents: region eu-west has no live agent/);
    assert.ok(answer.steps.some((s) => s.name === "check-target" && s.ok));
    const { transitions, state } = await client.getRegionState({
      flowGroup: "orders",
      historyLimit: 5,
    });
    assert.equal(transitions[0]?.id, answer.transition?.id);
    assert.equal(state?.activeRegion, "us-east");
  });

  it("streams the current state first, then every change in order, made by another service", async () => {
    const abort = new AbortController();
    const seen: string[] = [];
    const stream = client.watchRegionState(
      { flowGroups: ["orders"] },
      { signal: abort.signal, timeoutMs: 120_000 },
    );
    const reading = (async () => {
      for await (const message of stream) {
        const s = message.state!;
        seen.push(
          `${s.activeRegion}/${s.epoch}/${healthV1.RegionPhase[s.phase]}${message.initial ? "/initial" : ""}`,
        );
        if (seen.length === 5) abort.abort();
      }
    })().catch((error: GeoError) => assert.equal(error.code, Code.CANCELLED));
    await waitFor("the initial state", () => seen.length >= 1);
    const epoch = Number((await stateOf("orders")).epoch);
    await flip("eu-west");
    await flip("us-east");
    await reading;
    assert.deepEqual(seen, [
      `us-east/${epoch}/STABLE/initial`,
      `us-east/${epoch}/SWITCHING_OVER`,
      `eu-west/${epoch + 1}/STABLE`,
      `eu-west/${epoch + 1}/SWITCHING_OVER`,
      `us-east/${epoch + 2}/STABLE`,
    ]);
  });

  it("with a live agent in eu-west, a forced failover really pauses the flow through the coordinator, fails when the offsets service is down and resumes the flow", async () => {
    agent = await startService("agent", [
      "--config",
      configPath,
      "--region",
      "eu-west",
      "--id",
      "agent-eu-1",
    ]);
    const admin = createGrpcClient(CoordinatorService, {
      address: coordinator.endpoints.grpc!,
      defaultTimeoutMs: 30_000,
    });
    try {
      await waitFor("agent-eu-1 connected", async () =>
        (await admin.listAgents({ region: "eu-west" })).agents.some((a) => a.connected),
      );
      const before = await stateOf("orders");
      const answer = await client.failover({
        flowGroup: "orders",
        targetRegion: "eu-west",
        expectedEpoch: before.epoch,
        force: true,
        actor: "test",
        reason: "real dependencies",
      });
      const steps = answer.steps.map((s) => `${s.name}${s.ok ? "" : "!"}`);
      assert.deepEqual(steps, [
        "check-target",
        "check-agents",
        "check-source-down",
        "records-at-risk",
        "pause-flow",
        "commit-offsets!",
        "resume-flow",
      ]);
      assert.match(answer.steps.find((s) => s.name === "check-agents")!.detail, /agent-eu-1/);
      assert.match(answer.transition?.error ?? "", /commit-offsets: UNAVAILABLE/);
      assert.equal(answer.transition?.outcome, healthV1.TransitionOutcome.FAILED);
      assert.equal(answer.state?.activeRegion, "us-east");
      assert.equal(answer.state?.epoch, before.epoch);
      const flow = (await admin.getFlow({ name: "east-west" })).flow;
      assert.equal(flow?.paused, false, "the pause was undone");
      const changes = (await admin.listFlowChanges({ flow: "east-west" })).changes;
      assert.deepEqual(
        changes.slice(0, 2).map((c) => [coordinatorV1.FlowChangeKind[c.kind], c.actor]),
        [
          ["RESUMED", "test"],
          ["PAUSED", "test"],
        ],
        "paused and resumed by the failover, newest first",
      );
    } finally {
      admin.close();
    }
  });

  it("keeps the active region in both clusters' region topic: a restart on an empty Redis remembers it", async () => {
    const { state } = await flip("eu-west");
    await health.stop();
    const keys = await stack.redis.keys(`${PREFIX}*`);
    await stack.redis.del(...keys);
    for (const cluster of ["us-east", "eu-west"]) {
      const entries = await peerLog.read(cluster);
      const latest = entries
        .filter((e) => e.type === "state" && e.state.flowGroup === "orders")
        .at(-1);
      assert.equal(
        latest?.type === "state" ? latest.state.epoch : undefined,
        state.epoch,
        `topic in ${cluster}`,
      );
    }
    health = await startService("health", ["--config", configPath]);
    client.close();
    client = createGrpcClient(ReplicationHealthService, {
      address: health.endpoints.grpc!,
      defaultTimeoutMs: 30_000,
    });
    const restored = await stateOf("orders");
    assert.equal(restored.activeRegion, "eu-west");
    assert.equal(restored.epoch, String(state.epoch));
    assert.equal(restored.lastTransition?.id, state.lastTransition?.id);
  });

  it("ends a watch with UNAVAILABLE when the server stops", async () => {
    await stateOf("orders");
    const stream = client.watchRegionState({}, { timeoutMs: 120_000 });
    const received: string[] = [];
    const ended = (async () => {
      for await (const message of stream) received.push(message.state!.flowGroup);
    })().then(
      () => undefined,
      (error: unknown) => error,
    );
    await waitFor("the initial states", () => received.length >= 2);
    const stopped = await health.stop();
    assert.equal(stopped.code, 0);
    const error = await ended;
    assert.ok(error instanceof GeoError, `the watch ended with ${String(error)}`);
    assert.equal(error.code, Code.UNAVAILABLE);
    assert.deepEqual(received, ["audit", "orders"]);
  });
});
