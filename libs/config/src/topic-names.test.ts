import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { literalPrefix } from "./filter-overlap";
import { hostPortProblem, parseHostPort } from "./host-port";
import {
  createTopicFilter,
  GEO_TOPICS,
  isHeartbeatsTopic,
  isInternalTopic,
  remoteTopicName,
} from "./topic-names";

describe("remoteTopicName", () => {
  it("prefixes with the source alias, or keeps the name for identity naming", () => {
    assert.equal(remoteTopicName({ naming: "prefix" }, "us-east", "orders"), "us-east.orders");
    assert.equal(
      remoteTopicName({ naming: "prefix" }, "eu-west", "us-east.orders"),
      "eu-west.us-east.orders",
    );
    assert.equal(remoteTopicName({ naming: "identity" }, "us-east", "orders"), "orders");
  });
});

describe("isInternalTopic", () => {
  it("recognises Kafka's, MirrorMaker 2's and the project's internal topics", () => {
    for (const name of [
      "__consumer_offsets",
      "__transaction_state",
      ".hidden",
      "us-east.checkpoints.internal",
      "mm2-offset-syncs.us-east.internal",
      "connect-offsets-internal",
      GEO_TOPICS.progress,
      GEO_TOPICS.offsetMap,
      GEO_TOPICS.checkpoints,
    ]) {
      assert.equal(isInternalTopic(name), true, name);
    }
    for (const name of [
      "orders",
      "us-east.orders",
      "internal-audit",
      "my_internal",
      GEO_TOPICS.heartbeats,
    ]) {
      assert.equal(isInternalTopic(name), false, name);
    }
  });
});

describe("heartbeats", () => {
  it("every flow carries MM2's heartbeats topics unless it excludes them", () => {
    const flow = { target: "eu-west", naming: "prefix" as const };
    const filter = createTopicFilter({ ...flow, topics: { include: ["orders"], exclude: [] } });
    assert.equal(filter("heartbeats"), true);
    assert.equal(filter("ap-south.heartbeats"), true);
    assert.equal(filter("eu-west.heartbeats"), false, "a copy from the target would loop");
    assert.equal(filter("payments"), false);
    const excluding = createTopicFilter({
      ...flow,
      topics: { include: ["orders"], exclude: ["heartbeats"] },
    });
    assert.equal(excluding("heartbeats"), false);
    assert.equal(isHeartbeatsTopic("my-heartbeats"), false);
  });
});

describe("createTopicFilter", () => {
  it("matches whole names, applies excludes, skips internal topics and copies from the target", () => {
    const filter = createTopicFilter({
      target: "eu-west",
      naming: "prefix",
      topics: { include: ["orders.*", "payments", "eu-west\\..*"], exclude: [".*\\.tmp"] },
    });
    assert.equal(filter("orders"), true);
    assert.equal(filter("orders-v2"), true);
    assert.equal(filter("orders.tmp"), false, "excluded");
    assert.equal(filter("payments"), true);
    assert.equal(filter("payments2"), false, "include patterns match the whole name");
    assert.equal(filter("my-orders"), false, "include patterns match the whole name");
    assert.equal(filter("eu-west.orders"), false, "came from the target: never sent back");
    assert.equal(filter("__consumer_offsets"), false);
  });

  it("leaves loop prevention of identity flows to the provenance header", () => {
    const filter = createTopicFilter({
      target: "eu-west",
      naming: "identity",
      topics: { include: [".*"], exclude: [] },
    });
    assert.equal(filter("eu-west.orders"), true);
  });
});

describe("literalPrefix", () => {
  it("finds the literal text a pattern's matches start with", () => {
    assert.deepEqual(literalPrefix("orders"), { prefix: "orders", exact: true });
    assert.deepEqual(literalPrefix("^orders$"), { prefix: "orders", exact: true });
    assert.deepEqual(literalPrefix("us\\.orders"), { prefix: "us.orders", exact: true });
    assert.deepEqual(literalPrefix("orders-us-.*"), { prefix: "orders-us-", exact: false });
    assert.deepEqual(literalPrefix("ab?c"), { prefix: "a", exact: false });
    assert.deepEqual(literalPrefix("ab+c"), { prefix: "ab", exact: false });
    assert.deepEqual(literalPrefix("a|b"), { prefix: "", exact: false });
    assert.deepEqual(literalPrefix("\\d+"), { prefix: "", exact: false });
  });
});

describe("host:port", () => {
  it("accepts DNS names, IPv4 and bracketed IPv6", () => {
    assert.deepEqual(parseHostPort("kafka-1.example.com:9092"), {
      host: "kafka-1.example.com",
      port: 9092,
    });
    assert.deepEqual(parseHostPort("10.0.0.5:9092"), { host: "10.0.0.5", port: 9092 });
    assert.deepEqual(parseHostPort("[::1]:9092"), { host: "::1", port: 9092 });
    assert.deepEqual(parseHostPort("0.0.0.0:0", { allowPortZero: true }), {
      host: "0.0.0.0",
      port: 0,
    });
  });

  it("says what is wrong with a bad address", () => {
    assert.match(hostPortProblem("kafka") ?? "", /not "host:port"/);
    assert.match(hostPortProblem("::1:9092") ?? "", /not "host:port"/);
    assert.match(hostPortProblem(":9092") ?? "", /no host/);
    assert.match(hostPortProblem("kafka:port") ?? "", /not a number/);
    assert.match(hostPortProblem("kafka:0") ?? "", /outside 1-65535/);
    assert.match(hostPortProblem("bad host:9092") ?? "", /invalid host "bad host"/);
    assert.match(hostPortProblem("[zz]:9092") ?? "", /IPv6/);
    assert.throws(() => parseHostPort("nope"), TypeError);
  });
});
