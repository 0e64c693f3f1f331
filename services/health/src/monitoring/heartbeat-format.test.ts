import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeHeartbeat, encodeHeartbeatKey, encodeHeartbeatValue } from "./heartbeat-format";

test("heartbeats are MM2's bytes: INT16-length strings, then version 0 and an int64 timestamp", () => {
  const key = encodeHeartbeatKey("us-east", "eu-west");
  assert.equal(key.toString("hex"), `0007${hex("us-east")}0007${hex("eu-west")}`);
  const value = encodeHeartbeatValue(1_750_000_000_123);
  assert.equal(value.toString("hex"), `0000${(1_750_000_000_123).toString(16).padStart(16, "0")}`);
  assert.deepEqual(decodeHeartbeat(key, value), {
    sourceClusterAlias: "us-east",
    targetClusterAlias: "eu-west",
    timestamp: 1_750_000_000_123,
  });
});

test("records that are not heartbeats are recognised as such", () => {
  const key = encodeHeartbeatKey("a", "b");
  assert.equal(decodeHeartbeat(null, encodeHeartbeatValue(1)), undefined);
  assert.equal(decodeHeartbeat(key, null), undefined);
  assert.equal(decodeHeartbeat(key, Buffer.from("not a heartbeat")), undefined);
  const version1 = encodeHeartbeatValue(1);
  version1.writeInt16BE(1, 0);
  assert.equal(decodeHeartbeat(key, version1), undefined);
  assert.equal(decodeHeartbeat(Buffer.from([0, 9, 1]), encodeHeartbeatValue(1)), undefined);
  assert.equal(
    decodeHeartbeat(Buffer.concat([key, Buffer.from([0])]), encodeHeartbeatValue(1)),
    undefined,
  );
});

const hex = (text: string) => Buffer.from(text).toString("hex");
