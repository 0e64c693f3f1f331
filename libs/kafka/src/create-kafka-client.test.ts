import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type ClusterConfig, ConfigError, parseConfig } from "@geo/config";
import { createLogger } from "@geo/logging";
import { Kafka, logLevel } from "kafkajs";
import { createKafkaClient, kafkaClientOptions } from "./create-kafka-client";

function memoryLogger(level: "info" | "warn" = "info") {
  const lines: string[] = [];
  const logger = createLogger({
    service: "kafka-test",
    level,
    destination: { write: (l: string) => void lines.push(l) },
  });
  return { logger, lines };
}

describe("kafkaClientOptions", () => {
  const dir = mkdtempSync(join(tmpdir(), "geo-kafka-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("maps a plain cluster to brokers, timeouts and a pino log creator", () => {
    const cluster: ClusterConfig = {
      alias: "us-east",
      region: "us-east",
      bootstrapServers: ["k1:9092", "k2:9092"],
    };
    const { logger, lines } = memoryLogger("warn");
    const options = kafkaClientOptions(cluster, { clientId: "geo-agent-1", logger });
    assert.deepEqual(options.brokers, ["k1:9092", "k2:9092"]);
    assert.equal(options.clientId, "geo-agent-1");
    assert.equal(options.connectionTimeout, 5000);
    assert.equal(options.requestTimeout, 30000);
    assert.equal(options.enforceRequestTimeout, true);
    assert.equal(options.logLevel, logLevel.WARN);
    assert.equal(options.ssl, undefined);
    assert.equal(options.sasl, undefined);
    assert.equal(options.retry, undefined);

    options.logCreator?.(logLevel.WARN)({
      namespace: "BrokerPool",
      level: logLevel.ERROR,
      label: "ERROR",
      log: { timestamp: "t", message: "Failed to connect", broker: "k1:9092" },
    });
    const line = JSON.parse(lines[0] ?? "{}");
    assert.equal(line.level, "error");
    assert.equal(line.msg, "Failed to connect");
    assert.equal(line.namespace, "BrokerPool");
    assert.equal(line.cluster, "us-east");
  });

  it("reads TLS files and carries SCRAM credentials from the parsed configuration", () => {
    writeFileSync(join(dir, "ca.pem"), "CA-BYTES");
    writeFileSync(join(dir, "cert.pem"), "CERT-BYTES");
    writeFileSync(join(dir, "key.pem"), "KEY-BYTES");
    const config = parseConfig(
      `
clusters:
  eu-west:
    bootstrapServers: ["kafka.eu-west:9093"]
    tls: { caFile: ca.pem, certFile: cert.pem, keyFile: key.pem, rejectUnauthorized: false }
    sasl: { mechanism: scram-sha-256, username: geo, password: "\${PW}" }
`,
      { env: { PW: "s3cret" }, baseDir: dir },
    );
    const { logger } = memoryLogger();
    const options = kafkaClientOptions(config.clusters["eu-west"]!, {
      clientId: "geo",
      logger,
      connectionTimeoutMs: 1234,
      requestTimeoutMs: 5678,
      retry: { retries: 2, initialRetryTime: 100 },
    });
    assert.deepEqual(options.sasl, {
      mechanism: "scram-sha-256",
      username: "geo",
      password: "s3cret",
    });
    assert.equal(typeof options.ssl, "object");
    const ssl = options.ssl as {
      ca: Buffer[];
      cert: Buffer;
      key: Buffer;
      rejectUnauthorized: boolean;
    };
    assert.deepEqual(
      ssl.ca.map((b) => b.toString()),
      ["CA-BYTES"],
    );
    assert.equal(ssl.cert.toString(), "CERT-BYTES");
    assert.equal(ssl.key.toString(), "KEY-BYTES");
    assert.equal(ssl.rejectUnauthorized, false);
    assert.equal(options.connectionTimeout, 1234);
    assert.equal(options.requestTimeout, 5678);
    assert.deepEqual(options.retry, { retries: 2, initialRetryTime: 100 });
  });

  it("uses system CAs for tls: true and maps SASL PLAIN and SCRAM-SHA-512", () => {
    const { logger } = memoryLogger();
    const base = { alias: "a", region: "a", bootstrapServers: ["a:9093"] };
    const plain = kafkaClientOptions(
      {
        ...base,
        tls: { enabled: true, rejectUnauthorized: true },
        sasl: { mechanism: "plain", username: "u", password: "p" },
      },
      { clientId: "c", logger },
    );
    assert.equal(plain.ssl, true);
    assert.deepEqual(plain.sasl, { mechanism: "plain", username: "u", password: "p" });
    const scram = kafkaClientOptions(
      {
        ...base,
        tls: { enabled: false, rejectUnauthorized: true },
        sasl: { mechanism: "scram-sha-512", username: "u", password: "p" },
      },
      { clientId: "c", logger },
    );
    assert.equal(scram.ssl, undefined, "tls.enabled: false means plaintext");
    assert.equal((scram.sasl as { mechanism: string }).mechanism, "scram-sha-512");
  });

  it("names the field of a TLS file that cannot be read", () => {
    const { logger } = memoryLogger();
    const cluster: ClusterConfig = {
      alias: "us-east",
      region: "us-east",
      bootstrapServers: ["k:9093"],
      tls: { enabled: true, caFile: join(dir, "missing-ca.pem"), rejectUnauthorized: true },
    };
    assert.throws(
      () => kafkaClientOptions(cluster, { clientId: "c", logger }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.issues[0]?.path === "clusters.us-east.tls.caFile" &&
        /missing-ca\.pem.*ENOENT/.test(error.message),
    );
  });

  it("rejects nonsense options", () => {
    const { logger } = memoryLogger();
    const cluster: ClusterConfig = { alias: "a", region: "a", bootstrapServers: ["a:9092"] };
    assert.throws(() => kafkaClientOptions(cluster, { clientId: "bad id!", logger }), /clientId/);
    assert.throws(
      () => kafkaClientOptions(cluster, { clientId: "ok", logger, requestTimeoutMs: 0 }),
      /requestTimeoutMs/,
    );
    assert.throws(
      () => kafkaClientOptions(cluster, { clientId: "ok", logger, retry: { retries: -1 } }),
      /retries/,
    );
    assert.throws(
      () => kafkaClientOptions(cluster, { clientId: "ok", logger: undefined as never }),
      /logger/,
    );
  });
});

describe("createKafkaClient", () => {
  it("builds a kafkajs client without connecting", () => {
    const { logger } = memoryLogger();
    const kafka = createKafkaClient(
      { alias: "a", region: "a", bootstrapServers: ["127.0.0.1:1"] },
      { clientId: "c", logger },
    );
    assert.ok(kafka instanceof Kafka);
    assert.equal(typeof kafka.admin, "function");
  });
});
