import assert from "node:assert/strict";
import { test } from "node:test";
import { CommitRecordError, decodeConsumerOffsetsRecord } from "./commit-record";

const hex = (...parts: string[]) => Buffer.from(parts.join(""), "hex");
/** Key type 1 (OffsetCommitKey): group "g1", topic "orders", partition 5. */
const KEY = hex("0001", "0002", "6731", "0006", "6f7264657273", "00000005");
const OFFSET = "000000000000012c"; // 300
const TIME = "0000018c0aa1b2c3";
const TIME_MS = 0x18c0aa1b2c3;

test("offset commit values of versions 0 to 4 decode to the same commit", () => {
  const values = {
    v0: hex("0000", OFFSET, "0002", "6d64", TIME),
    v1: hex("0001", OFFSET, "0002", "6d64", TIME, "ffffffffffffffff"),
    v2: hex("0002", OFFSET, "0002", "6d64", TIME),
    v3: hex("0003", OFFSET, "00000007", "0002", "6d64", TIME),
    // Flexible: compact string (length + 1 as an unsigned varint), then empty tagged fields.
    v4: hex("0004", OFFSET, "00000007", "03", "6d64", TIME, "00"),
  };
  for (const [version, value] of Object.entries(values)) {
    assert.deepEqual(
      decodeConsumerOffsetsRecord(KEY, value),
      {
        kind: "commit",
        group: "g1",
        topic: "orders",
        partition: 5,
        offset: 300n,
        metadata: "md",
        commitTimestamp: TIME_MS,
      },
      version,
    );
  }
});

test("a legacy key (type 0) is an offset commit too; a null value deletes it", () => {
  const legacy = Buffer.from(KEY);
  legacy.writeInt16BE(0, 0);
  assert.equal(
    decodeConsumerOffsetsRecord(legacy, hex("0000", OFFSET, "0000", TIME)).kind,
    "commit",
  );
  assert.deepEqual(decodeConsumerOffsetsRecord(KEY, null), {
    kind: "deleted",
    group: "g1",
    topic: "orders",
    partition: 5,
  });
});

test("group metadata and the newer protocols' records are other records", () => {
  const groupKey = hex("0002", "0002", "6731");
  assert.deepEqual(decodeConsumerOffsetsRecord(groupKey, hex("0003")), {
    kind: "other",
    keyType: 2,
  });
  assert.deepEqual(decodeConsumerOffsetsRecord(hex("0005", "00"), null), {
    kind: "other",
    keyType: 5,
  });
});

test("truncated, keyless and unknown-version records are refused", () => {
  const bad: [Buffer | null, Buffer | null][] = [
    [null, hex("0000", OFFSET, "0000", TIME)],
    [hex("00"), null],
    [KEY.subarray(0, KEY.length - 2), null],
    [KEY, hex("0000", OFFSET, "0005", "6d64")],
    [KEY, hex("0009", OFFSET, "0000", TIME)],
    [KEY, hex("0004", OFFSET, "00000007", "00", TIME, "00")],
    [KEY, hex("0004", OFFSET, "00000007", "ffffffffff7f")],
  ];
  for (const [key, value] of bad) {
    assert.throws(
      () => decodeConsumerOffsetsRecord(key, value),
      CommitRecordError,
      `${key?.toString("hex")} / ${value?.toString("hex")}`,
    );
  }
});
