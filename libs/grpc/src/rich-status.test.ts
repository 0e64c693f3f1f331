import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack, DurationSchema, durationFromMs } from "@bufbuild/protobuf/wkt";
import { googleRpc } from "@geo/proto";
import { decodeStatusDetails, ERROR_DOMAIN, encodeStatusDetails } from "./rich-status.js";

const typeUrl = (name: string) => `type.googleapis.com/google.rpc.${name}`;

test("encodes a google.rpc.Status with ErrorInfo, BadRequest and RetryInfo as Any details", () => {
  const bytes = encodeStatusDetails(
    { code: 3, message: "flow.name: is required" },
    {
      reason: "INVALID_ARGUMENT",
      domain: ERROR_DOMAIN,
      metadata: { field: "flow.name" },
      fieldViolations: [{ field: "flow.name", description: "is required" }],
      retryDelayMs: 1500,
    },
  );
  // What any client library decodes: the googleapis messages, by their type URLs.
  const status = fromBinary(googleRpc.StatusSchema, bytes);
  assert.equal(status.code, 3);
  assert.equal(status.message, "flow.name: is required");
  assert.deepEqual(
    status.details.map((any) => any.typeUrl),
    [typeUrl("ErrorInfo"), typeUrl("BadRequest"), typeUrl("RetryInfo")],
  );
  const info = fromBinary(googleRpc.ErrorInfoSchema, status.details[0]?.value ?? new Uint8Array());
  assert.equal(info.reason, "INVALID_ARGUMENT");
  assert.equal(info.domain, "geo-replication");
  assert.deepEqual(info.metadata, { field: "flow.name" });
  const retry = fromBinary(googleRpc.RetryInfoSchema, status.details[2]?.value ?? new Uint8Array());
  assert.equal(retry.retryDelay?.seconds, 1n);
  assert.equal(retry.retryDelay?.nanos, 500_000_000);
});

test("decodes what it encodes; no BadRequest or RetryInfo unless there is something to say", () => {
  const details = {
    reason: "REDIS_UNAVAILABLE",
    domain: ERROR_DOMAIN,
    metadata: { group: "orders", cluster: "eu-west" },
    fieldViolations: [
      { field: "a", description: "is required" },
      { field: "b[2]", description: "must be at least 1, got 0" },
    ],
    retryDelayMs: 250,
  };
  assert.deepEqual(
    decodeStatusDetails(encodeStatusDetails({ code: 14, message: "m" }, details)),
    details,
  );

  const plain = { ...details, metadata: {}, fieldViolations: [], retryDelayMs: undefined };
  const bytes = encodeStatusDetails({ code: 9, message: "m" }, plain);
  assert.equal(fromBinary(googleRpc.StatusSchema, bytes).details.length, 1);
  assert.deepEqual(decodeStatusDetails(bytes), plain);
});

test("garbage is undefined, an unknown detail type is skipped", () => {
  assert.equal(decodeStatusDetails(Uint8Array.of(0xff, 0xff, 0xff)), undefined);
  // A status whose only detail is of a type this system does not send.
  const foreign = toBinary(
    googleRpc.StatusSchema,
    create(googleRpc.StatusSchema, {
      code: 13,
      message: "x",
      details: [anyPack(DurationSchema, durationFromMs(5))],
    }),
  );
  assert.deepEqual(decodeStatusDetails(foreign), {
    reason: "",
    domain: "",
    metadata: {},
    fieldViolations: [],
    retryDelayMs: undefined,
  });
});
