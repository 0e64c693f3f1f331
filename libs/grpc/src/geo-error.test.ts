import assert from "node:assert/strict";
import { test } from "node:test";
import { CodedError } from "@geo/errors";
import { Metadata } from "@grpc/grpc-js";
import { Code, codeName, codeOfStatus, isRetriableCode, statusNumber } from "./code.js";
import { DEFAULT_RETRY_DELAY_MS, GeoError, toGrpcStatus } from "./geo-error.js";
import { invalidArgument } from "./validate.js";

test("codes mirror gRPC's numbers, and the retriable default follows the code", () => {
  assert.equal(statusNumber(Code.INVALID_ARGUMENT), 3);
  assert.equal(statusNumber(Code.UNAVAILABLE), 14);
  assert.equal(statusNumber(Code.UNAUTHENTICATED), 16);
  assert.equal(codeOfStatus(9), Code.FAILED_PRECONDITION);
  assert.equal(codeOfStatus(17), undefined);
  assert.equal(codeName(Code.FAILED_PRECONDITION), "FAILED_PRECONDITION");
  assert.equal(isRetriableCode(Code.UNAVAILABLE), true);
  assert.equal(isRetriableCode(Code.INVALID_ARGUMENT), false);
  assert.equal(new GeoError(Code.ABORTED, "stale version").retriable, true);
  assert.equal(new GeoError(Code.UNAVAILABLE, "x", { retriable: false }).retriable, false);
  assert.equal(
    String(new GeoError(Code.NOT_FOUND, "no flow x")),
    "GeoError [NOT_FOUND]: no flow x",
  );
});

test("from() normalises anything caught", () => {
  const original = new GeoError(Code.NOT_FOUND, "no flow x");
  assert.equal(GeoError.from(original), original);

  const abort = GeoError.from(new DOMException("aborted", "AbortError"));
  assert.equal(abort.code, Code.CANCELLED);
  const timeout = GeoError.from(new DOMException("timed out", "TimeoutError"));
  assert.equal(timeout.code, Code.DEADLINE_EXCEEDED);

  const kafkaLike = Object.assign(new Error("Connection refused"), { retriable: true });
  const transient = GeoError.from(kafkaLike);
  assert.equal(transient.code, Code.UNAVAILABLE);
  assert.equal(transient.retriable, true);
  assert.equal(transient.cause, kafkaLike);

  const bug = GeoError.from(new RangeError("index 7 out of range"));
  assert.equal(bug.code, Code.INTERNAL);
  assert.equal(bug.message, "internal error: index 7 out of range");
  assert.equal(bug.retriable, false);

  assert.equal(GeoError.from("a string").message, "internal error: a string");
});

test("a status sent by a server comes back with code, message, flag and details", () => {
  const sent = new GeoError(Code.FAILED_PRECONDITION, "flow x is owned by flows.yaml", {
    retriable: true,
    details: { file: "flows.yaml" },
  });
  const status = toGrpcStatus(sent);
  // What grpc-js hands a client: an Error with code, details and the trailers.
  const received = Object.assign(new Error(`9 FAILED_PRECONDITION: ${status.details}`), status);

  const error = GeoError.from(received);

  assert.equal(error.code, Code.FAILED_PRECONDITION);
  assert.equal(error.message, "flow x is owned by flows.yaml");
  assert.equal(error.retriable, true);
  assert.deepEqual(error.details, { file: "flows.yaml" });
  assert.equal(error.reason, "FAILED_PRECONDITION");
  assert.equal(error.retryDelayMs, DEFAULT_RETRY_DELAY_MS);
});

test("the status travels in grpc-status-details-bin: reason, field violations, retry delay", () => {
  const leaseError = new CodedError("REDIS_UNAVAILABLE", "ECONNREFUSED", { retriable: true });
  const unavailable = new GeoError(Code.UNAVAILABLE, "Redis is unreachable", {
    cause: leaseError,
    retryDelayMs: 2000,
    details: { members: ["a", "b"], epoch: 7n },
  });
  assert.equal(unavailable.reason, "REDIS_UNAVAILABLE");
  const status = toGrpcStatus(unavailable);
  assert.equal(status.code, 14);
  assert.deepEqual(status.metadata.getMap(), {
    "grpc-status-details-bin": status.metadata.get("grpc-status-details-bin")[0],
  });
  const received = GeoError.from(Object.assign(new Error("14 UNAVAILABLE"), status));
  assert.equal(received.reason, "REDIS_UNAVAILABLE");
  assert.equal(received.retryDelayMs, 2000);
  // Metadata values are strings on the wire: anything else arrives as JSON.
  assert.deepEqual(received.details, { members: '["a","b"]', epoch: '"7"' });

  const invalid = GeoError.from(
    Object.assign(
      new Error("3 INVALID_ARGUMENT"),
      toGrpcStatus(invalidArgument("flow.name", "is required")),
    ),
  );
  assert.equal(invalid.code, Code.INVALID_ARGUMENT);
  assert.equal(invalid.reason, "INVALID_ARGUMENT");
  assert.equal(invalid.retriable, false);
  assert.equal(invalid.retryDelayMs, undefined);
  assert.deepEqual(invalid.fieldViolations, [{ field: "flow.name", description: "is required" }]);
  assert.deepEqual(invalid.details, { field: "flow.name" });

  // Retriable by code, but the server said it is not: no RetryInfo, and the client believes it.
  const final = new GeoError(Code.UNAVAILABLE, "region retired", { retriable: false });
  const finalReceived = GeoError.from(Object.assign(new Error("14"), toGrpcStatus(final)));
  assert.equal(finalReceived.retriable, false);
});

test("a malformed status trailer loses the details only", () => {
  const metadata = new Metadata();
  metadata.set("grpc-status-details-bin", Buffer.from([0xff, 0xff]));
  const error = GeoError.from(
    Object.assign(new Error("10 ABORTED"), { code: 10, details: "stale version", metadata }),
  );
  assert.equal(error.code, Code.ABORTED);
  assert.equal(error.message, "stale version");
  assert.equal(error.retriable, true);
  assert.equal(error.reason, "ABORTED");
});

test("a status from a foreign server (no trailer) still maps by code", () => {
  const received = Object.assign(new Error("14 UNAVAILABLE: connection refused"), {
    code: 14,
    details: "connection refused",
    metadata: new Metadata(),
  });
  const error = GeoError.from(received);
  assert.equal(error.code, Code.UNAVAILABLE);
  assert.equal(error.message, "connection refused");
  assert.equal(error.retriable, true);
  assert.equal(error.details, undefined);
});
