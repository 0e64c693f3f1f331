import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { parseConfig } from "@geo/config";
import { Code, GeoError } from "@geo/grpc";
import { createLogger } from "@geo/logging";
import { coordinatorV1, replicationV1 } from "@geo/proto";
import { createFlowCatalog } from "./flow-catalog";

const config = parseConfig(
  [
    "clusters:",
    "  a: { bootstrapServers: ['127.0.0.1:1'] }",
    "  b: { bootstrapServers: ['127.0.0.1:2'] }",
    "flows:",
    "  - { source: a, target: b, topics: { include: ['orders.*'] } }",
  ].join("\n"),
  { env: {} },
);
const logger = createLogger({ service: "test", level: "silent" });

function flowMessage(name: string, version: number, naming = replicationV1.NamingPolicy.PREFIX) {
  return create(coordinatorV1.FlowSchema, {
    name,
    sourceCluster: "b",
    targetCluster: "a",
    topics: { include: ["x.*"], exclude: ["x-skip"] },
    namingPolicy: naming,
    version: String(version),
  });
}

/** A coordinator that answers with `pages` of flows, or fails while `failing` is set. */
function fakeCoordinator(pages: coordinatorV1.Flow[][]) {
  const state = { pages, failing: false, calls: 0, closed: false };
  const client = {
    async listFlows(request: { pageToken?: string }) {
      state.calls += 1;
      if (state.failing)
        throw new GeoError(Code.UNAVAILABLE, "coordinator away", { retriable: true });
      const index = request.pageToken ? Number(request.pageToken) : 0;
      const next = index + 1 < state.pages.length ? String(index + 1) : "";
      return create(coordinatorV1.ListFlowsResponseSchema, {
        flows: state.pages[index] ?? [],
        nextPageToken: next,
      });
    },
    close() {
      state.closed = true;
    },
  };
  return { state, client };
}

async function until(condition: () => boolean, what: string) {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("createFlowCatalog", () => {
  it("stands in with the file's flows until the coordinator answers", async () => {
    const { state, client } = fakeCoordinator([]);
    state.failing = true;
    const catalog = createFlowCatalog({ config, logger, client, refreshIntervalMs: 10 });
    await catalog.ready(50);
    assert.equal(catalog.fromCoordinator, false);
    const flow = catalog.get("a->b");
    assert.ok(flow);
    assert.equal(flow.remoteTopic("orders"), "a.orders");
    assert.equal(flow.replicates("orders-eu"), true);
    assert.equal(flow.replicates("payments"), false);
    assert.equal(flow.replicates("b.orders"), false, "a copy from the target would loop back");
    await catalog.close();
    assert.equal(state.closed, true);
  });

  it("reads every page, tells listeners of changes, and keeps the last flows through errors", async () => {
    const { state, client } = fakeCoordinator([
      [flowMessage("one", 1)],
      [flowMessage("two", 3, replicationV1.NamingPolicy.IDENTITY)],
    ]);
    const seen: string[][] = [];
    const catalog = createFlowCatalog({ config, logger, client, refreshIntervalMs: 10 });
    catalog.onChange((flows) => seen.push(flows.map((f) => `${f.name}@${f.version}`)));
    await catalog.ready(5_000);
    assert.equal(catalog.fromCoordinator, true);
    assert.deepEqual(
      catalog.list().map((f) => f.name),
      ["one", "two"],
    );
    assert.equal(catalog.get("two")?.remoteTopic("x1"), "x1");
    assert.equal(catalog.get("one")?.remoteTopic("x1"), "b.x1");
    assert.equal(catalog.get("one")?.replicates("x-skip"), false);
    assert.equal(catalog.get("a->b"), undefined, "the coordinator's answer replaces the file's");

    state.failing = true;
    const callsAtFailure = state.calls;
    await until(() => state.calls > callsAtFailure + 2, "retries");
    assert.deepEqual(
      catalog.list().map((f) => f.name),
      ["one", "two"],
    );

    state.pages = [[flowMessage("one", 2)]];
    state.failing = false;
    await until(() => catalog.get("two") === undefined, "the new list");
    assert.equal(catalog.get("one")?.version, 2n);
    assert.deepEqual(seen, [["one@1", "two@3"], ["one@2"]]);
    await catalog.close();
  });
});
