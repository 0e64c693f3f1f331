import assert from "node:assert/strict";
import { test } from "node:test";
import { toOffset } from "@geo/positions";
import { CheckpointCache } from "./checkpoint-cache";
import {
  CheckpointFormatError,
  decodeCheckpoint,
  encodeCheckpointKey,
  encodeCheckpointValue,
} from "./mm2-checkpoint";

test("checkpoint records have MirrorMaker 2's exact bytes", () => {
  const c = {
    group: "g",
    topic: "us.t",
    partition: 3,
    upstreamOffset: toOffset(10),
    downstreamOffset: toOffset(7),
    metadata: "m",
  };
  assert.equal(
    encodeCheckpointKey(c).toString("hex"),
    ["0001", "67", "0004", "75732e74", "00000003"].join(""),
  );
  assert.equal(
    encodeCheckpointValue(c).toString("hex"),
    ["0000", "000000000000000a", "0000000000000007", "0001", "6d"].join(""),
  );
  assert.deepEqual(decodeCheckpoint(encodeCheckpointKey(c), encodeCheckpointValue(c)), c);
});

test("records of another version or truncated are refused", () => {
  const key = encodeCheckpointKey({ group: "g", topic: "t", partition: 0 });
  const value = encodeCheckpointValue({
    upstreamOffset: toOffset(1),
    downstreamOffset: toOffset(1),
    metadata: "",
  });
  const v1 = Buffer.from(value);
  v1.writeInt16BE(1, 0);
  assert.throws(() => decodeCheckpoint(key, v1), CheckpointFormatError);
  assert.throws(() => decodeCheckpoint(key, value.subarray(0, 5)), CheckpointFormatError);
  assert.throws(() => decodeCheckpoint(key, null), CheckpointFormatError);
});

test("the cache keeps the latest checkpoint; an unchanged one is confirmed, a changed one is not", () => {
  const cache = new CheckpointCache();
  const c = {
    group: "g",
    topic: "a.t",
    partition: 0,
    upstreamOffset: toOffset(5),
    downstreamOffset: toOffset(4),
  };
  cache.put("b", "a.checkpoints.internal", { ...c, metadata: "", time: 10, confirmed: 10 });
  cache.put("b", "a.checkpoints.internal", { ...c, metadata: "old", time: 5, confirmed: 5 });
  assert.equal(cache.list("b", "a.checkpoints.internal")[0]!.metadata, "");
  assert.ok(cache.confirm("b", "a.checkpoints.internal", { ...c, metadata: "" }, 20));
  assert.equal(cache.list("b", "a.checkpoints.internal", "g")[0]!.confirmed, 20);
  assert.ok(
    !cache.confirm(
      "b",
      "a.checkpoints.internal",
      { ...c, downstreamOffset: toOffset(6), metadata: "" },
      30,
    ),
  );
  assert.ok(!cache.confirm("b", "other", { ...c, metadata: "" }, 30));
  assert.equal(cache.list("b", "a.checkpoints.internal", "h").length, 0);
});
