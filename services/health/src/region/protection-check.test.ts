// Drills read the passive protection of both regions (protection-check.ts): the runner with fakes
// for its dependencies and a real region store on Redis, so the report is also read back from
// the history (Lua's cjson turns empty lists into objects on the way).
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { createLogger } from "@geo/logging";
import { NO_EPOCH } from "@geo/positions";
import type { RegionStore, TransitionKind } from "@geo/region-state";
import { createFakes, type Fakes, ordersGroupConfig } from "../testing";
import { useOrdersStore } from "../testing/region-store-fixture";
import { createTransitionRunner, type TransitionRunner } from "./transition-runner";

const logger = createLogger({ service: "protection-check-test", level: "silent" });
const CONFIG = ordersGroupConfig();

const fixture = useOrdersStore(logger, "check-test");
let store: RegionStore;
let fakes: Fakes;
let runner: TransitionRunner;

beforeEach(() => {
  store = fixture.store;
  fakes = createFakes();
  runner = createTransitionRunner({ store, deps: fakes, groupConfigs: [CONFIG], logger });
});

const drill = (kind: TransitionKind = "switchover") =>
  runner.run({
    kind,
    flowGroup: "orders",
    targetRegion: "eu-west",
    expectedEpoch: NO_EPOCH,
    consumerGroups: [],
    dryRun: true,
    actor: "drill",
    reason: "rehearsal",
    timeoutMs: 0,
    force: false,
  });

const detailOf = (record: Awaited<ReturnType<typeof drill>>["record"], name: string) => {
  const step = record.steps.find((s) => s.name === name);
  assert.ok(step, `${name} in ${record.steps.map((s) => s.name).join()}`);
  return { ok: step.ok, detail: step.detail };
};

const region = (name: string, passiveNow: boolean) => ({ region: name, cluster: name, passiveNow });

describe("drills read the passive protection", () => {
  it("report the passive region's missing denial without failing, and what the move would protect", async () => {
    const { record } = await drill();
    assert.equal(record.outcome, "drill-passed", record.error);
    assert.deepEqual(detailOf(record, "check-passive-protection"), {
      ok: true,
      detail:
        "applications may write to orders (no write denial yet: the health service's protection keeper adds it at its next pass, flowGroups[].passiveProtection, as does a transition that makes a region passive)",
    });
    assert.deepEqual(detailOf(record, "check-protectable"), {
      ok: true,
      detail: "authorizer present: the switchover makes orders read-only for applications",
    });
    const expected = [
      {
        ...region("eu-west", true),
        authorizer: true,
        protectedTopics: [],
        unprotectedTopics: ["orders"],
      },
      {
        ...region("us-east", false),
        authorizer: true,
        protectedTopics: [],
        unprotectedTopics: ["orders"],
      },
    ];
    assert.deepEqual(record.passiveProtection, expected);
    const [kept] = await store.history("orders", 1);
    assert.deepEqual(kept?.passiveProtection, expected, "read back from the history");
    assert.deepEqual([...fakes.denied.keys()], [], "a drill changes no ACL");
  });

  it("report the passive region's denial where it is in place", async () => {
    fakes.denied.set("eu-west", new Set(["orders"]));
    fakes.topicsOf.set("eu-west", ["orders", "audit", "heartbeats"]);
    fakes.flowList[0] = {
      ...fakes.flowList[0]!,
      topics: { include: ["orders", "audit"], exclude: [] },
    };
    const { record } = await drill();
    assert.equal(record.outcome, "drill-passed", record.error);
    assert.match(
      detailOf(record, "check-passive-protection").detail,
      /^read-only for applications: orders; applications may write to audit \(/,
    );
    assert.deepEqual(record.passiveProtection?.[0], {
      ...region("eu-west", true),
      authorizer: true,
      protectedTopics: ["orders"],
      unprotectedTopics: ["audit"],
    });
    assert.deepEqual([...fakes.denied.get("eu-west")!], ["orders"]);
  });

  it("pass where the clusters have no authorizer, and say that writes are detected, not prevented", async () => {
    fakes.noAuthorizer.add("eu-west");
    fakes.noAuthorizer.add("us-east");
    const { record } = await drill("failover");
    assert.equal(record.outcome, "drill-passed", record.error);
    assert.deepEqual(detailOf(record, "check-passive-protection"), {
      ok: true,
      detail:
        "cluster eu-west has no authorizer: its replicated topics cannot be made read-only; writes there are detected (geo_passive_foreign_writes_total), not prevented",
    });
    assert.deepEqual(detailOf(record, "check-protectable"), {
      ok: true,
      detail:
        "cluster us-east has no authorizer: after the failover its replicated topics stay writable; writes there are detected (geo_passive_foreign_writes_total), not prevented",
    });
    const noAuthorizer = { authorizer: false, protectedTopics: [], unprotectedTopics: [] };
    assert.deepEqual(record.passiveProtection, [
      { ...region("eu-west", true), ...noAuthorizer },
      { ...region("us-east", false), ...noAuthorizer },
    ]);
  });

  it("fail when a side's ACLs cannot be read; a failover drill does not try a region failing its probes", async () => {
    fakes.unreachable.add("us-east");
    const failed = await drill("failover");
    assert.equal(failed.record.outcome, "drill-failed");
    assert.match(
      failed.record.error ?? "",
      /check-protectable: could not read the ACLs of cluster us-east: cluster us-east: connection refused/,
    );
    assert.match(failed.record.passiveProtection?.[1]?.error ?? "", /could not read the ACLs/);

    fakes.failures.set("us-east", 3);
    const { record } = await drill("failover");
    assert.deepEqual(detailOf(record, "check-protectable"), {
      ok: true,
      detail:
        "not checked: cluster us-east failed its last 3 probes; a real failover does not try to protect it, the failback does",
    });
    assert.match(record.passiveProtection?.[1]?.error ?? "", /^not checked/);
  });

  it("fail when this service may read a region's ACLs but not change them, on either side", async () => {
    const asked: string[] = [];
    const withRights = (alterOf: (cluster: string) => boolean | undefined) => {
      asked.length = 0;
      const writeGuard = {
        ...fakes.writeGuard,
        aclRights: async (cluster: string) => {
          asked.push(cluster);
          const alter = alterOf(cluster);
          if (alter === undefined) return undefined;
          return { alter, principal: "User:geo-health", bootstrapServers: ["k1:9092", "k2:9092"] };
        },
      };
      const deps = { ...fakes, writeGuard };
      runner = createTransitionRunner({ store, deps, groupConfigs: [CONFIG], logger });
    };
    const lacksAlter = (cluster: string) =>
      `the health service (User:geo-health) may read the ACLs of cluster ${cluster} but not change them: it lacks ALTER on the cluster resource, which creating and deleting ACLs needs; grant it with kafka-acls.sh --bootstrap-server k1:9092,k2:9092 --command-config <an admin's client properties> --add --allow-principal User:geo-health --operation Alter --cluster`;
    withRights((cluster) => cluster !== "us-east");
    const nextPassive = await drill();
    assert.equal(nextPassive.record.outcome, "drill-failed");
    assert.equal(nextPassive.record.error, `check-protectable: ${lacksAlter("us-east")}`);
    assert.deepEqual(asked, ["eu-west", "us-east"], "asked of both regions");

    // The transition lifts the passive region's denials before it protects the other one.
    withRights((cluster) => cluster !== "eu-west");
    const passiveNow = await drill();
    assert.equal(passiveNow.record.outcome, "drill-failed");
    assert.equal(passiveNow.record.error, `check-passive-protection: ${lacksAlter("eu-west")}`);

    withRights(() => true);
    const passed = await drill();
    assert.equal(passed.record.outcome, "drill-passed", passed.record.error);
    assert.equal(
      detailOf(passed.record, "check-protectable").detail,
      "authorizer present: the switchover makes orders read-only for applications; this service may change its ACLs (ALTER on the cluster)",
    );
    assert.match(
      detailOf(passed.record, "check-passive-protection").detail,
      /; this service may change its ACLs \(ALTER on the cluster\)$/,
    );
    withRights(() => undefined);
    const unknown = await drill();
    assert.equal(unknown.record.outcome, "drill-passed", unknown.record.error);
    assert.match(
      detailOf(unknown.record, "check-protectable").detail,
      /; not checked whether this service may change its ACLs \(the broker does not say\)$/,
    );
    assert.deepEqual([...fakes.denied.keys()], [], "a drill changes no ACL");
  });
});
