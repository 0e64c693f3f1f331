import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseConfig } from "@geo/config";
import { CliError, ExitCode } from "../exit-codes";
import { convertMm2 } from "./convert-mm2";

const fixture = (name: string) => {
  const path = join(__dirname, "..", "..", "fixtures", "mm2", `${name}.properties`);
  return convertMm2(readFileSync(path, "utf8"), `${name}.properties`);
};
const droppedKeys = (result: ReturnType<typeof convertMm2>) =>
  result.dropped.map((d) => d.key).sort();

describe("import mm2", () => {
  it("converts a plain one-way config and reports every setting it leaves behind", () => {
    const result = fixture("plain");
    assert.deepEqual(result.config.clusters, {
      primary: { bootstrapServers: ["kafka-1.primary:9092", "kafka-2.primary:9092"] },
      backup: { bootstrapServers: ["kafka-1.backup:9092"] },
    });
    assert.deepEqual(result.config.flows, [
      {
        name: "primary->backup",
        source: "primary",
        target: "backup",
        topics: { include: ["orders.*", "payments"], exclude: [".*\\.tmp"] },
        naming: "prefix",
        startFrom: "latest",
      },
    ]);
    assert.deepEqual(droppedKeys(result), [
      "backup.producer.compression.type",
      "checkpoints.topic.replication.factor",
      "config.storage.replication.factor",
      "emit.checkpoints.interval.seconds",
      "groups",
      "groups.exclude",
      "heartbeats.topic.replication.factor",
      "offset-syncs.topic.replication.factor",
      "offset.storage.replication.factor",
      "refresh.topics.interval.seconds",
      "replication.factor",
      "status.storage.replication.factor",
      "sync.group.offsets.enabled",
      "sync.topic.configs.enabled",
      "tasks.max",
    ]);
    for (const { reason } of result.dropped) assert.ok(reason.length > 20, reason);
    assert.match(
      result.dropped.find((d) => d.key === "tasks.max")!.reason,
      /agents of the target region/,
    );
    assert.deepEqual(result.problems, []);
    // The YAML is what the services load.
    assert.equal(parseConfig(result.yaml, { env: {} }).flows[0]?.startFrom, "latest");
  });

  it("carries SASL/SCRAM and PEM TLS over, keeps the password out of the YAML, explains keystores", () => {
    const result = fixture("secured");
    const east = result.config.clusters["us-east"];
    assert.deepEqual(east?.sasl, {
      mechanism: "scram-sha-512",
      username: "mm2",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the YAML reads the variable
      password: "${US_EAST_KAFKA_PASSWORD}",
    });
    assert.deepEqual(east?.tls, { enabled: true });
    assert.deepEqual(result.config.clusters["eu-west"]?.tls, {
      enabled: true,
      caFile: "/etc/kafka/eu-west-ca.pem",
      certFile: "/etc/kafka/mm2-client.pem",
      keyFile: "/etc/kafka/mm2-client.pem",
    });
    assert.doesNotMatch(result.yaml, /s3cr3t|changeit/);
    assert.deepEqual(result.env, ["US_EAST_KAFKA_PASSWORD"]);
    assert.deepEqual(droppedKeys(result), [
      "US_East.ssl.truststore.location",
      "emit.heartbeats.enabled",
      "eu-west.admin.request.timeout.ms",
      "eu-west.producer.acks",
      "eu-west.producer.sasl.mechanism",
      "eu-west.ssl.endpoint.identification.algorithm",
      "sync.topic.acls.enabled",
    ]);
    assert.match(
      result.dropped[0]!.reason,
      /keytool -exportcert -rfc -keystore \/etc\/kafka\/us-east-truststore\.jks/,
    );
    const notes = result.notes.map((n) => `${n.key}: ${n.note}`).join("\n");
    assert.match(notes, /alias "US_East" becomes "us-east".*existing MM2 copies are not continued/);
    assert.match(notes, /eu-west->US_East\.enabled: not enabled/);
    assert.deepEqual(
      result.config.flows.map((f) => f.name),
      ["us-east->eu-west"],
    );
    assert.deepEqual(result.problems, []);
  });

  it("turns active-active identity replication into two identity flows that cannot loop", () => {
    const result = fixture("active-active-identity");
    assert.deepEqual(
      result.config.flows.map((f) => [f.name, f.naming, f.topics.include, f.topics.exclude]),
      [
        ["east->west", "identity", ["app-.*"], ["app-.*-local"]],
        ["west->east", "identity", ["app-.*"], ["app-.*-local"]],
      ],
    );
    assert.deepEqual(result.env, ["EAST_KAFKA_PASSWORD", "WEST_KAFKA_PASSWORD"]);
    const loaded = parseConfig(result.yaml, {
      env: { EAST_KAFKA_PASSWORD: "a", WEST_KAFKA_PASSWORD: "b" },
    });
    assert.deepEqual(
      loaded.flows.map((f) => f.provenanceHeader),
      [true, true],
    );
    assert.deepEqual(droppedKeys(result), [
      "dedicated.mode.enable.internal.rest",
      "east->west.sync.group.offsets.enabled",
      "key.converter",
      "offset-syncs.topic.location",
      "tasks.max",
      "west->east.emit.checkpoints.enabled",
    ]);
    assert.match(result.notes.map((n) => n.note).join("\n"), /provenance header/);
  });

  it("reports what the services would refuse, and refuses a file without clusters", () => {
    const result = convertMm2(
      "clusters = a, b\na.bootstrap.servers = a:9092\nb.bootstrap.servers = b:9092\na->b.enabled = true\na->b.topics = logs.*+\nreplication.policy.separator = _\n",
      "x",
    );
    assert.match(
      result.problems.map((p) => `${p.path}: ${p.message}`).join("\n"),
      /flows\[0\]\.topics\.include\[0\]: invalid regular expression/,
    );
    assert.match(
      result.dropped.find((d) => d.key === "a->b: replication.policy.separator")?.reason ?? "",
      /always uses "\."/,
    );
    assert.throws(
      () => convertMm2("a.bootstrap.servers = x:1\n", "y"),
      (error: unknown) => error instanceof CliError && error.exitCode === ExitCode.INVALID,
    );
  });
});
