import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger, type LoggerOptions, withContext } from "./create-logger";
import { KAFKAJS_LOG_LEVEL, kafkajsLogCreator, kafkajsLogLevel } from "./kafkajs-log-creator";
import { REDACTED, redactSecrets } from "./redact-secrets";

// pino writes synchronously to a destination that has a write method, so lines are there at once.
// Loose view of parsed JSON for deep property access in assertions.
// biome-ignore lint/suspicious/noExplicitAny: test-only view of arbitrary JSON
type Json = any;

function memoryLogger(options: Partial<LoggerOptions> = {}) {
  const lines: string[] = [];
  const logger = createLogger({
    service: "test-service",
    destination: { write: (line: string) => void lines.push(line) },
    ...options,
  });
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, records };
}

const clusterConfig = Object.freeze({
  alias: "us-east",
  bootstrapServers: Object.freeze(["k1:9092"]),
  sasl: Object.freeze({ mechanism: "scram-sha-512", username: "geo", password: "kafka-pw-1" }),
});

describe("createLogger", () => {
  it("writes JSON lines with ISO time, level name, service and base fields", () => {
    const { logger, records } = memoryLogger({ base: { region: "eu-west" } });
    logger.info({ answer: 42 }, "hello");
    logger.debug("not written at info");
    const [record, ...rest] = records();
    assert.equal(rest.length, 0);
    assert.equal(record?.msg, "hello");
    assert.equal(record?.level, "info");
    assert.equal(record?.service, "test-service");
    assert.equal(record?.region, "eu-west");
    assert.equal(record?.answer, 42);
    assert.equal(record?.pid, process.pid);
    assert.match(String(record?.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("carries flow, topic, partition and agent through child loggers", () => {
    const { logger, records } = memoryLogger({ level: "debug" });
    const flowLogger = withContext(logger, {
      flow: "us-east->eu-west",
      agent: "agent-1",
      topic: undefined,
    });
    const partitionLogger = withContext(flowLogger, { topic: "orders", partition: 3 });
    partitionLogger.debug({ offset: "9007199254740993" }, "batch written");
    const record = records()[0];
    assert.equal(record?.flow, "us-east->eu-west");
    assert.equal(record?.agent, "agent-1");
    assert.equal(record?.topic, "orders");
    assert.equal(record?.partition, 3);
    assert.equal(record?.offset, "9007199254740993");
    assert.equal(record?.level, "debug");
  });

  it("redacts secrets in logged configuration objects, at any depth, without touching them", () => {
    const { logger, lines, records } = memoryLogger();
    const config = Object.freeze({
      clusters: Object.freeze({ "us-east": clusterConfig }),
      redis: Object.freeze({
        url: "redis://default:redis-pw-2@127.0.0.1:6379/0",
        password: "redis-pw-3",
      }),
      token: "tok-4",
      headers: { Authorization: "Bearer tok-5" },
      list: [{ secret: "sec-6" }],
    });
    logger.info({ config }, "loaded configuration");
    logger.info({ sasl: clusterConfig.sasl, password: "top-7" }, "direct");
    const child = logger.child({ cluster: clusterConfig });
    child.warn("child bindings");
    child.child({ nested: { password: "grandchild-8" } }).error("grandchild bindings");

    const text = lines.join("");
    for (const secret of [
      "kafka-pw-1",
      "redis-pw-2",
      "redis-pw-3",
      "tok-4",
      "tok-5",
      "sec-6",
      "top-7",
      "grandchild-8",
    ]) {
      assert.ok(!text.includes(secret), `leaked ${secret}: ${text}`);
    }
    const [first, second, third, fourth] = records() as Array<Record<string, Json>>;
    assert.equal(first?.config.clusters["us-east"].sasl.password, REDACTED);
    assert.equal(first?.config.clusters["us-east"].sasl.username, "geo", "only secrets are hidden");
    assert.equal(first?.config.redis.url, `redis://default:${REDACTED}@127.0.0.1:6379/0`);
    assert.equal(first?.config.redis.password, REDACTED);
    assert.equal(first?.config.headers.Authorization, REDACTED);
    assert.equal(first?.config.list[0].secret, REDACTED);
    assert.equal(second?.sasl.password, REDACTED);
    assert.equal(second?.password, REDACTED);
    assert.equal(third?.cluster.sasl.password, REDACTED);
    assert.equal(fourth?.nested.password, REDACTED);
    assert.equal(clusterConfig.sasl.password, "kafka-pw-1", "the logged object is not modified");
  });

  it("rejects nonsense options", () => {
    assert.throws(() => createLogger({ service: "" }), /service/);
    assert.throws(() => createLogger({ service: "x", level: "loud" as never }), /level "loud"/);
  });
});

describe("redactSecrets", () => {
  it("returns objects without secrets unchanged and survives cycles", () => {
    const plain = { a: 1, b: [1, 2, { c: "x" }] };
    assert.equal(redactSecrets(plain), plain);
    const cyclic: Record<string, unknown> = { password: "p" };
    cyclic.self = cyclic;
    const redacted = redactSecrets(cyclic) as Record<string, unknown>;
    assert.equal(redacted.password, REDACTED);
    assert.equal(cyclic.password, "p");
  });
});

describe("kafkajsLogCreator", () => {
  it("maps kafkajs levels to pino with the namespace and extra fields", () => {
    const { logger, records } = memoryLogger({ level: "debug" });
    const log = kafkajsLogCreator(logger)(KAFKAJS_LOG_LEVEL.DEBUG);
    const entry = (level: number, message: string, extra: Record<string, unknown> = {}) =>
      log({
        namespace: "Connection",
        level,
        label: "x",
        log: { timestamp: "2024-01-01T00:00:00.000Z", logger: "kafkajs", message, ...extra },
      });
    entry(KAFKAJS_LOG_LEVEL.ERROR, "Connection error", {
      broker: "k1:9092",
      error: "ECONNREFUSED",
    });
    entry(KAFKAJS_LOG_LEVEL.WARN, "slow");
    entry(KAFKAJS_LOG_LEVEL.INFO, "connected");
    entry(KAFKAJS_LOG_LEVEL.DEBUG, "request", { sasl: { password: "kafka-pw-9" } });
    entry(KAFKAJS_LOG_LEVEL.NOTHING, "never");
    const written = records();
    assert.deepEqual(
      written.map((r) => [r.level, r.msg, r.namespace, r.component]),
      [
        ["error", "Connection error", "Connection", "kafkajs"],
        ["warn", "slow", "Connection", "kafkajs"],
        ["info", "connected", "Connection", "kafkajs"],
        ["debug", "request", "Connection", "kafkajs"],
      ],
    );
    assert.equal(written[0]?.broker, "k1:9092");
    assert.equal(written[0]?.error, "ECONNREFUSED");
    assert.equal(written[0]?.logger, undefined, "kafkajs's logger name is dropped");
    assert.notEqual(written[0]?.time, "2024-01-01T00:00:00.000Z", "pino stamps the time");
    assert.equal((written[3]?.sasl as { password: string } | undefined)?.password, REDACTED);
  });

  it("derives the kafkajs level from the pino level", () => {
    assert.equal(kafkajsLogLevel("silent"), KAFKAJS_LOG_LEVEL.NOTHING);
    assert.equal(kafkajsLogLevel("fatal"), KAFKAJS_LOG_LEVEL.ERROR);
    assert.equal(kafkajsLogLevel("warn"), KAFKAJS_LOG_LEVEL.WARN);
    assert.equal(kafkajsLogLevel("info"), KAFKAJS_LOG_LEVEL.INFO);
    assert.equal(kafkajsLogLevel("trace"), KAFKAJS_LOG_LEVEL.DEBUG);
  });
});
