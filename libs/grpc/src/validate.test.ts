import assert from "node:assert/strict";
import { test } from "node:test";
import { replicationV1 } from "@geo/proto";
import { Code } from "./code.js";
import { GeoError } from "./geo-error.js";
import {
  pageSize,
  requireEnum,
  requireInt64,
  requireNonEmpty,
  requirePresent,
} from "./validate.js";

function refusal(run: () => unknown): GeoError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof GeoError);
    assert.equal(error.code, Code.INVALID_ARGUMENT);
    return error;
  }
  assert.fail("expected INVALID_ARGUMENT");
}

test("required strings and messages name the missing field", () => {
  assert.equal(requireNonEmpty("orders", "flow.name"), "orders");
  assert.equal(refusal(() => requireNonEmpty("", "flow.name")).message, "flow.name: is required");
  assert.deepEqual(refusal(() => requirePresent(undefined, "flow")).details, { field: "flow" });
});

test("int64 strings parse exactly and out-of-range values are refused", () => {
  assert.equal(requireInt64("9007199254740993", "offset"), 9007199254740993n);
  assert.equal(requireInt64("-1", "offset"), -1n);
  assert.equal(requireInt64("9223372036854775807", "offset"), 2n ** 63n - 1n);
  assert.match(refusal(() => requireInt64("9223372036854775808", "offset")).message, /int64 range/);
  assert.match(
    refusal(() => requireInt64("12a", "offset")).message,
    /^offset: "12a" is not an integer/,
  );
  assert.match(refusal(() => requireInt64("", "offset")).message, /not an integer/);
  assert.match(refusal(() => requireInt64("-1", "offset", { min: 0n })).message, /at least 0/);
});

test("enums refuse unknown numbers and, unless allowed, UNSPECIFIED", () => {
  const { NamingPolicy, NamingPolicySchema } = replicationV1;
  assert.equal(requireEnum(NamingPolicy.IDENTITY, NamingPolicySchema, "flow.naming_policy"), 2);
  assert.equal(
    requireEnum(NamingPolicy.UNSPECIFIED, NamingPolicySchema, "flow.naming_policy", {
      allowUnspecified: true,
    }),
    0,
  );
  assert.match(
    refusal(() => requireEnum(NamingPolicy.UNSPECIFIED, NamingPolicySchema, "flow.naming_policy"))
      .message,
    /flow\.naming_policy: is required \(one of NAMING_POLICY_PREFIX, NAMING_POLICY_IDENTITY\)/,
  );
  assert.match(
    refusal(() =>
      requireEnum(7 as replicationV1.NamingPolicy, NamingPolicySchema, "flow.naming_policy"),
    ).message,
    /7 is not a value of geo\.replication\.v1\.NamingPolicy/,
  );
});

test("page sizes default, cap and refuse negatives", () => {
  const limits = { defaultSize: 100, maxSize: 1000 };
  assert.equal(pageSize(0, "page_size", limits), 100);
  assert.equal(pageSize(50, "page_size", limits), 50);
  assert.equal(pageSize(5000, "page_size", limits), 1000);
  refusal(() => pageSize(-1, "page_size", limits));
});
