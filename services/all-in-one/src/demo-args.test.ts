import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDemoArgs } from "./demo-args";

describe("parseDemoArgs", () => {
  it("defaults to the built-in stack", () => {
    assert.deepEqual(parseDemoArgs([]), { drill: false, help: false });
    assert.deepEqual(parseDemoArgs(["--drill"]), { drill: true, help: false });
  });
  it("resolves --config against the working directory", () => {
    assert.deepEqual(parseDemoArgs(["--config", "my.yaml"], "/home/me"), {
      drill: false,
      help: false,
      configPath: "/home/me/my.yaml",
    });
    assert.equal(parseDemoArgs(["-c", "/etc/geo.yaml"]).configPath, "/etc/geo.yaml");
  });
  it("refuses unknown flags, stray arguments and an empty path", () => {
    assert.throws(() => parseDemoArgs(["--cofnig", "x"]), /--cofnig/);
    assert.throws(() => parseDemoArgs(["extra"]), /unexpected argument "extra"/);
    assert.throws(() => parseDemoArgs(["--config", " "]), /needs a file path/);
    assert.throws(() => parseDemoArgs(["--config", "my.yaml", "--drill"]), /geoctl drill/);
  });
});
