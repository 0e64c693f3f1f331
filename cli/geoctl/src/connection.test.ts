import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { resolveConnection } from "./connection";
import { CliError, ExitCode } from "./exit-codes";

describe("resolveConnection", () => {
  const dir = mkdtempSync(join(tmpdir(), "geoctl-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "contexts.yaml");
  writeFileSync(
    file,
    [
      "current: prod",
      "contexts:",
      "  prod:",
      "    coordinator: coord.prod:7100",
      "    health: health.prod:7300",
      "    tls: { ca: /etc/ca.pem }",
      "    actor: alice",
      "  local: {}",
    ].join("\n"),
  );
  const env = { GEOCTL_CONFIG: file };

  it("takes flags over environment over the current context over defaults", () => {
    const fromContext = resolveConnection({}, env);
    assert.deepEqual(fromContext.addresses, {
      coordinator: "coord.prod:7100",
      offsets: "127.0.0.1:7200",
      health: "health.prod:7300",
    });
    assert.deepEqual(fromContext.tls, { ca: "/etc/ca.pem" });
    assert.equal(fromContext.actor, "alice");
    const fromEnv = resolveConnection({}, { ...env, GEOCTL_COORDINATOR: "env:1" });
    assert.equal(fromEnv.addresses.coordinator, "env:1");
    const fromFlag = resolveConnection(
      { coordinator: "flag:1" },
      { ...env, GEOCTL_COORDINATOR: "env:1" },
    );
    assert.equal(fromFlag.addresses.coordinator, "flag:1");
    const local = resolveConnection({ context: "local" }, env);
    assert.equal(local.addresses.coordinator, "127.0.0.1:7100");
    assert.equal(local.tls, undefined);
  });

  it("refuses an unknown context, half a client certificate and a bad timeout", () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        assert.ok(error instanceof CliError);
        return error.exitCode;
      }
      return undefined;
    };
    assert.equal(
      code(() => resolveConnection({ context: "nope" }, env)),
      ExitCode.NOT_FOUND,
    );
    assert.equal(
      code(() => resolveConnection({ cert: "c.pem" }, env)),
      ExitCode.USAGE,
    );
    assert.equal(
      code(() => resolveConnection({ timeout: "soon" }, env)),
      ExitCode.USAGE,
    );
  });

  it("works without a context file", () => {
    const none = resolveConnection({}, { GEOCTL_CONFIG: join(dir, "missing.yaml") });
    assert.equal(none.addresses.health, "127.0.0.1:7300");
    assert.equal(none.timeoutMs, 10_000);
  });
});
