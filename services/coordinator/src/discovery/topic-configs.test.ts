import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  EXCLUDED_TOPIC_CONFIGS,
  remoteConfigUpdate,
  replicatedConfigs,
  topicLevelConfigs,
} from "./topic-configs";

describe("topic configs that follow a source topic", () => {
  it("keeps only configs set on the topic, never sensitive or unknown values", () => {
    const configs = topicLevelConfigs([
      { configName: "retention.ms", configValue: "1000", configSource: 1 },
      { configName: "segment.bytes", configValue: "1073741824", configSource: 5 },
      { configName: "compression.type", configValue: "zstd", configSource: 4 },
      { configName: "secret", configValue: null, configSource: 1, isSensitive: true },
      // Brokers before DescribeConfigs v1 report no source: not-default stands in.
      { configName: "cleanup.policy", configValue: "compact", isDefault: false },
      { configName: "flush.ms", configValue: "1", isDefault: true },
    ]);
    assert.deepEqual(Object.fromEntries(configs), {
      "retention.ms": "1000",
      "cleanup.policy": "compact",
    });
  });

  it("drops MirrorMaker 2's exclude list", () => {
    assert.equal(EXCLUDED_TOPIC_CONFIGS.size, 6);
    const source = new Map([
      ["retention.ms", "1000"],
      ["min.insync.replicas", "2"],
      ["message.timestamp.type", "LogAppendTime"],
      ["unclean.leader.election.enable", "true"],
      ["leader.replication.throttled.replicas", "*"],
      ["follower.replication.throttled.replicas", "*"],
      ["message.timestamp.difference.max.ms", "5"],
    ]);
    assert.deepEqual(Object.fromEntries(replicatedConfigs(source)), { "retention.ms": "1000" });
  });

  it("updates a remote topic only when it differs, keeping the target's own excluded configs", () => {
    const source = new Map([
      ["retention.ms", "1000"],
      ["min.insync.replicas", "1"],
    ]);
    assert.equal(
      remoteConfigUpdate(
        source,
        new Map([
          ["retention.ms", "1000"],
          ["min.insync.replicas", "2"],
        ]),
      ),
      undefined,
    );
    assert.deepEqual(
      Object.fromEntries(
        remoteConfigUpdate(
          new Map([["retention.ms", "2000"]]),
          new Map([
            ["retention.ms", "1000"],
            ["cleanup.policy", "compact"],
            ["min.insync.replicas", "2"],
          ]),
        ) ?? [],
      ),
      { "retention.ms": "2000", "min.insync.replicas": "2" },
    );
  });
});
