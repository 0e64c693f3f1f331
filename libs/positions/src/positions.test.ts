import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  asOffset,
  compareEpochs,
  convertOr,
  type Epoch,
  epochFromProto,
  epochFromScript,
  epochToProto,
  epochToScript,
  epochToScriptNumber,
  MAX_SCRIPT_EPOCH,
  maxEpoch,
  NO_EPOCH,
  NO_OFFSET,
  offsetFromProto,
  offsetOrNoneFromProto,
  offsetToProto,
  PositionError,
  parseEpoch,
  parseOffset,
  toEpoch,
  toOffset,
  toOffsetOrNone,
} from "./index.js";

const code = (expected: string) => (error: unknown) =>
  error instanceof PositionError && error.code === expected && !error.retriable;

describe("Epoch", () => {
  it("is the same bigint whatever it was made from", () => {
    assert.equal(toEpoch(7), 7n);
    assert.equal(toEpoch(7n), 7n);
    assert.equal(parseEpoch("7"), 7n);
    assert.equal(epochFromProto("7", "epoch"), 7n);
    assert.equal(epochFromScript("7"), 7n);
    assert.equal(epochFromScript(7), 7n);
    assert.equal(NO_EPOCH, 0n);
    assert.equal(parseEpoch("9223372036854775807"), 2n ** 63n - 1n);
  });

  it("refuses what is not a non-negative whole int64, naming the field", () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1, -1n, 2n ** 63n]) {
      assert.throws(() => toEpoch(bad), code("INVALID_EPOCH"));
    }
    for (const bad of [
      "",
      "-1",
      "1e3",
      "0x10",
      " 1",
      "1.0",
      "9223372036854775808",
      "12345678901234567890",
    ]) {
      assert.throws(() => parseEpoch(bad), code("INVALID_EPOCH"), bad);
    }
    assert.throws(
      () => epochFromProto("x", "assigned.epoch"),
      /assigned\.epoch must be a whole number/,
    );
    assert.throws(() => parseEpoch(7 as unknown as string), code("INVALID_EPOCH"));
  });

  it("orders and compares by value", () => {
    const [a, b] = [toEpoch(2), toEpoch(10)];
    assert.equal(compareEpochs(a, b), -1);
    assert.equal(compareEpochs(b, a), 1);
    assert.equal(compareEpochs(a, toEpoch(2)), 0);
    assert.equal(maxEpoch(a, b), b);
    assert.equal(toEpoch(3) === parseEpoch("3"), true);
  });

  it("goes into Redis scripts only as far as a Lua double stays exact", () => {
    assert.equal(epochToScript(toEpoch(41)), "41");
    assert.equal(epochToScriptNumber(toEpoch(41)), 41);
    assert.equal(epochToScript(MAX_SCRIPT_EPOCH as Epoch), "9007199254740990");
    assert.throws(
      () => epochToScript((MAX_SCRIPT_EPOCH + 1n) as Epoch, "minEpoch"),
      /minEpoch must be a bigint from 0 to 9007199254740990/,
    );
    assert.throws(() => epochToScript(5 as unknown as Epoch), code("INVALID_EPOCH"));
    // A script answers the successor of the highest epoch it was given.
    assert.equal(epochFromScript("9007199254740991"), 9007199254740991n);
    for (const bad of [null, undefined, "", "1e+15", -1, "-1", "9007199254740992", [1]]) {
      assert.throws(() => epochFromScript(bad, "grant reply"), code("INVALID_EPOCH"), String(bad));
    }
  });

  it("round-trips through its proto and script forms", () => {
    for (const n of [0n, 1n, 123456789n, MAX_SCRIPT_EPOCH]) {
      const epoch = toEpoch(n);
      assert.equal(epochFromProto(epochToProto(epoch), "epoch"), epoch);
      assert.equal(epochFromScript(epochToScript(epoch)), epoch);
    }
  });
});

describe("Offset", () => {
  it("is a bigint from 0 to 2^63-1, and -1 only where none is allowed", () => {
    assert.equal(toOffset(0), 0n);
    assert.equal(parseOffset("9223372036854775807"), 2n ** 63n - 1n);
    assert.equal(toOffsetOrNone(-1), NO_OFFSET);
    assert.equal(offsetOrNoneFromProto("-1", "last_target_offset"), NO_OFFSET);
    assert.throws(() => toOffset(-1), code("INVALID_OFFSET"));
    assert.throws(() => toOffsetOrNone(-2n), code("INVALID_OFFSET"));
    assert.throws(
      () => offsetFromProto("-1", "offsets[0].offset"),
      /offsets\[0\]\.offset must be a whole number from 0/,
    );
    assert.throws(() => parseOffset("9223372036854775808"), code("INVALID_OFFSET"));
    assert.throws(() => parseOffset("abc"), code("INVALID_OFFSET"));
  });

  it("round-trips through its proto form, and names arithmetic results without a copy", () => {
    const offset = toOffset(1234567890123n);
    assert.equal(offsetFromProto(offsetToProto(offset), "offset"), offset);
    const next = offset + 1n;
    assert.equal(asOffset(next), 1234567890124n);
  });
});

describe("convertOr", () => {
  it("reports a bad value as the edge's own error, and passes other errors through", () => {
    class EdgeError extends Error {}
    assert.throws(
      () =>
        convertOr(
          () => parseEpoch("x", "reply"),
          (error) => new EdgeError(error.message),
        ),
      (error: unknown) => error instanceof EdgeError && /reply must be/.test(error.message),
    );
    assert.equal(
      convertOr(
        () => parseEpoch("5"),
        () => new EdgeError("unused"),
      ),
      5n,
    );
    const other = new TypeError("other");
    assert.throws(
      () =>
        convertOr(
          () => {
            throw other;
          },
          () => new EdgeError("unused"),
        ),
      (error: unknown) => error === other,
    );
  });
});
