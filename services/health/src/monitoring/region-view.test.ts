// The passive-side checks' view of the flow groups, from a real region store on a real Redis:
// which cluster is passive, which flows belong, and that a transition is not a stable phase.
import assert from "node:assert/strict";
import { it } from "node:test";
import { createLogger } from "@geo/logging";
import { ordersGroupConfig } from "../testing";
import { useOrdersStore } from "../testing/region-store-fixture";
import type { MonitoredFlow } from "./monitored-flow";
import { createRegionView } from "./region-view";

const logger = createLogger({ service: "region-view-test", level: "silent" });
const CONFIG = ordersGroupConfig();
const flow = (name: string, source: string, target: string) =>
  ({ name, source, target }) as MonitoredFlow;

const fixture = useOrdersStore(logger, "view-test");

async function until(probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!probe()) {
    if (Date.now() > deadline) assert.fail("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it("follows the active region, the group's flows and transitions", async () => {
  const { store } = fixture;
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
