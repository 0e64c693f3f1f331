// The thin path end to end, all real: a flow in a config file, the coordinator discovering the
// source topic and assigning its partitions to two agent processes in the target region under
// Redis leases, the agents copying records, and a kill -9 of one agent taken over by the other
// with nothing lost.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createGrpcClient } from "@geo/grpc";
import { findFreePorts, type RedisServer, startRedis } from "@geo/local-runtime";
import { CoordinatorService, replicationV1 } from "@geo/proto";
import { compareReplica } from "./support/replica-check";
import { createTopic, type Pair, startPair } from "./support/replication-fixtures";
import { type ServiceProcess, startService } from "./support/service-process";
import { waitFor } from "./support/wait-for";

const TOPIC = "orders";
const PARTITIONS = 4;
const TTL_MS = 3000;
const GRACE_MS = 500;
// The agent's delivery deadline is the safety margin less 250 ms. A deadline that a busy 2-core
// CI machine misses makes the unit rewind and send acknowledged batches again (duplicates); 750
// gave 500 ms, too short there.
const SAFETY_MARGIN_MS = 1500;

let pair: Pair;
let redis: RedisServer;
let dir: string;
const processes: ServiceProcess[] = [];

before(async () => {
  [pair, redis] = await Promise.all([startPair("e2e"), startRedis()]);
  await createTopic(pair.source, TOPIC, PARTITIONS);
  const [coordinatorPort, ...agentPorts] = (await findFreePorts(3)) as [number, number, number];
  dir = mkdtempSync(join(tmpdir(), "geo-e2e-"));
  const configPath = join(dir, "geo.yaml");
  writeFileSync(
    configPath,
    `clusters:
  us-east: { bootstrapServers: [${pair.source.cluster.bootstrapServers.join(", ")}] }
  eu-west: { bootstrapServers: [${pair.target.cluster.bootstrapServers.join(", ")}] }
flows:
  - { name: us-east->eu-west, source: us-east, target: eu-west, topics: { include: ["${TOPIC}"] } }
redis: { url: "${redis.url}", keyPrefix: "geo-e2e:" }
services:
  coordinator: { listen: "127.0.0.1:${coordinatorPort}", metricsListen: "127.0.0.1:0" }
  agent: { listen: "127.0.0.1:0", metricsListen: "127.0.0.1:0" }
leases: { ttlMs: ${TTL_MS}, renewIntervalMs: 500, safetyMarginMs: ${SAFETY_MARGIN_MS}, graceMs: ${GRACE_MS} }
discovery: { intervalMs: 500 }
logging: { level: info }
`,
  );
  void agentPorts;
  processes.push(await startService("coordinator", ["--config", configPath]));
  for (const id of ["agent-a", "agent-b"]) {
    processes.push(
      await startService("agent", ["--config", configPath, "--region", "eu-west", "--id", id]),
    );
  }
});

after(async () => {
  await Promise.all(processes.map((process) => process.stop()));
  await pair?.stop();
  await redis?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function produce(from: number, count: number): Promise<void> {
  const producer = pair.source.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let start = from; start < from + count; start += 500) {
      const messages = Array.from({ length: Math.min(500, from + count - start) }, (_, i) => ({
        partition: (start + i) % PARTITIONS,
        key: `k-${start + i}`,
        value: `seq-${start + i}`,
      }));
      await producer.send({ topic: TOPIC, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Per partition, the source's values in order, and what the target holds. */
async function compare() {
  const { missing, duplicates, outOfOrder, total } = await compareReplica(
    pair.source,
    pair.target,
    [TOPIC],
    PARTITIONS,
  );
  return { missing, duplicates, outOfOrder, total };
}

test("records written to the source arrive in the target, in order, through the coordinator's assignment", async (t) => {
  const started = Date.now();
  await produce(0, 2000);
  await waitFor(
    "all 2000 records in us-east.orders on eu-west",
    async () => (await compare()).missing === 0,
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  const figures = await compare();
  t.diagnostic(`first 2000 records replicated ${Date.now() - started} ms after the produce began`);
  assert.deepEqual(figures, { missing: 0, duplicates: 0, outOfOrder: 0, total: 2000 });
});

test("kill -9 of an agent: its units run on the other agent within the lease TTL and nothing is lost", async (t) => {
  const coordinator = createGrpcClient(CoordinatorService, {
    address: processes[0]!.endpoints.grpc!,
  });
  try {
    const owners = async () =>
      (await coordinator.listUnits({ flow: "us-east->eu-west" })).units.map((unit) => ({
        partition: unit.unit?.partition,
        actual: unit.actualAgentId,
        state: unit.state,
        epoch: BigInt(unit.epoch || "0"),
      }));
    await waitFor("every unit running on some agent", async () => {
      const units = await owners();
      return (
        units.length === PARTITIONS &&
        units.every((u) => u.state === replicationV1.UnitState.RUNNING)
      );
    });
    const before = await owners();
    const victim = before[0]!.actual === "agent-a" ? 1 : 2;
    const victimId = victim === 1 ? "agent-a" : "agent-b";
    const survivorId = victim === 1 ? "agent-b" : "agent-a";
    const producing = produce(2000, 2000);
    processes[victim]!.child.kill("SIGKILL");
    const killedAt = Date.now();
    await producing;
    await waitFor(
      `every unit running on ${survivorId}`,
      async () => {
        const units = await owners();
        return units.every(
          (u) => u.actual === survivorId && u.state === replicationV1.UnitState.RUNNING,
        );
      },
      { timeoutMs: TTL_MS + GRACE_MS + 15_000, intervalMs: 100 },
    );
    const takeoverMs = Date.now() - killedAt;
    t.diagnostic(
      `takeover after kill -9 of ${victimId}: ${takeoverMs} ms (lease TTL ${TTL_MS} ms, grace ${GRACE_MS} ms)`,
    );
    const after = await owners();
    for (const unit of after) {
      const old = before.find((u) => u.partition === unit.partition)!;
      if (old.actual === victimId)
        assert.ok(unit.epoch > old.epoch, "a taken-over unit has a higher epoch");
    }
    await waitFor("all 4000 records in the target", async () => (await compare()).missing === 0, {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    const figures = await compare();
    t.diagnostic(
      `after the kill: ${figures.duplicates} duplicate record(s) from the unacknowledged window`,
    );
    assert.equal(figures.missing, 0);
    assert.equal(figures.outOfOrder, 0);
    assert.equal(figures.total, 4000);
  } finally {
    coordinator.close();
  }
});
