// The flow registry over an in-memory log: validation with the file's rules and API field names,
// ownership, versions, history, and two coordinators racing on one log.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { parseConfig } from "@geo/config";
import { Code, GeoError } from "@geo/grpc";
import { createLogger } from "@geo/logging";
import { coordinatorV1, replicationV1 } from "@geo/proto";
import { createMemoryFlowLog } from "./flow-log";
import { draftFromFlow, updatedDraft } from "./flow-messages";
import { createFlowRegistry } from "./flow-registry";
import { apiFieldOf } from "./flow-validation";
import { REFUSALS_PER_MINUTE } from "./flow-writes";

const config = parseConfig(
  `clusters:
  east: { bootstrapServers: ["127.0.0.1:1"] }
  west: { bootstrapServers: ["127.0.0.1:2"] }
  south: { bootstrapServers: ["127.0.0.1:3"], region: south }
flows:
  - { name: file-flow, source: east, target: west, topics: { include: ["orders"] } }
`,
  { source: "flow-registry.test", env: {} },
);
const logger = createLogger({ service: "flow-registry-test", level: "silent" });
const alice = { actor: "alice" };

function setUp(log = createMemoryFlowLog()) {
  let clock = Date.parse("2026-11-22T10:00:00Z");
  let changes = 0;
  const registry = createFlowRegistry({
    config,
    configPath: "/etc/geo/geo.yaml",
    log,
    logger,
    now: () => {
      clock += 1000;
      return new Date(clock);
    },
    onChange: () => {
      changes++;
    },
  });
  return { registry, log, changesSeen: () => changes };
}

const draft = (fields: Record<string, unknown> = {}) => ({
  name: "api-flow",
  source: "west",
  target: "east",
  topics: { include: ["payments"] },
  ...fields,
});

/** Asserts a rejection with this gRPC code whose message contains every fragment. */
async function rejects(promise: Promise<unknown>, code: Code, ...fragments: string[]) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof GeoError, String(error));
    assert.equal(error.code, code, error.message);
    for (const fragment of fragments) assert.ok(error.message.includes(fragment), error.message);
    return true;
  });
}

describe("flow registry", () => {
  it("creates an API flow at version 1, defaulted like a file flow, and records who did it", async () => {
    const { registry, log, changesSeen } = setUp();
    await registry.load();
    const entry = await registry.create(draft(), alice);
    assert.equal(entry.owner, "api");
    assert.equal(entry.owner === "api" && entry.api.version, 1n);
    assert.deepEqual(entry.config, {
      name: "api-flow",
      source: "west",
      target: "east",
      topics: { include: ["payments"], exclude: [] },
      naming: "prefix",
      provenanceHeader: false,
      startFrom: "earliest",
      onOffsetOutOfRange: "fail",
      paused: false,
      groups: { include: [".*"], exclude: ["console-consumer-.*", "connect-.*", "__.*"] },
      syncGroupOffsets: true,
    });
    assert.equal(log.changes.length, 1);
    assert.equal(changesSeen(), 1);
    assert.deepEqual(
      registry.flows().map((flow) => flow.name),
      ["file-flow", "api-flow"],
    );

    // A second coordinator reading the same log knows the flow.
    const other = setUp(log).registry;
    await other.load();
    assert.deepEqual(other.get("api-flow")?.config, entry.config);
  });

  it("refuses bad flows with INVALID_ARGUMENT naming the API field, and stores nothing", async () => {
    const { registry, log } = setUp();
    await registry.load();
    const cases: [Record<string, unknown>, string, string][] = [
      [{ source: "nowhere" }, "flow.source_cluster", 'unknown cluster "nowhere"'],
      [{ target: "west" }, "flow.target_cluster", "is the same cluster as source"],
      [{ topics: { include: ["orders("] } }, "flow.topics.include[0]", "orders("],
      [{ topics: { include: [] } }, "flow.topics.include", "is empty"],
      [{ groups: { include: ["ok", "team-(a"] } }, "flow.groups.include[1]", "team-(a"],
      [{ groups: { exclude: ["(x+)+"] } }, "flow.groups.exclude[0]", "repeated group"],
      [{ name: "bad name!" }, "flow.name", "use letters"],
      // file-flow already copies east.orders into west; a second flow there would collide.
      [
        { source: "east", target: "west", topics: { include: ["orders"] } },
        "flow",
        "would write the same remote topic",
      ],
    ];
    for (const [fields, field, fragment] of cases) {
      await rejects(registry.create(draft(fields), alice), Code.INVALID_ARGUMENT, field, fragment);
    }
    assert.equal(log.changes.length, 0, "nothing half-applied");
    assert.equal(registry.get("api-flow"), undefined);
  });

  it("says which colliding flow the config file owns, and gives no hint that cannot apply", async () => {
    const { registry } = setUp();
    await registry.load();
    await assert.rejects(
      registry.create(
        draft({ source: "east", target: "west", topics: { include: ["orders"] } }),
        alice,
      ),
      (error: unknown) => {
        assert.ok(error instanceof GeoError);
        assert.match(
          error.message,
          /"file-flow" \(defined in the config file [^)]+, which owns it\)/,
        );
        assert.doesNotMatch(error.message, /naming: prefix|flows\[\d+\]/);
        return true;
      },
    );
  });

  it("refuses an identity flow that would loop with another one without provenance", async () => {
    const { registry } = setUp();
    await registry.load();
    await registry.create(
      draft({ name: "a-to-b", source: "west", target: "south", naming: "identity" }),
      alice,
    );
    await rejects(
      registry.create(
        draft({
          name: "b-to-a",
          source: "south",
          target: "west",
          naming: "identity",
          provenanceHeader: false,
        }),
        alice,
      ),
      Code.INVALID_ARGUMENT,
      "flow:",
      "a-to-b",
    );
    // With the provenance header on both sides the pair is safe.
    await registry.create(
      draft({ name: "b-to-a", source: "south", target: "west", naming: "identity" }),
      alice,
    );
  });

  it("leaves the file's flows to the file: FAILED_PRECONDITION naming it", async () => {
    const { registry } = setUp();
    await registry.load();
    for (const attempt of [
      registry.update("file-flow", (current) => current as never, 1n, alice),
      registry.remove("file-flow", 0n, alice),
      registry.setPaused("file-flow", true, "maintenance", alice),
    ]) {
      await rejects(attempt, Code.FAILED_PRECONDITION, "/etc/geo/geo.yaml", "file-flow");
    }
    await rejects(
      registry.create(draft({ name: "file-flow" }), alice),
      Code.ALREADY_EXISTS,
      "/etc/geo/geo.yaml",
    );
  });

  it("versions every change, guards updates with the expected version, and keeps the history", async () => {
    const { registry, log } = setUp();
    await registry.load();
    await registry.create(draft(), alice);
    await rejects(registry.create(draft(), alice), Code.ALREADY_EXISTS, "version 1");

    const mask = (paths: string[]) => create(FieldMaskSchema, { paths });
    const request = create(coordinatorV1.FlowSchema, {
      name: "api-flow",
      topics: { include: ["payments", "refunds"] },
      startPosition: replicationV1.StartPosition.LATEST,
    });
    const updated = await registry.update(
      "api-flow",
      (current) => updatedDraft(current, request, mask(["topics.include"]).paths),
      1n,
      { actor: "bob" },
    );
    assert.deepEqual(updated.config.topics.include, ["payments", "refunds"]);
    assert.equal(updated.config.startFrom, "earliest", "fields outside the mask stay");
    await rejects(
      registry.update("api-flow", (current) => current as never, 1n, alice),
      Code.ABORTED,
      "version 2, not 1",
    );

    const paused = await registry.setPaused("api-flow", true, "maintenance", { actor: "carol" });
    assert.equal(paused.config.paused, true);
    const again = await registry.setPaused("api-flow", true, "again", { actor: "carol" });
    assert.equal(again.owner === "api" && again.api.version, 3n, "pausing twice changes nothing");
    await registry.setPaused("api-flow", false, "", { actor: "carol" });
    await rejects(registry.remove("api-flow", 2n, alice), Code.ABORTED, "version 4");
    const removed = await registry.remove("api-flow", 4n, { actor: "dave" });
    assert.equal(removed.config.topics.include.length, 2);
    assert.equal(registry.get("api-flow"), undefined);
    await rejects(registry.remove("api-flow", 0n, alice), Code.NOT_FOUND, "file-flow");

    assert.deepEqual(
      registry.changes().map((c) => [c.flow, c.kind, String(c.version), c.actor]),
      [
        ["api-flow", "deleted", "4", "dave"],
        ["api-flow", "resumed", "4", "carol"],
        ["api-flow", "paused", "3", "carol"],
        ["api-flow", "updated", "2", "bob"],
        ["api-flow", "created", "1", "alice"],
        ["file-flow", "created", "1", "file:/etc/geo/geo.yaml"],
      ],
    );
    const [, , pausedChange, updateChange] = registry.changes();
    assert.equal(pausedChange?.reason, "maintenance");
    assert.deepEqual(updateChange?.before?.topics.include, ["payments"]);
    assert.deepEqual(updateChange?.after?.topics.include, ["payments", "refunds"]);
    assert.equal(log.changes.length, 5);
  });

  it("validate_only validates and stores nothing", async () => {
    const { registry, log, changesSeen } = setUp();
    await registry.load();
    const preview = await registry.create(draft(), { actor: "alice", validateOnly: true });
    assert.equal(preview.config.name, "api-flow");
    assert.equal(log.changes.length, 0);
    assert.equal(changesSeen(), 0);
    assert.equal(registry.get("api-flow"), undefined);
  });

  it("of two coordinators racing on one log, only the change the log applied succeeds", async () => {
    const log = createMemoryFlowLog();
    const first = setUp(log).registry;
    const second = setUp(log).registry;
    await Promise.all([first.load(), second.load()]);
    await first.create(draft(), alice);
    await second.load();
    // Both read version 1; the second appends its update after the first's.
    const append = log.append;
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    log.append = async (change) => {
      if (change.actor === "second") await held;
      await append(change);
    };
    const edit = (include: string[]) => (current: { topics: object }) => ({
      ...current,
      topics: { include, exclude: [] },
    });
    const losing = second.update("api-flow", edit(["b"]), 1n, { actor: "second" });
    await new Promise((resolve) => setImmediate(resolve));
    await first.update("api-flow", edit(["a"]), 1n, { actor: "first" });
    release();
    await rejects(losing, Code.ABORTED, "changed concurrently");
    await second.load();
    assert.deepEqual(second.get("api-flow")?.config.topics.include, ["a"]);
    assert.deepEqual(first.get("api-flow")?.config.topics.include, ["a"]);
  });

  it("answers UNAVAILABLE, retriable, when the log cannot be written, and changes nothing", async () => {
    const log = createMemoryFlowLog();
    const { registry } = setUp(log);
    await registry.load();
    log.append = async () => {
      throw new Error("connection refused");
    };
    await assert.rejects(registry.create(draft(), alice), (error: GeoError) => {
      assert.equal(error.code, Code.UNAVAILABLE);
      assert.equal(error.retriable, true);
      assert.match(error.message, /connection refused.*nothing was changed/);
      return true;
    });
    assert.equal(registry.get("api-flow"), undefined);
  });
});

describe("flow messages", () => {
  it("maps the API's Flow to the file's shape, leaving unspecified enums to the defaults", () => {
    const flow = create(coordinatorV1.FlowSchema, {
      name: "x",
      sourceCluster: "east",
      targetCluster: "west",
      namingPolicy: replicationV1.NamingPolicy.IDENTITY,
      provenanceHeader: true,
      onOffsetOutOfRange: replicationV1.OffsetOutOfRangePolicy.RESET_EARLIEST,
    });
    assert.deepEqual(draftFromFlow(flow), {
      name: "x",
      source: "east",
      target: "west",
      naming: "identity",
      provenanceHeader: true,
      onOffsetOutOfRange: "earliest",
    });
    assert.throws(
      () =>
        draftFromFlow(
          create(coordinatorV1.FlowSchema, {
            name: "x",
            startPosition: 9 as replicationV1.StartPosition,
          }),
        ),
      (error: GeoError) =>
        error.code === Code.INVALID_ARGUMENT && /flow.start_position/.test(error.message),
    );
  });

  it("refuses masks naming immutable, output-only or unknown fields", () => {
    const current = {
      name: "x",
      source: "east",
      target: "west",
      topics: { include: ["a"], exclude: [] },
      naming: "prefix" as const,
      provenanceHeader: false,
      startFrom: "earliest" as const,
      onOffsetOutOfRange: "fail" as const,
      paused: false,
    };
    const flow = create(coordinatorV1.FlowSchema, { name: "x", targetCluster: "south" });
    for (const [path, fragment] of [
      ["target_cluster", "fixed at creation"],
      ["naming_policy", "orphan"],
      ["paused", "PauseFlow"],
      ["version", "output only"],
      ["colour", "not a field"],
    ]) {
      assert.throws(
        () => updatedDraft(current, flow, [path!]),
        (error: GeoError) =>
          error.code === Code.INVALID_ARGUMENT &&
          error.message.includes("update_mask.paths[0]") &&
          error.message.includes(fragment!),
      );
    }
    assert.throws(
      () => updatedDraft(current, flow, []),
      (error: GeoError) => /flow.target_cluster: cannot change from "west"/.test(error.message),
    );
  });

  it("names config paths as API fields", () => {
    assert.equal(apiFieldOf("flows[2].source"), "flow.source_cluster");
    assert.equal(apiFieldOf("flows[2].topics.exclude[1]"), "flow.topics.exclude[1]");
    assert.equal(apiFieldOf("flows[2].startFrom"), "flow.start_position");
    assert.equal(apiFieldOf("flows[2]"), "flow");
  });

  it("refuses a pathological filter fast with INVALID_ARGUMENT naming the limit", async () => {
    const { registry, log } = setUp();
    const include = Array.from({ length: 8000 }, (_, i) => `topic-${i}`);
    const started = performance.now();
    await rejects(
      registry.create(draft({ topics: { include } }), alice),
      Code.INVALID_ARGUMENT,
      "flow.topics.include",
      "maxPatternsPerList",
    );
    assert.ok(performance.now() - started < 2000);
    assert.equal(log.changes.length, 0);
  });

  it("reports a write the store refuses as too large as INVALID_ARGUMENT, not UNAVAILABLE", async () => {
    const log = createMemoryFlowLog();
    log.append = async () => {
      throw Object.assign(
        new Error(
          "The request included a message larger than the max message size the server will accept",
        ),
        { type: "MESSAGE_TOO_LARGE" },
      );
    };
    const { registry } = setUp(log);
    await rejects(registry.create(draft(), alice), Code.INVALID_ARGUMENT, "too large");
  });

  it("records refused changes in the history, at most REFUSALS_PER_MINUTE a minute", async () => {
    const log = createMemoryFlowLog();
    const fixed = new Date("2026-11-22T10:00:30Z");
    const registry = createFlowRegistry({
      config,
      configPath: "geo.yaml",
      log,
      logger,
      now: () => fixed,
    });
    for (let i = 0; i < REFUSALS_PER_MINUTE + 5; i++) {
      await registry.recordRefusal("api-flow", "bob", "CreateFlow needs the operator role");
    }
    const refused = log.changes.filter((change) => change.kind === "refused");
    assert.equal(refused.length, REFUSALS_PER_MINUTE);
    await registry.load();
    assert.equal(registry.get("api-flow"), undefined, "a refusal changes nothing");
    const history = registry.changes().filter((change) => change.kind === "refused");
    assert.equal(history.length, refused.length);
    assert.equal(history[0]?.actor, "bob");
  });
});
