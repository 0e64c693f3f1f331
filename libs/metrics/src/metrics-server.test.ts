import assert from "node:assert/strict";
import { test } from "node:test";
import { Counter, createMetricsRegistry, startMetricsServer } from "./index";

test("serves the registry in Prometheus text format with the service label", async () => {
  const registry = createMetricsRegistry("coordinator");
  const requests = new Counter({
    name: "geo_test_requests_total",
    help: "test",
    registers: [registry],
  });
  requests.inc(3);
  const server = await startMetricsServer({ listen: "127.0.0.1:0", registry });
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(response.status, 200);
    const body = await response.text();
    assert.match(body, /geo_test_requests_total\{service="coordinator"\} 3/);
    assert.match(body, /process_cpu_seconds_total\{service="coordinator"\}/);
    const other = await fetch(`http://127.0.0.1:${server.port}/other`);
    assert.equal(other.status, 404);
  } finally {
    await server.close();
  }
});

test("refuses a listen address that is not host:port", async () => {
  await assert.rejects(
    startMetricsServer({ listen: "9464", registry: createMetricsRegistry("x") }),
    /not host:port/,
  );
});
