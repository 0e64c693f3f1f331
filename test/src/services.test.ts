// The four services as real processes against real Kafka clusters and a real Redis: health that
// follows their dependencies, reflection, the admin API answers, the agent's session, and clean
// SIGTERM handling.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, createGrpcClient, createRequestQueue, GeoError } from "@geo/grpc";
import {
  findFreePorts,
  type KafkaCluster,
  type RedisServer,
  startKafkaClusters,
  startRedis,
  stopAll,
} from "@geo/local-runtime";
import {
  AgentService,
  AgentSessionService,
  agentV1 as agentApi,
  type agentV1,
  CoordinatorService,
  grpcHealthV1,
  Health,
  OffsetTranslationService,
  ReplicationHealthService,
} from "@geo/proto";
import { type ServiceProcess, spawnService, startService } from "./support/service-process";
import { waitFor } from "./support/wait-for";

const run = promisify(execFile);
const buf = join(__dirname, "..", "..", "node_modules", ".bin", "buf");
const { SERVING, NOT_SERVING } = grpcHealthV1.HealthCheckResponse_ServingStatus;

describe("services against real Kafka and Redis", () => {
  let east: KafkaCluster;
  let west: KafkaCluster;
  let redis: RedisServer;
  let dir: string;
  let configPath: string;
  const services: Record<string, ServiceProcess> = {};

  before(async () => {
    [[east, west], redis] = await Promise.all([
      startKafkaClusters(["east", "west"]) as Promise<[KafkaCluster, KafkaCluster]>,
      startRedis(),
    ]);
    const [c, cm, o, om, h, hm, a, am] = (await findFreePorts(8)) as number[] as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    dir = mkdtempSync(join(tmpdir(), "geo-services-test-"));
    configPath = join(dir, "geo.yaml");
    writeFileSync(
      configPath,
      `clusters:
  east: { bootstrapServers: [${east.bootstrapServers.join(", ")}] }
  west: { bootstrapServers: [${west.bootstrapServers.join(", ")}] }
flows:
  - { name: east-to-west, source: east, target: west }
redis: { url: "${redis.url}", keyPrefix: "geo-services-test:" }
services:
  coordinator: { listen: "127.0.0.1:${c}", metricsListen: "127.0.0.1:${cm}" }
  offsets: { listen: "127.0.0.1:${o}", metricsListen: "127.0.0.1:${om}" }
  health: { listen: "127.0.0.1:${h}", metricsListen: "127.0.0.1:${hm}" }
  agent: { listen: "127.0.0.1:${a}", metricsListen: "127.0.0.1:${am}" }
leases: { ttlMs: 3000 }
`,
    );
    const started = await Promise.all([
      startService("coordinator", ["--config", configPath]),
      startService("offsets", ["--config", configPath]),
      startService("health", ["--config", configPath]),
      startService("agent", ["--config", configPath, "--region", "west", "--id", "agent-west-1"]),
    ]);
    [services.coordinator, services.offsets, services.health, services.agent] = started;
  });

  after(async () => {
    await Promise.all(Object.values(services).map((service) => service.stop()));
    await stopAll();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const grpcAddress = (name: string) => services[name]!.endpoints.grpc!;
  const healthOf = async (name: string) => {
    const client = createGrpcClient(Health, { address: grpcAddress(name), defaultTimeoutMs: 2000 });
    try {
      return (await client.check({ service: "" })).status;
    } finally {
      client.close();
    }
  };
  const waitForHealth = (names: string[], status: number, why: string) =>
    waitFor(
      `${names.join(", ")} ${status === SERVING ? "SERVING" : "NOT_SERVING"} ${why}`,
      async () => (await Promise.all(names.map(healthOf))).every((s) => s === status),
    );

  it("every service reports SERVING once Kafka and Redis answer, and exposes Prometheus metrics", async () => {
    await waitForHealth(["coordinator", "offsets", "health", "agent"], SERVING, "at start");
    for (const name of ["coordinator", "offsets", "health", "agent"]) {
      const response = await fetch(`http://${services[name]!.endpoints.metrics}/metrics`);
      assert.equal(response.status, 200);
      assert.match(
        await response.text(),
        new RegExp(`process_cpu_seconds_total\\{service="${name}"\\}`),
      );
    }
  });

  it("every service answers reflection clients (buf curl --list-services)", async () => {
    const expected: Record<string, string> = {
      coordinator: "geo.coordinator.v1.CoordinatorService",
      offsets: "geo.offsets.v1.OffsetTranslationService",
      health: "geo.health.v1.ReplicationHealthService",
      agent: "geo.agent.v1.AgentService",
    };
    for (const [name, service] of Object.entries(expected)) {
      const { stdout } = await run(buf, [
        "curl",
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "--list-services",
        `http://${grpcAddress(name)}`,
      ]);
      const listed = stdout.trim().split("\n");
      assert.ok(listed.includes(service), `${name} lists ${listed.join(", ")}`);
      assert.ok(listed.includes("grpc.health.v1.Health"));
    }
  });

  it("the coordinator serves clusters and file-owned flows, and refuses bad requests clearly", async () => {
    const client = createGrpcClient(CoordinatorService, { address: grpcAddress("coordinator") });
    try {
      const { clusters } = await client.listClusters({});
      assert.deepEqual(
        clusters.map((cluster) => [cluster.alias, cluster.bootstrapServers]),
        [
          ["east", east.bootstrapServers],
          ["west", west.bootstrapServers],
        ],
      );
      // Flow reads answer once the coordinator has read the flow store (UNAVAILABLE before).
      let flow: Awaited<ReturnType<typeof client.getFlow>>["flow"];
      await waitFor("the coordinator's flows", async () => {
        flow = (await client.getFlow({ name: "east-to-west" })).flow;
        return true;
      });
      assert.equal(flow?.owner?.owner.case, "file");
      assert.equal(flow?.owner?.owner.value?.path, configPath);
      await assert.rejects(
        client.getCluster({ alias: "mars" }),
        (error: GeoError) =>
          error.code === Code.NOT_FOUND &&
          /no cluster "mars"; known clusters: east, west/.test(error.message),
      );
      await assert.rejects(
        client.getFlow({ name: "" }),
        (error: GeoError) => error.code === Code.INVALID_ARGUMENT && /name/.test(error.message),
      );
      await assert.rejects(
        client.listFlows({ sourceCluster: "mars" }),
        (error: GeoError) =>
          error.code === Code.INVALID_ARGUMENT && /source_cluster/.test(error.message),
      );
      await assert.rejects(
        client.createFlow({}),
        (error: GeoError) =>
          error.code === Code.INVALID_ARGUMENT && /flow: is required/.test(error.message),
      );
    } finally {
      client.close();
    }
    const offsets = createGrpcClient(OffsetTranslationService, { address: grpcAddress("offsets") });
    await assert.rejects(
      offsets.translateGroupOffsets({ flow: "east-to-west" }),
      (error: GeoError) =>
        error.code === Code.INVALID_ARGUMENT && /group: is required/.test(error.message),
    );
    offsets.close();
  });

  it("the agent holds a session with the coordinator, visible from both sides", async () => {
    const coordinator = createGrpcClient(CoordinatorService, {
      address: grpcAddress("coordinator"),
    });
    const agent = createGrpcClient(AgentService, { address: grpcAddress("agent") });
    try {
      await waitFor("agent-west-1 listed by the coordinator", async () => {
        const { agents } = await coordinator.listAgents({});
        return agents.some((a) => a.id === "agent-west-1" && a.region === "west" && a.connected);
      });
      const status = await agent.getAgentStatus({});
      assert.equal(status.agentId, "agent-west-1");
      assert.equal(status.sessionState, agentApi.SessionState.CONNECTED);
      assert.equal(
        status.coordinatorAddress.endsWith(grpcAddress("coordinator").split(":")[1]!),
        true,
      );
    } finally {
      coordinator.close();
      agent.close();
    }
  });

  it("health turns NOT_SERVING when Redis goes away and SERVING when it returns", async () => {
    await redis.kill();
    await waitForHealth(["coordinator", "health", "agent"], NOT_SERVING, "after Redis was killed");
    assert.equal(await healthOf("offsets"), SERVING, "offsets does not depend on Redis");
    await redis.restart();
    await waitForHealth(["coordinator", "health", "agent"], SERVING, "after Redis came back");
  });

  it("health turns NOT_SERVING when a Kafka cluster goes away, and the health service reports it", async () => {
    await west.stopBroker(1);
    await waitForHealth(
      ["coordinator", "offsets", "agent"],
      NOT_SERVING,
      "after west's broker stopped",
    );
    const health = createGrpcClient(ReplicationHealthService, { address: grpcAddress("health") });
    try {
      assert.equal(
        await healthOf("health"),
        SERVING,
        "an unreachable cluster is a report, not an outage",
      );
      // The health service answers from its background probes (every 2 s): wait for the next.
      let byName: Record<string, { reachable: boolean; brokerCount: number; error: string }> = {};
      await waitFor("the health service's probe to see west unreachable", async () => {
        const { clusters } = await health.listClusterHealth({});
        byName = Object.fromEntries(clusters.map((c) => [c.cluster, c]));
        return byName.west?.reachable === false;
      });
      assert.equal(byName.east?.reachable, true);
      assert.equal(byName.east?.brokerCount, 1);
      assert.equal(byName.west?.reachable, false);
      assert.notEqual(byName.west?.error, "");
      await west.startBroker(1);
      await waitForHealth(
        ["coordinator", "offsets", "agent"],
        SERVING,
        "after west's broker returned",
      );
      await waitFor("west reachable again", async () => {
        const { health: west } = await health.getClusterHealth({ cluster: "west" });
        return west?.reachable === true && west.brokerCount === 1;
      });
    } finally {
      health.close();
    }
  });

  it("SIGTERM during a streaming call ends the stream with a retriable UNAVAILABLE and exits 0", async () => {
    const client = createGrpcClient(AgentSessionService, { address: grpcAddress("coordinator") });
    let outbox = createRequestQueue<MessageInitShape<typeof agentV1.AgentMessageSchema>>();
    let received: string[] = [];
    let ended: Promise<GeoError | undefined> = Promise.resolve(undefined);
    // Only the leader welcomes agents; after the Redis restart above the coordinator may still be
    // waiting to be elected again, and answers UNAVAILABLE meanwhile, like a standby.
    await waitFor("a session welcomed by the leader", async () => {
      outbox.end();
      outbox = createRequestQueue();
      outbox.push({
        message: { case: "hello", value: { agentId: "probe-agent", region: "west" } },
      });
      const messages: string[] = [];
      received = messages;
      const requests = outbox.iterable;
      ended = (async () => {
        try {
          for await (const message of client.connect(requests, { timeoutMs: 60_000 })) {
            messages.push(message.message.case ?? "");
          }
          return undefined;
        } catch (error) {
          return GeoError.from(error);
        }
      })();
      const first = await Promise.race([
        ended,
        new Promise<"welcomed" | "waiting">((resolve) => {
          const started = Date.now();
          const poll = setInterval(() => {
            if (messages.length > 0 || Date.now() - started > 5000) {
              clearInterval(poll);
              resolve(messages.length > 0 ? "welcomed" : "waiting");
            }
          }, 20);
        }),
      ]);
      if (first instanceof GeoError) assert.equal(first.code, Code.UNAVAILABLE, first.message);
      return first === "welcomed";
    });
    // The probe has no liveness lease in Redis, so it is welcomed but given no assignment.
    assert.deepEqual(received, ["welcome"]);
    const stoppedAt = Date.now();
    const exit = await services.coordinator!.stop();
    const error = await ended;
    outbox.end();
    client.close();
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(Date.now() - stoppedAt < 10_000, "the coordinator stopped promptly");
    assert.equal(error?.code, Code.UNAVAILABLE);
    assert.equal(error?.retriable, true);
  });
});

describe("service command lines", () => {
  it("a bad configuration exits 2 with a message naming the field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "geo-bad-config-"));
    try {
      const path = join(dir, "geo.yaml");
      writeFileSync(
        path,
        `clusters:\n  east: { bootstrapServers: ["127.0.0.1:1"] }\nflows:\n  - { source: east, target: mars, topics: { include: ["orders("] } }\n`,
      );
      const { exited, output } = spawnService("coordinator", ["--config", path]);
      const { code } = await exited;
      assert.equal(code, 2);
      const text = output.join("\n");
      assert.match(text, /flows\[0\]\.target/);
      assert.match(text, /mars/);
      assert.match(text, /flows\[0\]\.topics\.include\[0\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an unknown flag exits 2 with the usage", async () => {
    const { exited, output } = spawnService("health", ["--confg", "x.yaml"]);
    assert.equal((await exited).code, 2);
    assert.match(output.join("\n"), /usage: node services\/health\/dist\/main.js --config/);
  });
});
