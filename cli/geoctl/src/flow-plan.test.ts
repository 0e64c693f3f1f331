import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { validateFlows } from "@geo/config";
import { coordinatorV1 } from "@geo/proto";
import { flowMessage } from "./flow-file";
import { planFlow } from "./flow-plan";

const clusters = {
  east: { alias: "east", region: "east", bootstrapServers: ["e:9092"] },
  west: { alias: "west", region: "west", bootstrapServers: ["w:9092"] },
};
const desired = (fields: Record<string, unknown> = {}) =>
  validateFlows(
    [{ name: "f", source: "east", target: "west", topics: { include: ["orders"] }, ...fields }],
    clusters,
  )[0]!;
const running = (fields: Record<string, unknown> = {}, owner: "api" | "file" = "api") => {
  const flow = flowMessage(desired(fields));
  flow.version = "3";
  flow.owner = create(coordinatorV1.FlowOwnerSchema, {
    owner:
      owner === "api"
        ? { case: "api", value: { createdBy: "me" } }
        : { case: "file", value: { path: "/etc/geo.yaml" } },
  });
  return flow;
};

describe("planFlow", () => {
  it("creates a missing flow and leaves an equal one alone", () => {
    assert.equal(planFlow(desired(), undefined).action, "create");
    const same = planFlow(desired(), running());
    assert.equal(same.action, "unchanged");
    assert.deepEqual(same.changes, []);
  });

  it("updates changed settings and pauses through the plan", () => {
    const plan = planFlow(
      desired({ topics: { include: ["orders", "stock"] }, paused: true }),
      running(),
    );
    assert.equal(plan.action, "update");
    assert.equal(plan.version, "3");
    assert.deepEqual(
      plan.changes.map((c) => c.field),
      ["topics.include", "paused"],
    );
    assert.equal(planFlow(desired({ paused: true }), running()).definitionChanges, false);
  });

  it("refuses flows the config file owns and immutable changes, saying what to do", () => {
    const owned = planFlow(desired({ startFrom: "latest" }), running({}, "file"));
    assert.equal(owned.action, "refused");
    assert.match(owned.reason ?? "", /config file \/etc\/geo\.yaml, which owns it/);
    const renamed = planFlow(desired({ naming: "identity" }), running());
    assert.equal(renamed.action, "refused");
    assert.match(
      renamed.reason ?? "",
      /naming cannot change .*delete the flow and create it again/,
    );
  });
});
