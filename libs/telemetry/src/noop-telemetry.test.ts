import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startTelemetry } from "./start-telemetry";

describe("startTelemetry when not enabled", () => {
  it("returns a no-op handle without loading the SDK", async () => {
    const handle = startTelemetry({ serviceName: "geo-test" });
    assert.equal(handle.enabled, false);
    await handle.flush();
    await handle.shutdown();
    assert.equal(startTelemetry({ serviceName: "geo-test", enabled: false }).enabled, false);
    const loaded = Object.keys(require.cache).filter((file) =>
      /@opentelemetry[\\/](sdk-node|exporter-trace-otlp-grpc|instrumentation-)/.test(file),
    );
    assert.deepEqual(loaded, []);
  });

  it("rejects nonsense options", () => {
    assert.throws(() => startTelemetry({ serviceName: "" }), /serviceName/);
    assert.throws(
      () => startTelemetry({ serviceName: "x", otlpEndpoint: "collector:4317" }),
      /http\(s\) URL/,
    );
  });
});
