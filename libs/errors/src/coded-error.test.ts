import assert from "node:assert/strict";
import { test } from "node:test";
import { CodedError, ERROR_CODE_PATTERN, isCodedError } from "./coded-error.js";

class LeaseLikeError extends CodedError<"REDIS_UNAVAILABLE" | "REDIS_ERROR"> {}

test("a coded error carries its code, retriable flag, cause and subclass name", () => {
  const cause = new Error("ECONNREFUSED");
  const error = new LeaseLikeError("REDIS_UNAVAILABLE", "renew: ECONNREFUSED", {
    retriable: true,
    cause,
  });
  assert.equal(error.name, "LeaseLikeError");
  assert.equal(error.code, "REDIS_UNAVAILABLE");
  assert.equal(error.retriable, true);
  assert.equal(error.cause, cause);
  assert.equal(error.message, "renew: ECONNREFUSED");
  assert.ok(error instanceof CodedError);
  assert.ok(error instanceof Error);
});

test("retriable defaults to false and no cause is set unless given", () => {
  const error = new CodedError("INVALID_CONFIG", "bad");
  assert.equal(error.retriable, false);
  assert.equal("cause" in error, false);
  assert.equal(error.name, "CodedError");
});

test("isCodedError recognises the shape across package copies, not plain errors", () => {
  assert.equal(isCodedError(new CodedError("X_Y", "m")), true);
  const foreign = Object.assign(new Error("m"), { code: "PORT_IN_USE", retriable: false });
  assert.equal(isCodedError(foreign), true);
  assert.equal(isCodedError(Object.assign(new Error("m"), { code: "ECONNRESET" })), false);
  assert.equal(isCodedError({ code: "X", retriable: true }), false);
});

test("codes follow the ErrorInfo.reason pattern", () => {
  assert.match("REDIS_UNAVAILABLE", ERROR_CODE_PATTERN);
  assert.doesNotMatch("redis-unavailable", ERROR_CODE_PATTERN);
});
