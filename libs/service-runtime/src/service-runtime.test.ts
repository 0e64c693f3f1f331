import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { kafkaClusterProbe, parseServiceArgs, redisProbe, UsageError } from "./index";

describe("parseServiceArgs", () => {
  it("reads --config, and --region/--id for the agent", () => {
    assert.deepEqual(parseServiceArgs("agent", ["--config", "geo.yaml", "--region", "eu-west"]), {
      configPath: "geo.yaml",
      region: "eu-west",
      id: undefined,
    });
  });

  it("refuses unknown flags with the usage text", () => {
    assert.throws(
      () => parseServiceArgs("coordinator", ["--confg", "geo.yaml"]),
      (error: unknown) =>
        error instanceof UsageError &&
        /--confg/.test(error.message) &&
        /usage: node services\/coordinator\/dist\/main.js --config/.test(error.message),
    );
  });

  it("refuses agent-only flags on other services", () => {
    assert.throws(() => parseServiceArgs("health", ["--region", "x"]), /agent only/);
  });
});

describe("dependency probes", () => {
  it("fail when Kafka reports no broker or the cluster admin fails", async () => {
    const cluster = (brokers: unknown[]) => ({
      alias: "east",
      use: <T>(
        action: (admin: { describeCluster(): Promise<{ brokers: unknown[] }> }) => Promise<T>,
      ) => action({ describeCluster: async () => ({ brokers }) }),
    });
    await kafkaClusterProbe(cluster([{}])).check();
    await assert.rejects(kafkaClusterProbe(cluster([])).check(), /east reports no broker/);
    const down = {
      alias: "east",
      use: async () => Promise.reject(new Error("connection refused")),
    };
    await assert.rejects(kafkaClusterProbe(down).check(), /connection refused/);
  });

  it("fail when Redis does not answer PONG", async () => {
    await redisProbe({ ping: async () => "PONG" }).check();
    await assert.rejects(
      redisProbe({ ping: () => new Promise(() => {}) }, 50).check(),
      /redis did not answer/,
    );
  });
});
