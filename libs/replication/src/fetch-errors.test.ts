import assert from "node:assert/strict";
import { test } from "node:test";
import { KafkaWireError, OffsetOutOfRangeError } from "@geo/kafka-wire";
import { RecordBatchError } from "@geo/record-batch";
import { batchErrorAction, fetchErrorAction } from "./fetch-errors";

const outOfRange = (logStartOffset: bigint, highWatermark: bigint) =>
  new OffsetOutOfRangeError("t", 3, 7n, { logStartOffset, highWatermark });

test("out of range follows the flow's policy: fail, or jump to the log's start or end", () => {
  const failed = fetchErrorAction(outOfRange(10n, 50n), "fail", "t", 3);
  assert.equal(failed.kind, "fail");
  assert.equal(failed.kind === "fail" && failed.code, "OFFSET_OUT_OF_RANGE");
  assert.match(
    failed.reason,
    /source offset 7 of t-3 is out of range \(log start 10, high watermark 50\); onOffsetOutOfRange=fail/,
  );
  assert.deepEqual(
    { ...fetchErrorAction(outOfRange(10n, 50n), "earliest", "t", 3), reason: "" },
    { kind: "jump", reason: "", from: 7n, to: 10n, policy: "earliest" },
  );
  const latest = fetchErrorAction(outOfRange(10n, 50n), "latest", "t", 3);
  assert.equal(latest.kind === "jump" && latest.to, 50n);
  assert.match(latest.reason, /jumped to 50 \(onOffsetOutOfRange=latest\)/);
});

test("out of range with unknown bounds backs off instead of jumping", () => {
  const action = fetchErrorAction(outOfRange(-1n, -1n), "earliest", "t", 3);
  assert.equal(action.kind, "backoff");
  assert.match(action.reason, /the log's bounds could not be listed, retrying/);
});

test("retriable fetch errors back off; others stop the unit with their code", () => {
  const retriable = new KafkaWireError("NOT_LEADER_OR_FOLLOWER", "moved", { retriable: true });
  assert.deepEqual(fetchErrorAction(retriable, "fail", "t", 0), {
    kind: "backoff",
    reason: "fetching from the source: moved",
  });
  const fatal = new KafkaWireError("TOPIC_AUTHORIZATION_FAILED", "denied", { retriable: false });
  assert.deepEqual(fetchErrorAction(fatal, "fail", "t", 0), {
    kind: "fail",
    reason: "source: denied",
    code: "TOPIC_AUTHORIZATION_FAILED",
  });
});

test("a batch that cannot be decoded: retried when the error is retriable, else INVALID_RECORD or its code", () => {
  const crc = new RecordBatchError("CORRUPT_RECORD", "crc", { retriable: true });
  assert.equal(batchErrorAction(crc).kind, "backoff");
  const bad = new RecordBatchError("UNSUPPORTED_MAGIC", "magic 1", { retriable: false });
  assert.deepEqual(batchErrorAction(bad), {
    kind: "fail",
    reason: "decoding a source batch: magic 1",
    code: "UNSUPPORTED_MAGIC",
  });
  assert.equal(
    batchErrorAction(new Error("boom")).kind === "fail" &&
      (batchErrorAction(new Error("boom")) as { code: string }).code,
    "INVALID_RECORD",
  );
});
