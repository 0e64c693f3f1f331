// Flows created through the admin API, all real: two coordinators (the standby forwards changes
// to the leader), an agent, Redis and two Kafka clusters. An API flow replicates like a file flow,
// pauses and resumes, is versioned with its history, survives the loss of every coordinator and
// of Redis (it persists in Kafka), and bad changes are refused with nothing stored.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { GEO_TOPICS } from "@geo/config";
import { Code, createGrpcClient, type GeoError } from "@geo/grpc";
import { findFreePorts, type RedisServer, startRedis } from "@geo/local-runtime";
import { CoordinatorService, coordinatorV1, replicationV1 } from "@geo/proto";
import { createTopic, type Pair, SOURCE, startPair, TARGET } from "./support/replication-fixtures";
import { type ServiceProcess, spawnService, startService } from "./support/service-process";
import { waitFor } from "./support/wait-for";

const TOPIC = "payments";
const PARTITIONS = 3;
const FLOW = "api-payments";

let pair: Pair;
let redis: RedisServer;
let dir: string;
let coordinatorPorts: number[];
const configOf = (port: number) => join(dir, `geo-${port}.yaml`);
const coordinators: ServiceProcess[] = [];
const processes: ServiceProcess[] = [];

/** The config of the coordinator on `port` (the agent uses the first one's). */
function writeConfig(port: number): string {
  writeFileSync(
    configOf(port),
    `clusters:
  ${SOURCE}: { bootstrapServers: [${pair.source.cluster.bootstrapServers.join(", ")}] }
  ${TARGET}: { bootstrapServers: [${pair.target.cluster.bootstrapServers.join(", ")}] }
flows:
  - { name: file-orders, source: ${SOURCE}, target: ${TARGET}, topics: { include: ["orders"] } }
flowStore: { cluster: ${TARGET} }
redis: { url: "${redis.url}", keyPrefix: "geo-flows:" }
services:
  coordinator: { listen: "127.0.0.1:${port}", address: "127.0.0.1:${coordinatorPorts[0]}", metricsListen: "127.0.0.1:0" }
  agent: { listen: "127.0.0.1:0", metricsListen: "127.0.0.1:0" }
leases: { ttlMs: 3000, renewIntervalMs: 1000, safetyMarginMs: 750, graceMs: 500 }
discovery: { intervalMs: 500 }
logging: { level: info }
`,
  );
  return configOf(port);
}

/** The agent's command line: agent-1 in the target's region, with the first coordinator's config. */
const agentArgs = () => [
  "--config",
  configOf(coordinatorPorts[0]!),
  "--region",
  TARGET,
  "--id",
  "agent-1",
];

const startCoordinator = (port: number) =>
  startService("coordinator", ["--config", writeConfig(port)]).then((process) => {
    coordinators.push(process);
    processes.push(process);
    return process;
  });

const clientOf = (process: ServiceProcess) =>
  createGrpcClient(CoordinatorService, {
    address: process.endpoints.grpc!,
    defaultTimeoutMs: 20_000,
  });

async function produce(count: number): Promise<void> {
  const producer = pair.source.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const messages = Array.from({ length: count }, (_, i) => ({
      partition: i % PARTITIONS,
      value: `v-${i}`,
    }));
    await producer.send({ topic: TOPIC, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

// Through the admin, which refreshes metadata: the remote topic appears during the test.
const totalEnd = async (side: Pair["source"], topic: string) =>
  (await side.admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + BigInt(p.high), 0n);
const remote = `${SOURCE}.${TOPIC}`;
const caughtUp = async () => {
  try {
    return (await totalEnd(pair.target, remote)) === (await totalEnd(pair.source, TOPIC));
  } catch {
    return false; // the remote topic is not there yet
  }
};
/**
 * Every partition's remote end has reached its source end. After Redis came back empty the
 * records a unit wrote after its last progress are written again (the agent logs them as
 * resumeDuplicates), so the remote end may pass the source's: equality would never come.
 */
const everyPartitionCaughtUp = async () => {
  try {
    const ends = async (side: Pair["source"], topic: string) =>
      new Map(
        (await side.admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]),
      );
    const [source, target] = [await ends(pair.source, TOPIC), await ends(pair.target, remote)];
    return [...source].every(([partition, end]) => (target.get(partition) ?? -1n) >= end);
  } catch {
    return false;
  }
};

before(async () => {
  [pair, redis] = await Promise.all([startPair("flows"), startRedis()]);
  await createTopic(pair.source, TOPIC, PARTITIONS);
  dir = mkdtempSync(join(tmpdir(), "geo-flows-"));
  coordinatorPorts = await findFreePorts(2);
  for (const port of coordinatorPorts) await startCoordinator(port);
  processes.push(await startService("agent", agentArgs()));
});

after(async () => {
  await Promise.all(processes.map((process) => process.stop()));
  await pair?.stop();
  await redis?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** The coordinator that is not the leader, found by asking who leads. */
async function standbyAndLeader(): Promise<[ServiceProcess, ServiceProcess]> {
  let found: [ServiceProcess, ServiceProcess] | undefined;
  await waitFor("one coordinator leads", async () => {
    for (const candidate of coordinators.filter((c) => c.child.exitCode === null)) {
      const leads = candidate.output.some((line) =>
        line.includes("leading: assignment rounds start"),
      );
      const other = coordinators.find((c) => c !== candidate && c.child.exitCode === null);
      if (leads && other !== undefined) found = [other, candidate];
    }
    return found !== undefined;
  });
  return found!;
}

test("a flow created through the standby replicates, and is versioned with who created it", async () => {
  await produce(300);
  const [standby] = await standbyAndLeader();
  const client = clientOf(standby);
  try {
    const { flow } = await client.createFlow(
      {
        flow: {
          name: FLOW,
          sourceCluster: SOURCE,
          targetCluster: TARGET,
          topics: { include: [TOPIC] },
        },
      },
      { metadata: { "x-geo-actor": "alice@platform" } },
    );
    assert.equal(flow?.version, "1");
    const owner = flow?.owner?.owner;
    assert.equal(owner?.case === "api" && owner.value.createdBy, "alice@platform");
    assert.ok(flow?.createTime !== undefined);

    await waitFor(`all 300 records in ${remote}`, caughtUp, { timeoutMs: 60_000, intervalMs: 500 });
    await waitFor("every unit reported running on agent-1", async () => {
      const { units } = await client.listUnits({ flow: FLOW });
      return (
        units.length === PARTITIONS &&
        units.every(
          (unit) =>
            unit.actualAgentId === "agent-1" && unit.state === replicationV1.UnitState.RUNNING,
        )
      );
    });
    const listed = await client.listFlows({});
    assert.deepEqual(
      listed.flows.map((f) => [f.name, f.owner?.owner.case]),
      [
        [FLOW, "api"],
        ["file-orders", "file"],
      ],
    );
  } finally {
    client.close();
  }
});

test("a flow into a region without agents is accepted, and its status says why nothing runs", async () => {
  const [standby] = await standbyAndLeader();
  const client = clientOf(standby);
  const noAgent = (flow: coordinatorV1.Flow | undefined) =>
    (flow?.status?.warnings ?? []).find((warning) =>
      warning.startsWith(`no agent of region "${SOURCE}" is connected`),
    );
  try {
    // The only agent runs in the target's region: nothing can write into the source's.
    const { flow } = await client.createFlow({
      flow: {
        name: "back",
        sourceCluster: TARGET,
        targetCluster: SOURCE,
        topics: { include: ["refunds"] },
      },
    });
    assert.ok(noAgent(flow), `warnings: ${JSON.stringify(flow?.status?.warnings)}`);
    assert.match(noAgent(flow)!, new RegExp(`--region ${SOURCE}`));
    // Read back through the standby, which asks the leader (only the leader knows the agents).
    assert.ok(noAgent((await client.getFlow({ name: "back" })).flow));
    const served = (await client.getFlow({ name: FLOW })).flow;
    assert.equal(noAgent(served), undefined, "a flow into the agent's region has no such warning");
    await client.deleteFlow({ name: "back" });
  } finally {
    client.close();
  }
});

test("bad changes are refused with their code and message, and nothing is stored", async () => {
  const [standby, leader] = await standbyAndLeader();
  for (const process of [standby, leader]) {
    const client = clientOf(process);
    try {
      const before = (await client.listFlowChanges({})).changes.length;
      await assert.rejects(
        client.createFlow({
          flow: { name: "bad", sourceCluster: "mars", targetCluster: TARGET },
        }),
        (error: GeoError) =>
          error.code === Code.INVALID_ARGUMENT &&
          /flow\.source_cluster: unknown cluster "mars"/.test(error.message),
      );
      await assert.rejects(
        client.createFlow({
          flow: { name: "loop", sourceCluster: SOURCE, targetCluster: SOURCE },
        }),
        (error: GeoError) =>
          error.code === Code.INVALID_ARGUMENT && /flow\.target_cluster/.test(error.message),
      );
      await assert.rejects(
        client.createFlow({
          flow: {
            name: "twin",
            sourceCluster: SOURCE,
            targetCluster: TARGET,
            topics: { include: [TOPIC] },
          },
        }),
        (error: GeoError) =>
          error.code === Code.INVALID_ARGUMENT && /same remote topic/.test(error.message),
      );
      await assert.rejects(
        client.pauseFlow({ name: "file-orders" }),
        (error: GeoError) =>
          error.code === Code.FAILED_PRECONDITION && error.message.includes(join(dir, "geo-")),
      );
      await assert.rejects(
        client.updateFlow({
          flow: { name: FLOW, topics: { include: ["x"] } },
          updateMask: { paths: ["topics.include"] },
          expectedVersion: "7",
        }),
        (error: GeoError) => error.code === Code.ABORTED && /version 1, not 7/.test(error.message),
      );
      await assert.rejects(
        client.updateFlow({
          flow: { name: FLOW },
          updateMask: { paths: ["source_cluster"] },
          expectedVersion: "1",
        }),
        (error: GeoError) =>
          error.code === Code.INVALID_ARGUMENT && /update_mask\.paths\[0\]/.test(error.message),
      );
      const after = await client.listFlowChanges({});
      assert.equal(after.changes.length, before, "no change recorded");
      assert.equal((await client.getFlow({ name: FLOW })).flow?.version, "1");
    } finally {
      client.close();
    }
  }
});

test("pause stops the flow's units, resume picks up where they stopped", async () => {
  const [, leader] = await standbyAndLeader();
  const client = clientOf(leader);
  try {
    const paused = await client.pauseFlow({ name: FLOW, actor: "bob", reason: "maintenance" });
    assert.equal(paused.flow?.paused, true);
    assert.equal(paused.flow?.version, "2");
    await waitFor("no unit of the paused flow running", async () => {
      const { units } = await client.listUnits({ flow: FLOW });
      return units.every((unit) => unit.state !== replicationV1.UnitState.RUNNING);
    });
    const heldAt = await totalEnd(pair.target, remote);
    await produce(150);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.equal(await totalEnd(pair.target, remote), heldAt, "nothing copied while paused");

    const resumed = await client.resumeFlow({ name: FLOW, actor: "bob" });
    assert.equal(resumed.flow?.paused, false);
    assert.equal(resumed.flow?.version, "3");
    await waitFor("the records produced while paused arrive", caughtUp, {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
  } finally {
    client.close();
  }
});

test("a second agent process with a taken id exits 1 and the first keeps its units", async () => {
  const [, leader] = await standbyAndLeader();
  const leaderLinesBefore = leader.output.length;
  const twin = spawnService("agent", agentArgs());
  const timeout = setTimeout(() => twin.child.kill("SIGKILL"), 30_000);
  const { code } = await twin.exited;
  clearTimeout(timeout);
  const said = twin.output.find((line) => line.includes("is held by another live process"));
  assert.ok(said, `the twin says why it stops; output:\n${twin.output.join("\n")}`);
  assert.match(said!, /give each agent process its own --id/);
  assert.equal(code, 1, "a supervisor sees a failure, not a clean stop");
  assert.ok(
    twin.output.some((line) => line.includes("stopped after a fatal error")),
    `it stops in order, not by a failing stop; output:\n${twin.output.join("\n")}`,
  );
  // It found out before saying Hello, which would have replaced agent-1's session.
  const reconnects = leader.output
    .slice(leaderLinesBefore)
    .filter((line) => line.includes('"msg":"agent connected"') && line.includes('"agent-1"'));
  assert.deepEqual(reconnects, [], "agent-1's session is left alone");

  const client = clientOf(leader);
  try {
    await produce(60);
    await waitFor("replication goes on", caughtUp, { timeoutMs: 30_000, intervalMs: 500 });
    const { units } = await client.listUnits({ flow: FLOW });
    assert.ok(
      units.every(
        (unit) =>
          unit.actualAgentId === "agent-1" && unit.state === replicationV1.UnitState.RUNNING,
      ),
    );
  } finally {
    client.close();
  }
});

test("API flows and their history survive the loss of every coordinator and of Redis", async () => {
  for (const process of coordinators.splice(0)) await process.stop();
  // The machines' Redis keeps nothing on disk: it comes back empty, on the same port.
  await redis.restart();
  const coordinator = await startCoordinator(coordinatorPorts[0]!);
  const client = clientOf(coordinator);
  try {
    // Until it has read the flow store, a coordinator says so (UNAVAILABLE), never "no flow".
    await waitFor("the flow store read", async () => {
      try {
        await client.listFlows({});
        return true;
      } catch (error) {
        assert.equal((error as GeoError).code, Code.UNAVAILABLE, (error as Error).message);
        return false;
      }
    });
    const { flow } = await client.getFlow({ name: FLOW });
    assert.equal(flow?.version, "3");
    const owner = flow?.owner?.owner;
    assert.equal(owner?.case === "api" && owner.value.createdBy, "alice@platform");
    const { changes } = await client.listFlowChanges({ flow: FLOW });
    assert.deepEqual(
      changes.map((change) => [change.version, change.kind, change.actor, change.reason]),
      [
        ["3", coordinatorV1.FlowChangeKind.RESUMED, "bob", ""],
        ["2", coordinatorV1.FlowChangeKind.PAUSED, "bob", "maintenance"],
        ["1", coordinatorV1.FlowChangeKind.CREATED, "alice@platform", ""],
      ],
    );
    assert.deepEqual(changes[2]?.after?.topics?.include, [TOPIC]);

    // The agent re-registers with the new Redis and the flow replicates again.
    await produce(90);
    try {
      await waitFor("records produced after the restarts arrive", everyPartitionCaughtUp, {
        timeoutMs: 60_000,
        intervalMs: 500,
      });
    } catch (error) {
      const agent = processes.find((process) =>
        process.output.some((l) => l.includes('"service":"agent"')),
      );
      throw new Error(
        `${(error as Error).message}; agent said:\n${agent?.output.slice(-30).join("\n")}`,
      );
    }
    await waitFor("the restarted coordinator leads", () =>
      coordinator.output.some((line) => line.includes("leading: assignment rounds start")),
    );

    const deleted = await client.deleteFlow({ name: FLOW, expectedVersion: "3", actor: "carol" });
    assert.equal(deleted.flow?.name, FLOW);
    await assert.rejects(
      client.getFlow({ name: FLOW }),
      (error: GeoError) => error.code === Code.NOT_FOUND,
    );
    await waitFor("the deleted flow's units stopped", async () => {
      const { units } = await client.listUnits({});
      return units.every((unit) => unit.unit?.flow !== FLOW);
    });
    const topics = await pair.target.admin.listTopics();
    assert.ok(topics.includes(remote), "the remote topic stays");
    assert.ok(topics.includes(GEO_TOPICS.flows), "history kept in the flow store's cluster");
    const history = await client.listFlowChanges({ flow: FLOW });
    assert.equal(history.changes[0]?.kind, coordinatorV1.FlowChangeKind.DELETED);
    assert.equal(history.changes[0]?.actor, "carol");
  } finally {
    client.close();
  }
});
