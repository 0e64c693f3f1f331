import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code } from "./code.js";
import { GeoError } from "./geo-error.js";
import { paginate } from "./paginate.js";

describe("paginate", () => {
  it("walks a list page by page with opaque tokens", () => {
    const items = Array.from({ length: 5 }, (_, i) => i);
    const first = paginate(items, { pageSize: 2, pageToken: "" });
    assert.deepEqual(first.items, [0, 1]);
    const second = paginate(items, { pageSize: 2, pageToken: first.nextPageToken });
    assert.deepEqual(second.items, [2, 3]);
    const last = paginate(items, { pageSize: 2, pageToken: second.nextPageToken });
    assert.deepEqual(last, { items: [4], nextPageToken: "" });
  });

  it("refuses a token it did not issue and a negative page size", () => {
    assert.throws(
      () => paginate([1], { pageSize: 0, pageToken: "bogus!" }),
      (e: unknown) =>
        e instanceof GeoError && e.code === Code.INVALID_ARGUMENT && /page_token/.test(e.message),
    );
    assert.throws(() => paginate([1], { pageSize: -1, pageToken: "" }), /page_size/);
  });

  it("takes the method's own default and maximum page sizes", () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    const sizes = { defaultSize: 5, maxSize: 8 };
    assert.equal(paginate(items, { pageSize: 0, pageToken: "" }, sizes).items.length, 5);
    assert.equal(paginate(items, { pageSize: 50, pageToken: "" }, sizes).items.length, 8);
  });
});
