import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decodeOffsetCommitResponse,
  decodeOffsetFetchResponse,
  encodeOffsetCommitRequest,
  encodeOffsetFetchRequest,
} from "./offset-commit-protocol";
import { WireWriter } from "./wire-writer";

test("OffsetCommit v5: generation -1, no member, metadata per partition; errors per partition", () => {
  const body = encodeOffsetCommitRequest("g", [
    { topic: "t", partition: 1, offset: 7n, metadata: "m" },
    { topic: "t", partition: 2, offset: 9n, metadata: null },
  ]);
  const expected = new WireWriter()
    .string("g")
    .int32(-1)
    .string("")
    .array([0], (w) => {
      w.string("t").array([1, 2], (w, p) => {
        w.int32(p)
          .int64(p === 1 ? 7n : 9n)
          .string(p === 1 ? "m" : null);
      });
    })
    .finish();
  assert.deepEqual(body, expected);
  const response = new WireWriter()
    .int32(0)
    .array([0], (w) => {
      w.string("t").array([1], (w) => {
        w.int32(1).int16(25);
      });
    })
    .finish();
  assert.deepEqual(decodeOffsetCommitResponse(response), [
    { topic: "t", partition: 1, errorCode: 25 },
  ]);
});

test("OffsetFetch v5: every topic of the group (null topics), offsets with metadata", () => {
  assert.deepEqual(encodeOffsetFetchRequest("g"), new WireWriter().string("g").int32(-1).finish());
  const response = new WireWriter()
    .int32(0)
    .array([0], (w) => {
      w.string("t").array([3], (w) => {
        w.int32(3).int64(42n).int32(-1).string("meta").int16(0);
      });
    })
    .int16(0)
    .finish();
  assert.deepEqual(decodeOffsetFetchResponse(response), {
    offsets: [{ topic: "t", partition: 3, offset: 42n, metadata: "meta", errorCode: 0 }],
    errorCode: 0,
  });
});
