import assert from "node:assert/strict";
import { test } from "node:test";
import { CoordinatorService, grpcHealthV1, Health, OffsetTranslationService } from "@geo/proto";
import { Code } from "./code.js";
import { GeoError } from "./geo-error.js";
import type { HealthProbe } from "./health-monitor.js";
import { clientFor, startServer, waitFor } from "./test-support.js";

const { HealthCheckResponse_ServingStatus: Status } = grpcHealthV1;

/** A probe whose dependency is switched up and down by the test. */
function switchableProbe(name: string, services?: readonly string[]) {
  const state = { up: true, checks: 0 };
  const probe: HealthProbe = {
    name,
    services,
    async check() {
      state.checks += 1;
      if (!state.up) throw new Error(`${name} refused the connection`);
    },
  };
  return { state, probe };
}

test("Check and Watch follow a probe: SERVING, NOT_SERVING while it fails, SERVING again", async (t) => {
  const redis = switchableProbe("redis");
  const { server, address } = await startServer((s) => s.addService(CoordinatorService, {}), {
    health: { probes: [redis.probe], intervalMs: 25 },
  });
  const client = clientFor(Health, address);
  const watchAbort = new AbortController();
  t.after(async () => {
    watchAbort.abort();
    client.close();
    await server.stop();
  });

  await waitFor(
    "SERVING",
    async () => (await client.check({ service: "" })).status === Status.SERVING,
  );

  const seen: grpcHealthV1.HealthCheckResponse_ServingStatus[] = [];
  const watching = (async () => {
    try {
      for await (const response of client.watch(
        { service: "" },
        { signal: watchAbort.signal, timeoutMs: 60_000 },
      )) {
        seen.push(response.status);
      }
    } catch (error) {
      if (!(error instanceof GeoError && error.code === Code.CANCELLED)) throw error;
    }
  })();
  await waitFor("the first watch message", () => seen.length === 1);
  assert.deepEqual(seen, [Status.SERVING]);

  redis.state.up = false;
  await waitFor("NOT_SERVING on the watch", () => seen.at(-1) === Status.NOT_SERVING);
  assert.equal((await client.check({ service: "" })).status, Status.NOT_SERVING);
  assert.equal(
    (await client.check({ service: CoordinatorService.typeName })).status,
    Status.NOT_SERVING,
  );
  assert.deepEqual(server.health.failures(), [
    { probe: "redis", message: "redis refused the connection" },
  ]);

  redis.state.up = true;
  await waitFor("SERVING again on the watch", () => seen.at(-1) === Status.SERVING);
  assert.deepEqual(seen, [Status.SERVING, Status.NOT_SERVING, Status.SERVING]);
  assert.equal((await client.check({ service: "" })).status, Status.SERVING);

  watchAbort.abort();
  await watching;
});

test("a probe scoped to one service leaves the others SERVING; the overall status follows", async (t) => {
  const kafka = switchableProbe("kafka-us-east", [OffsetTranslationService.typeName]);
  kafka.state.up = false;
  const { server, address } = await startServer(
    (s) => {
      s.addService(CoordinatorService, {});
      s.addService(OffsetTranslationService, {});
    },
    { health: { probes: [kafka.probe], intervalMs: 60_000 } },
  );
  const client = clientFor(Health, address);
  t.after(async () => {
    client.close();
    await server.stop();
  });

  await server.health.checkNow();

  assert.equal(server.health.status(CoordinatorService.typeName), "SERVING");
  assert.equal(server.health.status(OffsetTranslationService.typeName), "NOT_SERVING");
  assert.equal((await client.check({ service: "" })).status, Status.NOT_SERVING);
  const listed = await client.list({});
  assert.equal(listed.statuses[CoordinatorService.typeName]?.status, Status.SERVING);
  assert.equal(listed.statuses[OffsetTranslationService.typeName]?.status, Status.NOT_SERVING);

  // On demand: with a one-minute interval, only checkNow can have noticed the recovery.
  kafka.state.up = true;
  await server.health.checkNow();
  assert.equal((await client.check({ service: "" })).status, Status.SERVING);
});

test("not SERVING before the first answer, and a probe that hangs counts as failed", async (t) => {
  let hang = true;
  const probe: HealthProbe = {
    name: "slow",
    check: (signal) =>
      hang
        ? new Promise((_resolve, reject) =>
            signal.addEventListener("abort", () => reject(signal.reason)),
          )
        : Promise.resolve(),
  };
  const { server, address } = await startServer(() => {}, {
    health: { probes: [probe], intervalMs: 60_000, probeTimeoutMs: 50 },
  });
  const client = clientFor(Health, address);
  t.after(async () => {
    client.close();
    await server.stop();
  });

  assert.equal((await client.check({ service: "" })).status, Status.NOT_SERVING);
  await waitFor(
    "the first round to time out",
    () => server.health.failures()[0]?.message !== "not checked yet",
  );
  assert.match(server.health.failures()[0]?.message ?? "", /did not answer within 50 ms/);
  assert.equal(server.health.status(), "NOT_SERVING");

  hang = false;
  await server.health.checkNow();
  assert.equal(server.health.status(), "SERVING");
});

test("Check of an unknown service is NOT_FOUND; Watch says SERVICE_UNKNOWN and stays open", async (t) => {
  const { server, address } = await startServer(() => {});
  const client = clientFor(Health, address);
  t.after(async () => {
    client.close();
    await server.stop();
  });

  await assert.rejects(client.check({ service: "no.such.Service" }), (error: unknown) => {
    assert.ok(error instanceof GeoError);
    assert.equal(error.code, Code.NOT_FOUND);
    return true;
  });

  const watch = client.watch({ service: "no.such.Service" })[Symbol.asyncIterator]();
  const first = await watch.next();
  assert.equal(first.done, false);
  assert.equal(first.value?.status, Status.SERVICE_UNKNOWN);
  const second = await Promise.race([
    watch.next().then(() => "message or end"),
    new Promise((resolve) => setTimeout(() => resolve("still open"), 100)),
  ]);
  assert.equal(second, "still open");
  await watch.return?.();
});
