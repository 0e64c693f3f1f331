// Discovery's rounds against in-memory clusters: the failure paths that are slow or awkward to
// provoke on real brokers (unreachable clusters, backoff, refused configs, unreadable configs).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type FlowConfig, parseConfig } from "@geo/config";
import type { Admin, ClusterAdmin } from "@geo/kafka";
import { createLogger } from "@geo/logging";
import { PROGRESS_TOPIC_CONFIGS } from "@geo/progress";
import { createDiscovery, type DiscoveryOptions } from "./discovery";
import type { DesiredUnit } from "./types";

interface FakeTopic {
  partitions: number;
  configs: Map<string, string>;
  replicationFactor: number;
}

class ProtocolError extends Error {
  constructor(readonly type: string) {
    super(`broker says ${type}`);
  }
}

/** The part of a Kafka cluster discovery talks to, in memory. */
class FakeCluster {
  readonly topics = new Map<string, FakeTopic>();
  brokers = 1;
  down = false;
  /** Config names the broker refuses (INVALID_CONFIG), like an older Kafka version would. */
  readonly unknownConfigs = new Set<string>();
  /** Topics whose configs cannot be read (DescribeConfigs denied). */
  readonly undescribable = new Set<string>();
  uses = 0;

  constructor(readonly alias: string) {}

  add(topic: string, partitions: number, configs: Record<string, string> = {}): void {
    this.topics.set(topic, {
      partitions,
      configs: new Map(Object.entries(configs)),
      replicationFactor: 1,
    });
  }

  clusterAdmin(): ClusterAdmin {
    return {
      alias: this.alias,
      use: async (action) => {
        this.uses += 1;
        if (this.down) throw new Error(`connect ECONNREFUSED (${this.alias})`);
        return action(this.admin());
      },
      close: async () => {},
    };
  }

  private admin(): Admin {
    const admin = {
      fetchTopicMetadata: async () => ({
        topics: [...this.topics].map(([name, topic]) => ({
          name,
          partitions: Array.from({ length: topic.partitions }, (_, partitionId) => ({
            partitionId,
          })),
        })),
      }),
      describeCluster: async () => ({
        brokers: Array.from({ length: this.brokers }, (_, nodeId) => ({ nodeId })),
      }),
      describeConfigs: async ({ resources }: { resources: { name: string }[] }) => ({
        resources: resources.map(({ name }) => {
          const topic = this.topics.get(name);
          if (topic === undefined) throw new ProtocolError("UNKNOWN_TOPIC_OR_PARTITION");
          if (this.undescribable.has(name)) throw new ProtocolError("TOPIC_AUTHORIZATION_FAILED");
          return {
            resourceName: name,
            configEntries: [
              ...[...topic.configs].map(([configName, configValue]) => ({
                configName,
                configValue,
                configSource: 1,
              })),
              { configName: "segment.bytes", configValue: "1073741824", configSource: 5 },
            ],
          };
        }),
      }),
      createTopics: async ({
        topics,
      }: {
        topics: {
          topic: string;
          numPartitions: number;
          replicationFactor: number;
          configEntries: { name: string; value: string }[];
        }[];
      }) => {
        const errors: ProtocolError[] = [];
        for (const request of topics) {
          if (this.topics.has(request.topic))
            errors.push(new ProtocolError("TOPIC_ALREADY_EXISTS"));
          else if (request.configEntries.some((entry) => this.unknownConfigs.has(entry.name))) {
            errors.push(new ProtocolError("INVALID_CONFIG"));
          }
        }
        if (errors.length > 0) {
          if (errors.every((error) => error.type === "TOPIC_ALREADY_EXISTS")) return false;
          throw Object.assign(new Error("aggregate"), { errors });
        }
        for (const request of topics) {
          this.topics.set(request.topic, {
            partitions: request.numPartitions,
            replicationFactor: request.replicationFactor,
            configs: new Map(request.configEntries.map((entry) => [entry.name, entry.value])),
          });
        }
        return true;
      },
      createPartitions: async ({
        topicPartitions,
      }: {
        topicPartitions: { topic: string; count: number }[];
      }) => {
        for (const { topic, count } of topicPartitions) {
          const found = this.topics.get(topic);
          if (found === undefined || found.partitions >= count) {
            throw new ProtocolError("INVALID_PARTITIONS");
          }
          found.partitions = count;
        }
      },
      alterConfigs: async ({
        resources,
      }: {
        resources: { name: string; configEntries: { name: string; value: string }[] }[];
      }) => {
        for (const resource of resources) {
          const found = this.topics.get(resource.name);
          if (found === undefined) throw new ProtocolError("UNKNOWN_TOPIC_OR_PARTITION");
          if (resource.configEntries.some((entry) => this.unknownConfigs.has(entry.name))) {
            throw new ProtocolError("INVALID_CONFIG");
          }
          found.configs = new Map(resource.configEntries.map((entry) => [entry.name, entry.value]));
        }
      },
    };
    return admin as unknown as Admin;
  }
}

const config = parseConfig(
  `clusters:
  east: { bootstrapServers: ["127.0.0.1:1"] }
  west: { bootstrapServers: ["127.0.0.1:2"] }
flows:
  - { name: east-to-west, source: east, target: west }
`,
  { source: "discovery.test", env: {} },
);

function setUp(options: Partial<DiscoveryOptions> = {}) {
  const east = new FakeCluster("east");
  const west = new FakeCluster("west");
  const discovery = createDiscovery({
    config,
    logger: createLogger({ service: "discovery-test", level: "silent" }),
    clusterAdmins: new Map([
      ["east", east.clusterAdmin()],
      ["west", west.clusterAdmin()],
    ]),
    intervalMs: 60_000,
    ...options,
  });
  const unitNames = () => discovery.units().map((u) => `${u.sourceTopic}[${u.partition}]`);
  const warnings = () => discovery.flowStatus("east-to-west")?.warnings ?? [];
  return { east, west, discovery, unitNames, warnings };
}

describe("discovery rounds", () => {
  it("creates remote topics with the source's partitions, replicated configs and at most 3 replicas, and internal topics", async () => {
    const { east, west, discovery, unitNames } = setUp();
    west.brokers = 5;
    east.add("orders", 2, { "retention.ms": "1000", "min.insync.replicas": "2" });
    east.add("__consumer_offsets", 50);
    east.add("west.loop", 1);
    await discovery.refresh();
    assert.deepEqual(unitNames(), ["orders[0]", "orders[1]"]);
    const remote = west.topics.get("east.orders");
    assert.deepEqual(remote && Object.fromEntries(remote.configs), { "retention.ms": "1000" });
    assert.equal(remote?.replicationFactor, 3);
    assert.equal(west.topics.has("east.west.loop"), false, "a copy from the target goes back");
    for (const topic of ["__geo.progress", "__geo.offset-map", "__geo.checkpoints"]) {
      const internal = west.topics.get(topic);
      for (const [name, value] of Object.entries(PROGRESS_TOPIC_CONFIGS)) {
        assert.equal(internal?.configs.get(name), value, `${topic} ${name}`);
      }
      assert.equal(internal?.configs.get("min.insync.replicas"), "2", topic);
      assert.equal(internal?.replicationFactor, 3, topic);
    }
    assert.equal(east.topics.has("__geo.progress"), false, "east is no flow's target");
    const status = discovery.flowStatus("east-to-west");
    assert.equal(status?.matchedTopicCount, 1);
    assert.equal(status?.unitCount, 2);
    assert.ok(status?.discoveryTime instanceof Date);
  });

  it("keeps the last known units while the source is unreachable, backs off, and recovers", async () => {
    const { east, discovery, unitNames, warnings } = setUp({ intervalMs: 40, maxBackoffMs: 80 });
    east.add("orders", 2);
    await discovery.refresh();
    assert.deepEqual(unitNames(), ["orders[0]", "orders[1]"]);
    east.down = true;
    const usesBefore = east.uses;
    await discovery.refresh();
    await discovery.refresh();
    await discovery.refresh();
    assert.equal(east.uses - usesBefore, 1, "retried only after the backoff");
    assert.deepEqual(unitNames(), ["orders[0]", "orders[1]"]);
    assert.match(
      warnings()[0] ?? "",
      /could not list topics on east since .*ECONNREFUSED.*keeping the 2 units/,
    );
    east.down = false;
    east.add("payments", 1);
    await sleep(100);
    await discovery.refresh();
    assert.deepEqual(unitNames(), ["orders[0]", "orders[1]", "payments[0]"]);
    assert.deepEqual(warnings(), []);
  });

  it("an unreachable target keeps existing units; new topics wait for their remote topics", async () => {
    const { east, west, discovery, unitNames, warnings } = setUp();
    east.add("orders", 1);
    await discovery.refresh();
    west.down = true;
    east.add("payments", 2);
    east.add("refunds", 1);
    await discovery.refresh();
    assert.deepEqual(unitNames(), ["orders[0]"]);
    assert.equal(discovery.flowStatus("east-to-west")?.matchedTopicCount, 3);
    assert.match(warnings().join("\n"), /could not sync topics into west .*ECONNREFUSED/);
  });

  it("creates a topic without the configs the target refuses, and says so", async () => {
    const { east, west, discovery, unitNames, warnings } = setUp();
    west.unknownConfigs.add("confluent.placement.constraints");
    east.add("orders", 1, { "confluent.placement.constraints": "{}", "retention.ms": "5" });
    east.add("payments", 1, { "retention.ms": "7" });
    await discovery.refresh();
    assert.deepEqual(unitNames(), ["orders[0]", "payments[0]"]);
    assert.equal(west.topics.get("east.payments")?.configs.get("retention.ms"), "7");
    assert.match(warnings().join("\n"), /east\.orders was created on west without the configs/);
  });

  it("does not create a remote topic before its source configs can be read", async () => {
    const { east, west, discovery, unitNames, warnings } = setUp();
    east.add("orders", 1);
    east.add("secret", 1);
    east.undescribable.add("secret");
    await discovery.refresh();
    assert.deepEqual(unitNames(), ["orders[0]"]);
    assert.equal(west.topics.has("east.secret"), false);
    assert.match(
      warnings().join("\n"),
      /remote topic east\.secret not created on west yet: could not read the configs of secret on east: .*TOPIC_AUTHORIZATION_FAILED/,
    );
  });

  it("tells listeners when units change, and only then; removed topics are noticed for a while", async () => {
    const { east, discovery, warnings } = setUp({ removedTopicNoticeMs: 50 });
    const seen: (readonly DesiredUnit[])[] = [];
    discovery.onChange((units) => seen.push(units));
    east.add("orders", 1);
    await discovery.refresh();
    await discovery.refresh();
    assert.equal(seen.length, 1);
    east.topics.delete("orders");
    await discovery.refresh();
    assert.equal(seen.length, 2);
    assert.deepEqual(seen[1], []);
    assert.match(warnings().join("\n"), /source topic orders was deleted from east/);
    assert.match(warnings().join("\n"), /topic filter matches no topic on east/);
    await sleep(60);
    await discovery.refresh();
    assert.doesNotMatch(warnings().join("\n"), /was deleted/);
  });

  it("runs on its own once started, and stops", async () => {
    const flows: FlowConfig[] = [...config.flows];
    const { east, discovery, unitNames } = setUp({ intervalMs: 20, flows: () => flows });
    east.add("orders", 1);
    discovery.start();
    await sleep(60);
    assert.deepEqual(unitNames(), ["orders[0]"]);
    east.add("payments", 1);
    await sleep(60);
    assert.deepEqual(unitNames(), ["orders[0]", "payments[0]"]);
    await discovery.stop();
    const uses = east.uses;
    await sleep(60);
    assert.equal(east.uses, uses, "no round after stop");
  });
});
