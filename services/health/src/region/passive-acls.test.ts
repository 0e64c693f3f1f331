import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TransitionKind } from "@geo/region-state";
import { createFakes } from "../testing";
import { movePassiveProtection, remoteTopicSelector } from "./passive-acls";
import { createStepRecorder } from "./step-recorder";

const topics = { include: ["orders", "pay\\..*"], exclude: ["pay\\.secret"] };
const flow = (naming: "prefix" | "identity", source = "us-east", target = "eu-west") => ({
  name: `${source}->${target}`,
  source,
  target,
  paused: false,
  topics,
  naming,
});

describe("remoteTopicSelector", () => {
  it("selects the copies a flow writes into the cluster, by its naming and filter", () => {
    const prefix = remoteTopicSelector([flow("prefix")], "eu-west");
    assert.deepEqual(
      [
        "us-east.orders",
        "us-east.pay.in",
        "us-east.pay.secret",
        "orders",
        "us-east.heartbeats",
      ].filter(prefix),
      ["us-east.orders", "us-east.pay.in"],
    );
    const identity = remoteTopicSelector([flow("identity")], "eu-west");
    assert.deepEqual(
      ["orders", "pay.in", "pay.secret", "heartbeats", "__geo.progress", "other"].filter(identity),
      ["orders", "pay.in"],
    );
  });

  it("ignores flows into other clusters and flows whose topics are unknown", () => {
    const { topics: _unknown, ...bare } = flow("identity");
    const select = remoteTopicSelector([flow("identity", "eu-west", "us-east"), bare], "eu-west");
    assert.equal(select("orders"), false);
  });
});

describe("movePassiveProtection (fakes)", () => {
  const plan = (fakes: ReturnType<typeof createFakes>, kind: TransitionKind = "switchover") => ({
    request: { kind },
    from: { region: "us-east", cluster: "us-east" },
    to: { region: "eu-west", cluster: "eu-west" },
    forward: fakes.flowList.filter((f) => f.target === "eu-west"),
    reverse: fakes.flowList.filter((f) => f.target === "us-east"),
  });

  it("lifts the denial on the promoted side first, then protects the passive side", async () => {
    const fakes = createFakes();
    fakes.denied.set("eu-west", new Set(["orders", "operator-own"]));
    const steps = createStepRecorder(undefined);
    await movePassiveProtection(plan(fakes), steps, fakes);
    assert.deepEqual(
      steps.steps.map((s) => [s.name, s.ok, s.detail]),
      [
        ["unprotect-active", true, "applications may write again to orders"],
        ["protect-passive", true, "read-only for applications: orders"],
      ],
    );
    assert.deepEqual([...fakes.denied.get("eu-west")!], ["operator-own"], "only its own ACLs go");
    assert.deepEqual([...fakes.denied.get("us-east")!], ["orders"]);
  });

  it("says so, and goes on, where a cluster has no authorizer", async () => {
    const fakes = createFakes();
    fakes.noAuthorizer.add("us-east");
    fakes.noAuthorizer.add("eu-west");
    const steps = createStepRecorder(undefined);
    await movePassiveProtection(plan(fakes), steps, fakes);
    assert.deepEqual(
      steps.steps.map((s) => [s.name, s.ok, s.detail]),
      [
        ["unprotect-active", true, "cluster eu-west has no authorizer: no denial to lift"],
        [
          "protect-passive",
          true,
          "cluster us-east has no authorizer; writes to the passive side are detected, not prevented",
        ],
      ],
    );
  });

  it("fails the move when the promoted side keeps its denial; a passive side it cannot reach is only recorded", async () => {
    const fakes = createFakes();
    fakes.unreachable.add("eu-west");
    const refused = createStepRecorder(undefined);
    await assert.rejects(movePassiveProtection(plan(fakes), refused, fakes));
    assert.deepEqual(
      refused.steps.map((s) => s.name),
      ["unprotect-active"],
      "the passive side is not touched",
    );
    fakes.unreachable.clear();
    fakes.unreachable.add("us-east");
    const recorded = createStepRecorder(undefined);
    await movePassiveProtection(plan(fakes), recorded, fakes);
    assert.deepEqual(
      recorded.steps.map((s) => `${s.name}${s.ok ? "" : "!"}`),
      ["unprotect-active", "protect-passive!"],
    );
    // A failover does not wait on a cluster that fails its probes.
    fakes.failures.set("us-east", 3);
    const skipped = createStepRecorder(undefined);
    await movePassiveProtection(plan(fakes, "failover"), skipped, fakes);
    assert.match(
      skipped.steps[1]?.detail ?? "",
      /not attempted: cluster us-east failed its last 3 probes/,
    );
  });
});
