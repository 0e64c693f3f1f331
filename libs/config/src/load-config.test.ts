import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError } from "./config-error";
import { loadConfig } from "./load-config";

// Compiled to libs/config/dist/, so the repository root is three levels up.
const repoConfig = (name: string) => join(__dirname, "..", "..", "..", "config", name);

describe("loadConfig", () => {
  const dir = mkdtempSync(join(tmpdir(), "geo-config-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("loads the demo configuration with its documented shape", () => {
    const config = loadConfig({ path: repoConfig("demo.yaml"), env: {} });
    assert.deepEqual(Object.keys(config.clusters).sort(), ["ap-south", "eu-west", "us-east"]);
    assert.deepEqual(
      config.flowGroups.map((group) => [group.name, group.clusters, group.initialActive]),
      [["inventory", ["us-east", "ap-south"], "us-east"]],
    );
    assert.deepEqual(
      config.flows.map((flow) => [flow.name, flow.source, flow.target, flow.naming]),
      [
        ["us-east->eu-west", "us-east", "eu-west", "prefix"],
        ["eu-west->us-east", "eu-west", "us-east", "prefix"],
      ],
    );
    assert.deepEqual(config.clusters["us-east"]?.bootstrapServers, ["127.0.0.1:19092"]);
    assert.equal(config.services.agent.listen, "0.0.0.0:0");
  });

  it("lets the environment point the demo at other brokers", () => {
    const config = loadConfig({
      path: repoConfig("demo.yaml"),
      env: { US_EAST_BOOTSTRAP: "kafka-us-east:9092", GEO_AGENT_REGION: "eu-west" },
    });
    assert.deepEqual(config.clusters["us-east"]?.bootstrapServers, ["kafka-us-east:9092"]);
    assert.equal(config.services.agent.region, "eu-west");
  });

  it("accepts every key of the reference file", () => {
    const config = loadConfig({
      path: repoConfig("reference.yaml"),
      env: { US_EAST_KAFKA_PASSWORD: "x" },
    });
    assert.equal(config.flows.length, 2);
    assert.equal(config.flowGroups[0]?.name, "orders");
    assert.equal(config.regionStore.topic, "__geo.regions");
    assert.match(config.clusters["us-east"]?.tls?.caFile ?? "", /config\/certs\/us-east-ca\.pem$/);
  });

  it("uses GEO_CONFIG when no path is given, and resolves TLS files against the file's folder", () => {
    const file = join(dir, "geo.yaml");
    writeFileSync(
      file,
      'clusters:\n  a:\n    bootstrapServers: ["a:9092"]\n    tls: { caFile: ca.pem }\n',
    );
    const config = loadConfig({ env: { GEO_CONFIG: file } });
    assert.equal(config.source, file);
    assert.equal(config.clusters.a?.tls?.caFile, join(dir, "ca.pem"));
  });

  it("explains a missing file and a missing path", () => {
    const missing = join(dir, "nope.yaml");
    assert.throws(
      () => loadConfig({ path: missing, env: {} }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message.includes(missing) &&
        /does not exist/.test(error.message),
    );
    assert.throws(
      () => loadConfig({ env: {} }),
      (error: unknown) => ConfigError.is(error) && /GEO_CONFIG/.test(error.message),
    );
  });

  it("names the file in validation errors", () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "clusters:\n  a: { bootstrapServers: [] }\n");
    assert.throws(
      () => loadConfig({ path: file, env: {} }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message.startsWith(`invalid configuration in ${file} (1 problem)`),
    );
  });
});
