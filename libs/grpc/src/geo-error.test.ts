import assert from "node:assert/strict";
import { test } from "node:test";
import { Metadata } from "@grpc/grpc-js";
import { Code, codeName, codeOfStatus, isRetriableCode, statusNumber } from "./code.js";
import { GeoError, toGrpcStatus } from "./geo-error.js";

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
