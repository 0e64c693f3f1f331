// The passive-side checks' view of the flow groups, from a real region store on a real Redis:
// which cluster is passive, which flows belong, and that a transition is not a stable phase.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import type { FlowGroupConfig } from "@geo/config";
import { type RedisServer, startRedis } from "@geo/local-runtime";
import { createLogger } from "@geo/logging";
import { createRedisClient, type Redis } from "@geo/redis";
import { createMemoryRegionLog, createRegionStore, type RegionStore } from "@geo/region-state";
import type { MonitoredFlow } from "./monitored-flow";
import { createRegionView } from "./region-view";

const logger = createLogger({ service: "region-view-test", level: "silent" });
const CONFIG: FlowGroupConfig = {
  name: "orders",
  clusters: ["us-east", "eu-west"],
  flows: [],
  initialActive: "us-east",
  consumerGroups: [],
  drainTimeoutMs: 2000,
  autoFailover: { enabled: false, unreachableForMs: 60_000 },
  passiveProtection: { reconcileIntervalMs: 0 },
  catchUpTimeoutMs: 2000,
  failoverAfterProbeFailures: 3,
};
const flow = (name: string, source: string, target: string) =>
  ({ name, source, target }) as MonitoredFlow;

let server: RedisServer;
let redis: Redis;
let store: RegionStore;

before(async () => {
  server = await startRedis();
  redis = createRedisClient({ url: server.url, keyPrefix: "" }, { logger, name: "view-test" });
  store = createRegionStore({
    redis,
    keyPrefix: "view-test:",
    groups: [
      {
        name: "orders",
        regions: [
          { region: "us-east", cluster: "us-east", bootstrapServers: ["127.0.0.1:1"] },
          { region: "eu-west", cluster: "eu-west", bootstrapServers: ["127.0.0.1:2"] },
        ],
        initialActive: "us-east",
      },
    ],
    log: createMemoryRegionLog(),
    logger,
  });
  store.start();
});

after(async () => {
  await store?.close();
  redis?.disconnect();
  await server?.stop();
});

async function until(probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!probe()) {
    if (Date.now() > deadline) assert.fail("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it("follows the active region, the group's flows and transitions", async () => {
  const view = createRegionView(store, [CONFIG], logger);
  const named = createRegionView(store, [{ ...CONFIG, flows: ["east-west"] }], logger);
  try {
    await until(() => view.ready() && view.groups().length === 1);
    const [group] = view.groups();
    assert.equal(group!.activeCluster, "us-east");
    assert.equal(group!.passiveCluster, "eu-west");
    assert.equal(group!.stable, true);
    assert.equal(group!.includes(flow("any", "us-east", "eu-west")), true);
    assert.equal(group!.includes(flow("back", "eu-west", "us-east")), true);
    assert.equal(group!.includes(flow("other", "us-east", "ap-south")), false);
    await until(() => named.groups().length === 1);
    assert.equal(named.groups()[0]!.includes(flow("any", "us-east", "eu-west")), false);
    assert.equal(named.groups()[0]!.includes(flow("east-west", "us-east", "eu-west")), true);

    const state = await store.begin(
      {
        flowGroup: "orders",
        kind: "switchover",
        toRegion: "eu-west",
        expectedEpoch: (await store.get("orders")).epoch,
        actor: "test",
        reason: "region view",
      },
      "switching-over",
    );
    await until(() => view.groups()[0]?.stable === false);
    await store.finish("orders", state.transition!.id, {
      outcome: "succeeded",
      flip: true,
      phase: "stable",
    });
    await until(() => view.groups()[0]?.activeCluster === "eu-west");
    assert.equal(view.groups()[0]!.passiveCluster, "us-east");
    assert.equal(view.groups()[0]!.stable, true);
    assert.ok(view.groups()[0]!.epoch > group!.epoch);
  } finally {
    view.close();
    named.close();
  }
});
