// The coordinator's topic discovery and topic sync as a real process against two real Kafka
// clusters: new topics and partitions become units within seconds, remote topics follow their
// sources (partition count, configs), internal and excluded topics never replicate, and the
// admin API pages and validates the units it lists.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, createGrpcClient, type GeoError, type GrpcClient } from "@geo/grpc";
import {
  findFreePorts,
  type KafkaCluster,
  type RedisServer,
  startKafkaClusters,
  startRedis,
  stopAll,
} from "@geo/local-runtime";
import { CoordinatorService, replicationV1 } from "@geo/proto";
import { type Admin, ConfigResourceTypes, Kafka, logLevel } from "kafkajs";
import { createTopicsAndWaitForLeaders } from "./support/create-topics";
import { type ServiceProcess, startService } from "./support/service-process";
import { waitFor } from "./support/wait-for";

const FLOW = "east-to-west";
const DISCOVERY_DEADLINE_MS = 5000;

describe("coordinator discovery and topic sync against real Kafka", () => {
  let east: KafkaCluster;
  let west: KafkaCluster;
  let redis: RedisServer;
  let dir: string;
  let coordinator: ServiceProcess | undefined;
  let client: GrpcClient<typeof CoordinatorService>;
  let eastAdmin: Admin;
  let westAdmin: Admin;

  before(async () => {
    [[east, west], redis] = await Promise.all([
      startKafkaClusters(["east", "west"]) as Promise<[KafkaCluster, KafkaCluster]>,
      startRedis(),
    ]);
    const admin = async (cluster: KafkaCluster) => {
      const kafka = new Kafka({
        clientId: "discovery-test",
        brokers: cluster.bootstrapServers,
        logLevel: logLevel.NOTHING,
      });
      const created = kafka.admin();
      await created.connect();
      return created;
    };
    [eastAdmin, westAdmin] = await Promise.all([admin(east), admin(west)]);
    const [c, cm] = (await findFreePorts(2)) as [number, number];
    dir = mkdtempSync(join(tmpdir(), "geo-discovery-test-"));
    const configPath = join(dir, "geo.yaml");
    // The include list names internal topics on purpose: they must never be replicated anyway.
    writeFileSync(
      configPath,
      `clusters:
  east: { bootstrapServers: [${east.bootstrapServers.join(", ")}] }
  west: { bootstrapServers: [${west.bootstrapServers.join(", ")}] }
flows:
  - name: ${FLOW}
    source: east
    target: west
    topics:
      include: ["orders.*", "__x", "[.]hidden", "a[.]internal", "b-internal", "audit"]
      exclude: ["orders-excluded"]
  - { name: nothing, source: west, target: east, topics: { include: ["no-such-topic-.*"] } }
redis: { url: "${redis.url}", keyPrefix: "geo-discovery-test:" }
services:
  coordinator: { listen: "127.0.0.1:${c}", metricsListen: "127.0.0.1:${cm}" }
discovery: { intervalMs: 1000 }
`,
    );
    coordinator = await startService("coordinator", ["--config", configPath]);
    client = createGrpcClient(CoordinatorService, {
      address: coordinator.endpoints.grpc!,
      defaultTimeoutMs: 5000,
    });
    await waitFor("the first discovery round", async () => {
      const { flow } = await client.getFlow({ name: FLOW });
      return flow?.status?.discoveryTime !== undefined;
    });
  });

  after(async () => {
    client?.close();
    await Promise.all([eastAdmin?.disconnect(), westAdmin?.disconnect()]);
    const exit = await coordinator?.stop();
    await stopAll();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    if (exit !== undefined && exit.code !== 0) {
      throw new Error(`coordinator exited ${exit.code}:\n${coordinator?.output.join("\n")}`);
    }
  });

  const unitsOf = async (flow = FLOW) => {
    const { units, nextPageToken } = await client.listUnits({ flow, pageSize: 5000 });
    assert.equal(nextPageToken, "");
    return units.map((unit) => `${unit.unit?.sourceTopic}[${unit.unit?.partition}]`);
  };
  const partitionCount = async (admin: Admin, topic: string) => {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions.length ?? 0;
  };
  const topicNames = async (admin: Admin) => new Set(await admin.listTopics());
  /** Topic-level configs only (what was set on the topic, not defaults). */
  const topicConfigs = async (admin: Admin, topic: string) => {
    const { resources } = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
      includeSynonyms: false,
    });
    return Object.fromEntries(
      (resources[0]?.configEntries ?? [])
        .filter((entry) => entry.configSource === 1)
        .map((entry) => [entry.configName, entry.configValue]),
    );
  };
  const flowStatus = async (name: string) => {
    const { flow } = await client.getFlow({ name });
    assert.ok(flow?.status, `flow ${name} has a status`);
    return flow.status;
  };
  const expectedUnits = (topic: string, partitions: number) =>
    Array.from({ length: partitions }, (_, p) => `${topic}[${p}]`);

  it("a new source topic is listed as units and its remote topic exists with partitions and synced configs within 5 s", async (t) => {
    // A remote topic that already has more partitions than its source: a warning, not an error.
    await createTopicsAndWaitForLeaders(westAdmin, [
      { topic: "east.orders-wide", numPartitions: 4, replicationFactor: 1 },
    ]);
    await createTopicsAndWaitForLeaders(eastAdmin, [
      {
        topic: "orders",
        numPartitions: 3,
        replicationFactor: 1,
        configEntries: [
          { name: "retention.ms", value: "3600000" },
          { name: "cleanup.policy", value: "compact" },
          { name: "min.insync.replicas", value: "1" },
        ],
      },
      ...["__x", ".hidden", "a.internal", "b-internal", "orders-excluded", "audit"].map(
        (topic) => ({ topic, numPartitions: 1, replicationFactor: 1 }),
      ),
      { topic: "orders-wide", numPartitions: 2, replicationFactor: 1 },
    ]);
    // Measured from when the topics surely exist with leaders (creating them can take a while on a
    // busy machine, and that is not the coordinator's time).
    const createdAt = Date.now();
    let listedAfter = -1;
    await waitFor(
      "units of orders listed and east.orders synced on west",
      async () => {
        const units = await unitsOf();
        if (listedAfter < 0 && expectedUnits("orders", 3).every((u) => units.includes(u))) {
          listedAfter = Date.now() - createdAt;
        }
        if (listedAfter < 0) return false;
        if ((await partitionCount(westAdmin, "east.orders")) !== 3) return false;
        const configs = await topicConfigs(westAdmin, "east.orders");
        return configs["retention.ms"] === "3600000" && configs["cleanup.policy"] === "compact";
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    const syncedAfter = Date.now() - createdAt;
    t.diagnostic(
      `new topic → units listed after ${listedAfter} ms, remote topic created with configs after ${syncedAfter} ms (discovery interval 1000 ms)`,
    );
    assert.ok(syncedAfter < DISCOVERY_DEADLINE_MS, `synced after ${syncedAfter} ms`);

    const remoteConfigs = await topicConfigs(westAdmin, "east.orders");
    assert.equal(remoteConfigs["min.insync.replicas"], undefined, "excluded config not copied");
    assert.deepEqual(Object.keys(remoteConfigs).sort(), ["cleanup.policy", "retention.ms"]);

    await waitFor("audit and orders-wide units", async () => {
      const units = await unitsOf();
      return units.includes("audit[0]") && units.includes("orders-wide[1]");
    });
    assert.deepEqual(await unitsOf(), [
      "audit[0]",
      ...expectedUnits("orders", 3),
      ...expectedUnits("orders-wide", 2),
    ]);
    const { units } = await client.listUnits({ flow: FLOW });
    assert.equal(units[0]?.remoteTopic, "east.audit");
    assert.equal(units[0]?.state, replicationV1.UnitState.PENDING);
    assert.equal(units[0]?.desiredAgentId, "");

    const westTopics = await topicNames(westAdmin);
    for (const name of ["__x", ".hidden", "a.internal", "b-internal", "orders-excluded"]) {
      assert.equal(westTopics.has(`east.${name}`), false, `east.${name} was not created`);
    }
    assert.equal(await partitionCount(westAdmin, "east.orders-wide"), 4, "never shrunk");

    const status = await flowStatus(FLOW);
    assert.equal(status.matchedTopicCount, 3);
    assert.equal(status.unitCount, 6);
    assert.ok(
      status.warnings.some((w) =>
        /east\.orders-wide on west has 4 partitions, more than the 2/.test(w),
      ),
      status.warnings.join("\n"),
    );
  });

  it("creates the project's internal topics, compacted, in every target cluster", async () => {
    for (const admin of [westAdmin, eastAdmin]) {
      const names = await topicNames(admin);
      for (const topic of ["__geo.progress", "__geo.offset-map", "__geo.checkpoints"]) {
        assert.ok(names.has(topic), `${topic} exists`);
        assert.equal((await topicConfigs(admin, topic))["cleanup.policy"], "compact");
      }
    }
  });

  it("partitions added at the source grow the remote topic and become units", async (t) => {
    const grownAt = Date.now();
    await eastAdmin.createPartitions({ topicPartitions: [{ topic: "orders", count: 5 }] });
    await waitFor(
      "orders[3], orders[4] and 5 remote partitions",
      async () => {
        const units = await unitsOf();
        return (
          expectedUnits("orders", 5).every((u) => units.includes(u)) &&
          (await partitionCount(westAdmin, "east.orders")) === 5
        );
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    const grownAfter = Date.now() - grownAt;
    t.diagnostic(`added partitions → units and remote partitions after ${grownAfter} ms`);
    assert.ok(grownAfter < DISCOVERY_DEADLINE_MS, `grown after ${grownAfter} ms`);
  });

  it("a config change at the source reaches the remote topic; excluded configs stay the target's own", async (t) => {
    // The target's operators may set an excluded config on the remote topic: it is kept.
    await westAdmin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: "east.orders",
          configEntries: [
            { name: "retention.ms", value: "3600000" },
            { name: "cleanup.policy", value: "compact" },
            { name: "message.timestamp.type", value: "LogAppendTime" },
          ],
        },
      ],
    });
    const changedAt = Date.now();
    await eastAdmin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: "orders",
          configEntries: [
            { name: "retention.ms", value: "7200000" },
            { name: "max.message.bytes", value: "2000000" },
            { name: "min.insync.replicas", value: "1" },
          ],
        },
      ],
    });
    await waitFor(
      "east.orders configs follow orders",
      async () => {
        const configs = await topicConfigs(westAdmin, "east.orders");
        return configs["retention.ms"] === "7200000" && configs["cleanup.policy"] === undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    t.diagnostic(`config change synced after ${Date.now() - changedAt} ms`);
    assert.deepEqual(await topicConfigs(westAdmin, "east.orders"), {
      "max.message.bytes": "2000000",
      "message.timestamp.type": "LogAppendTime",
      "retention.ms": "7200000",
    });
  });

  it("a flow whose filter matches no topic says so in its status", async () => {
    const status = await flowStatus("nothing");
    assert.equal(status.matchedTopicCount, 0);
    assert.equal(status.unitCount, 0);
    assert.ok(status.discoveryTime !== undefined);
    assert.ok(
      status.warnings.some((w) => /matches no topic on west/.test(w)),
      status.warnings.join("\n"),
    );
    const { flows } = await client.listFlows({});
    assert.deepEqual(
      flows.map((flow) => [flow.name, flow.status?.unitCount]),
      [
        [FLOW, 8],
        ["nothing", 0],
      ],
    );
  });

  it("ListUnits pages in order and filters; GetUnit finds one unit; bad requests are refused clearly", async () => {
    const all = await unitsOf();
    assert.equal(all.length, 8);
    const paged: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await client.listUnits({ flow: FLOW, pageSize: 3, pageToken });
      assert.ok(page.units.length <= 3);
      paged.push(...page.units.map((u) => `${u.unit?.sourceTopic}[${u.unit?.partition}]`));
      pageToken = page.nextPageToken;
      pages += 1;
    } while (pageToken !== "");
    assert.equal(pages, 3);
    assert.deepEqual(paged, all);
    assert.equal(
      (await client.listUnits({ states: [replicationV1.UnitState.PENDING] })).units.length,
      8,
    );
    assert.equal(
      (await client.listUnits({ states: [replicationV1.UnitState.RUNNING] })).units.length,
      0,
    );
    assert.equal((await client.listUnits({ flow: "nothing" })).units.length, 0);

    const { unit } = await client.getUnit({
      unit: { flow: FLOW, sourceTopic: "orders", partition: 4 },
    });
    assert.equal(unit?.remoteTopic, "east.orders");
    assert.equal(unit?.state, replicationV1.UnitState.PENDING);

    const refused = async (call: Promise<unknown>, code: Code, pattern: RegExp) =>
      assert.rejects(call, (error: GeoError) => {
        assert.equal(error.code, code, error.message);
        assert.match(error.message, pattern);
        return true;
      });
    await refused(
      client.listUnits({ flow: "mars" }),
      Code.INVALID_ARGUMENT,
      /flow: no flow "mars"; flows: east-to-west, nothing/,
    );
    await refused(
      client.listUnits({ states: [42 as replicationV1.UnitState] }),
      Code.INVALID_ARGUMENT,
      /states\[0\]/,
    );
    await refused(
      client.listUnits({ states: [replicationV1.UnitState.UNSPECIFIED] }),
      Code.INVALID_ARGUMENT,
      /states\[0\]/,
    );
    await refused(
      client.listUnits({ pageToken: "not-a-token!" }),
      Code.INVALID_ARGUMENT,
      /page_token/,
    );
    await refused(client.listUnits({ pageSize: -1 }), Code.INVALID_ARGUMENT, /page_size/);
    await refused(client.getUnit({}), Code.INVALID_ARGUMENT, /unit/);
    await refused(
      client.getUnit({ unit: { flow: "mars", sourceTopic: "orders" } }),
      Code.NOT_FOUND,
      /no flow "mars"/,
    );
    await refused(
      client.getUnit({ unit: { flow: FLOW, sourceTopic: "orders", partition: 9 } }),
      Code.NOT_FOUND,
      /no unit orders\[9\].*partitions 0\.\.4/,
    );
    await refused(
      client.getUnit({ unit: { flow: FLOW, sourceTopic: "__x", partition: 0 } }),
      Code.NOT_FOUND,
      /no unit of topic "__x"/,
    );
  });

  it("exports units per flow and the discovery duration to Prometheus", async () => {
    const text = await (await fetch(`http://${coordinator!.endpoints.metrics}/metrics`)).text();
    assert.match(text, /geo_coordinator_flow_units\{flow="east-to-west",service="coordinator"\} 8/);
    assert.match(
      text,
      /geo_coordinator_discovery_round_seconds_count\{service="coordinator"\} \d+/,
    );
  });

  it("a deleted source topic loses its units, shows in the status, and keeps its remote topic", async () => {
    await eastAdmin.deleteTopics({ topics: ["orders"] });
    await waitFor("orders units gone", async () => !(await unitsOf()).includes("orders[0]"), {
      timeoutMs: 15_000,
    });
    assert.deepEqual(await unitsOf(), ["audit[0]", ...expectedUnits("orders-wide", 2)]);
    const status = await flowStatus(FLOW);
    assert.equal(status.matchedTopicCount, 2);
    assert.equal(status.unitCount, 3);
    assert.ok(
      status.warnings.some((w) =>
        /source topic orders was deleted from east .*its 5 units stopped; remote topic east\.orders is kept on west/.test(
          w,
        ),
      ),
      status.warnings.join("\n"),
    );
    assert.equal(await partitionCount(westAdmin, "east.orders"), 5, "remote topic kept");
  });
  it("a source topic whose prefixed remote name would exceed 249 characters is refused with the reason and what to do", async () => {
    const topic = `orders-${"l".repeat(242)}`;
    assert.equal(topic.length, 249);
    await createTopicsAndWaitForLeaders(eastAdmin, [{ topic, numPartitions: 1 }]);
    const expected =
      /remote topic name for east:orders-l+ would be 254 characters \("east\." and the 249-character source name\), over Kafka's limit of 249: it is not replicated; use identity naming for this flow, or exclude the topic \(topics\.exclude\)/;
    let warnings: string[] = [];
    await waitFor(
      "the flow's status names the over-long remote topic",
      async () => {
        warnings = (await flowStatus(FLOW)).warnings;
        return warnings.some((w) => expected.test(w));
      },
      { timeoutMs: 15_000 },
    ).catch(() => assert.fail(warnings.join("\n")));
    assert.ok(
      // JSON lines: the quotes are escaped there.
      coordinator!.output.some((line) =>
        /would be 254 characters .* over Kafka's limit of 249: it is not replicated; use identity naming/.test(
          line,
        ),
      ),
      "the coordinator logs it too",
    );
    assert.ok(
      !coordinator!.output.some((line) => /invalid topic|InvalidTopic|INVALID_TOPIC/i.test(line)),
      "no attempt to create the topic the broker would refuse",
    );
    assert.ok(!(await unitsOf()).some((unit) => unit.startsWith("orders-l")));
  });
});
