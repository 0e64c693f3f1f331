// Kafka security against real brokers: a source cluster with a SASL_SSL listener (SCRAM-SHA-512
// and PLAIN) and a target cluster with an SSL listener that requires client certificates, both
// with certificates made here by openssl (PEM keystores). The kafkajs clients and the agent's
// own wire client connect through both; a flow replicates from the SASL_SSL cluster into the
// mTLS cluster through the real coordinator and agent; a wrong password fails with an error
// naming the cluster and the mechanism, and the password is printed nowhere.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type ClusterConfig, parseConfig } from "@geo/config";
import { createKafkaClient, kafkaClientOptions } from "@geo/kafka";
import { createWireClient, KafkaWireError } from "@geo/kafka-wire";
import {
  createTestPki,
  findFreePorts,
  type KafkaCluster,
  type RedisServer,
  startKafkaClusters,
  startRedis,
  type TestPki,
} from "@geo/local-runtime";
import { createLogger } from "@geo/logging";
import { Kafka } from "kafkajs";
import { createTopicsAndWaitForLeaders } from "./support/create-topics";
import { type ServiceProcess, startService } from "./support/service-process";
import { waitFor } from "./support/wait-for";

const SCRAM_PASSWORD = "scram-Password-4c1d2e";
const PLAIN_PASSWORD = "plain-Password-8a7b6c";
const WRONG_PASSWORD = "wrong-Password-0f9e8d";
const TOPIC = "orders";
const logger = createLogger({ service: "kafka-security-test", level: "silent" });

let dir: string;
let pki: TestPki;
let sasl: KafkaCluster;
let mtls: KafkaCluster;
let redis: RedisServer;
const processes: ServiceProcess[] = [];

/** A PEM keystore: the private key and certificate in one file, as Kafka's PEM type wants. */
function keystore(name: string): string {
  const files = pki.issue(name);
  const file = join(dir, `${name}-keystore.pem`);
  writeFileSync(file, readFileSync(files.keyFile, "utf8") + readFileSync(files.certFile, "utf8"));
  return file;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "geo-kafka-security-"));
  pki = createTestPki(join(dir, "pki"));
  const tlsServer = (name: string) => ({
    "listener.name.secure.ssl.keystore.type": "PEM",
    "listener.name.secure.ssl.keystore.location": keystore(name),
  });
  [[sasl, mtls], redis] = await Promise.all([
    startKafkaClusters([
      {
        name: "sasl",
        secureListener: {
          protocol: "SASL_SSL",
          properties: {
            ...tlsServer("sasl-broker"),
            "listener.name.secure.sasl.enabled.mechanisms": "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN",
            "listener.name.secure.scram-sha-512.sasl.jaas.config":
              "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "listener.name.secure.scram-sha-256.sasl.jaas.config":
              "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "listener.name.secure.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required user_geo-plain="${PLAIN_PASSWORD}";`,
          },
          scramUsers: [
            { mechanism: "SCRAM-SHA-512", name: "geo", password: SCRAM_PASSWORD },
            { mechanism: "SCRAM-SHA-256", name: "geo-256", password: SCRAM_PASSWORD },
          ],
        },
      },
      {
        name: "mtls",
        secureListener: {
          protocol: "SSL",
          properties: {
            ...tlsServer("mtls-broker"),
            "listener.name.secure.ssl.truststore.type": "PEM",
            "listener.name.secure.ssl.truststore.location": pki.caFile,
            "listener.name.secure.ssl.client.auth": "required",
          },
        },
      },
    ]) as Promise<[KafkaCluster, KafkaCluster]>,
    startRedis(),
  ]);
  // A topic in each, made over the harness's own PLAINTEXT listener.
  for (const cluster of [sasl, mtls]) {
    const plain = new Kafka({ clientId: "setup", brokers: cluster.bootstrapServers, logLevel: 0 });
    const admin = plain.admin();
    await admin.connect();
    await createTopicsAndWaitForLeaders(admin, [{ topic: TOPIC, numPartitions: 2 }]);
    await admin.disconnect();
  }
});

after(async () => {
  await Promise.all(processes.map((process) => process.stop()));
  await Promise.all([sasl?.stop(), mtls?.stop(), redis?.stop()]);
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const client = pki_issue_once();
function pki_issue_once() {
  let files: { certFile: string; keyFile: string } | undefined;
  return () => {
    files ??= pki.issue("geo-client");
    return files;
  };
}

/** The clusters section of a config: the SASL_SSL source and the mTLS target. */
function clustersYaml(mechanism: string, username: string, passwordVariable: string): string {
  const files = client();
  return `clusters:
  sasl:
    bootstrapServers: [${sasl.secureBootstrapServers.join(", ")}]
    tls: { caFile: ${pki.caFile} }
    sasl: { mechanism: ${mechanism}, username: ${username}, password: "\${${passwordVariable}}" }
  mtls:
    bootstrapServers: [${mtls.secureBootstrapServers.join(", ")}]
    tls: { caFile: ${pki.caFile}, certFile: ${files.certFile}, keyFile: ${files.keyFile} }
`;
}

function clusterConfig(alias: string, yaml: string, env: Record<string, string>): ClusterConfig {
  return parseConfig(yaml, { source: "kafka-security.test", env }).clusters[alias]!;
}

test("kafkajs and the wire client connect with SCRAM-SHA-512/256, PLAIN and client certificates", async () => {
  const env = { SCRAM: SCRAM_PASSWORD, PLAIN: PLAIN_PASSWORD };
  const configs = [
    clusterConfig("sasl", clustersYaml("scram-sha-512", "geo", "SCRAM"), env),
    clusterConfig("sasl", clustersYaml("scram-sha-256", "geo-256", "SCRAM"), env),
    clusterConfig("sasl", clustersYaml("plain", "geo-plain", "PLAIN"), env),
    clusterConfig("mtls", clustersYaml("plain", "x", "PLAIN"), env),
  ];
  for (const cluster of configs) {
    const admin = createKafkaClient(cluster, { clientId: "security-test", logger }).admin();
    await admin.connect();
    const topics = await admin.listTopics();
    await admin.disconnect();
    assert.ok(topics.includes(TOPIC), topics.join());
    const wire = createWireClient(
      kafkaClientOptions(cluster, { clientId: "security-test", logger }),
      {
        logger,
      },
    );
    try {
      const offsets = await wire.listOffsets(TOPIC, [0, 1], "latest");
      assert.equal(offsets.length, 2);
    } finally {
      await wire.close();
    }
  }
  // Without a client certificate the mTLS cluster refuses the connection.
  const anonymous = clusterConfig(
    "mtls",
    `clusters:\n  mtls: { bootstrapServers: [${mtls.secureBootstrapServers.join(", ")}], tls: { caFile: ${pki.caFile} } }\n`,
    {},
  );
  const refused = createKafkaClient(anonymous, {
    clientId: "anonymous",
    logger,
    requestTimeoutMs: 5000,
  }).admin();
  await assert.rejects(refused.connect().then(() => refused.listTopics()));
  await refused.disconnect().catch(() => {});
  const anonymousWire = createWireClient(
    kafkaClientOptions(anonymous, { clientId: "anonymous", logger, requestTimeoutMs: 5000 }),
  );
  try {
    await assert.rejects(anonymousWire.listOffsets(TOPIC, [0], "latest", { timeoutMs: 3000 }));
  } finally {
    await anonymousWire.close();
  }
});

test("the wire client's wrong SASL password is a non-retriable AUTHENTICATION_FAILED naming the mechanism", async () => {
  for (const [mechanism, username] of [
    ["scram-sha-512", "geo"],
    ["scram-sha-256", "geo-256"],
    ["plain", "geo-plain"],
  ] as const) {
    const cluster = clusterConfig("sasl", clustersYaml(mechanism, username, "P"), {
      P: WRONG_PASSWORD,
    });
    const wire = createWireClient(kafkaClientOptions(cluster, { clientId: "wrong", logger }));
    try {
      const error = await wire.listOffsets(TOPIC, [0], "latest").then(
        () => undefined,
        (e: KafkaWireError) => e,
      );
      assert.ok(error instanceof KafkaWireError, `${mechanism}: ${String(error)}`);
      assert.equal(error.code, "AUTHENTICATION_FAILED", error.message);
      assert.equal(error.retriable, false);
      assert.ok(error.message.includes(mechanism.toUpperCase()), error.message);
      assert.ok(!error.message.includes(WRONG_PASSWORD), "the password is in the message");
    } finally {
      await wire.close();
    }
  }
});

/** A config for the coordinator and agent: flow sasl -> mtls, flow store in mtls. */
function writeServiceConfig(name: string, passwordVariable: string, coordinatorPort: number) {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `${clustersYaml("scram-sha-512", "geo", passwordVariable)}flows:
  - { name: sasl-to-mtls, source: sasl, target: mtls, topics: { include: ["${TOPIC}"] } }
flowStore: { cluster: mtls }
redis: { url: "${redis.url}", keyPrefix: "geo-${name}:" }
services:
  coordinator: { listen: "127.0.0.1:${coordinatorPort}", address: "127.0.0.1:${coordinatorPort}", metricsListen: "127.0.0.1:0" }
  agent: { listen: "127.0.0.1:0", metricsListen: "127.0.0.1:0" }
leases: { ttlMs: 3000, renewIntervalMs: 1000, safetyMarginMs: 750, graceMs: 500 }
discovery: { intervalMs: 500 }
`,
  );
  return file;
}

test("a flow replicates from the SASL_SSL cluster into the mTLS cluster", async () => {
  const [port] = (await findFreePorts(1)) as [number];
  const config = writeServiceConfig("replicate", "SCRAM_PASSWORD", port);
  const env = { SCRAM_PASSWORD };
  processes.push(await startService("coordinator", ["--config", config], env));
  processes.push(
    await startService("agent", ["--config", config, "--region", "mtls", "--id", "agent-1"], env),
  );
  const producer = new Kafka({
    clientId: "load",
    brokers: sasl.bootstrapServers,
    logLevel: 0,
  }).producer();
  await producer.connect();
  await producer.send({
    topic: TOPIC,
    acks: -1,
    messages: Array.from({ length: 200 }, (_, i) => ({ partition: i % 2, value: `v-${i}` })),
  });
  await producer.disconnect();
  const admin = new Kafka({
    clientId: "check",
    brokers: mtls.bootstrapServers,
    logLevel: 0,
  }).admin();
  await admin.connect();
  try {
    await waitFor(
      "200 records in sasl.orders on the mTLS cluster",
      async () => {
        const offsets = await admin.fetchTopicOffsets(`sasl.${TOPIC}`).catch(() => []);
        return offsets.reduce((sum, p) => sum + Number(p.high), 0) === 200;
      },
      { timeoutMs: 90_000 },
    );
  } finally {
    await admin.disconnect();
  }
});

test("a wrong SASL password fails naming the cluster and the mechanism, never the password", async () => {
  const [port] = (await findFreePorts(1)) as [number];
  const config = writeServiceConfig("wrong", "SCRAM_PASSWORD", port);
  const coordinator = await startService("coordinator", ["--config", config], {
    SCRAM_PASSWORD: WRONG_PASSWORD,
  });
  processes.push(coordinator);
  await waitFor(
    "the coordinator reports the failed authentication",
    () =>
      coordinator.output.some(
        (line) =>
          /"cluster":"sasl"/.test(line) && /SCRAM[- ]SHA[- ]?512/i.test(line) && /auth/i.test(line),
      ),
    { timeoutMs: 60_000 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; output:\n${coordinator.output.slice(-15).join("\n")}`);
  });
  assert.ok(!coordinator.output.join("\n").includes(WRONG_PASSWORD), "the password was printed");
  const reported = coordinator.output.find(
    (line) => /"cluster":"sasl"/.test(line) && /SCRAM/i.test(line),
  );
  process.stdout.write(`reported: ${reported}\n`);
  // The kafkajs client says the same to a program that uses it directly.
  const cluster = clusterConfig("sasl", clustersYaml("scram-sha-512", "geo", "P"), {
    P: WRONG_PASSWORD,
  });
  const admin = createKafkaClient(cluster, { clientId: "wrong", logger }).admin();
  const error = await admin.connect().then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(error !== undefined);
  assert.match(error.message, /SCRAM/i);
  assert.ok(!error.message.includes(WRONG_PASSWORD));
});
