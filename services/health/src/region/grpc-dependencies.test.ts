import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "@geo/config";
import { Code, createGrpcServer, GeoError, type GrpcServer } from "@geo/grpc";
import { createLogger } from "@geo/logging";
import {
  ErrorReason,
  OffsetTranslationService,
  offsetsV1,
  ReplicationHealthService,
} from "@geo/proto";
import { createGrpcDependencies, type GrpcDependencies } from "./grpc-dependencies";

// The lag and offsets contracts the transitions call, served here by a fake on a real gRPC
// server until the health helper's GetFlowHealth and the offsets service exist.
let server: GrpcServer;
let deps: GrpcDependencies;

before(async () => {
  server = createGrpcServer({ reflection: false });
  server.addService(ReplicationHealthService, {
    getFlowHealth: (request) => ({
      flow: request.flow,
      partitions: [
        {
          sourceTopic: "orders",
          partition: 0,
          sourceEndOffset: "9007199254741000",
          nextSourceOffset: "7",
          lag: { records: "9007199254740993" },
        },
        {
          sourceTopic: "orders",
          partition: 1,
          sourceEndOffset: "5",
          nextSourceOffset: "5",
          lag: { records: "0" },
        },
        // The health service's own heartbeats: never drained, so left out of the flow's lag.
        { sourceTopic: "heartbeats", partition: 0, lag: { records: "1" } },
      ],
      totalLag: { records: "9007199254740994" },
    }),
  });
  server.addService(OffsetTranslationService, {
    // Two pages: the checkpoint ages read every page.
    listCheckpoints: (request) =>
      request.pageToken === ""
        ? {
            checkpoints: [
              {
                group: request.group,
                sourceTopic: "orders",
                partition: 0,
                ageMs: "1200",
                exact: true,
              },
            ],
            nextPageToken: "p2",
          }
        : {
            checkpoints: [
              { group: request.group, sourceTopic: "orders", partition: 1, ageMs: "5400" },
              {
                group: request.group,
                sourceTopic: "orders",
                partition: 2,
                ageMs: "300",
                exact: true,
              },
            ],
            nextPageToken: "",
          },
    commitTranslatedOffsets: (request) => {
      // Two NOT_FOUNDs a client must tell apart by the ErrorInfo reason, whatever the text says.
      if (request.group === "idle") {
        throw new GeoError(Code.NOT_FOUND, 'group "idle" never consumed these topics', {
          reason: ErrorReason.NO_COMMITTED_OFFSETS,
        });
      }
      if (request.group === "unknown-flow") {
        throw new GeoError(
          Code.NOT_FOUND,
          `flow "${request.flow}" not found, so group "unknown-flow" has no committed offsets on it`,
        );
      }
      return committedAnswer(request.dryRun);
    },
  });
  const address = `127.0.0.1:${await server.listen("127.0.0.1:0")}`;
  const config = parseConfig(
    `clusters:
  us-east: { bootstrapServers: ["127.0.0.1:1"] }
  eu-west: { bootstrapServers: ["127.0.0.1:2"] }
services:
  coordinator: { address: "${address}" }
  offsets: { address: "${address}" }
  health: { address: "${address}" }
`,
    { env: {} },
  );
  deps = createGrpcDependencies({
    config,
    logger: createLogger({ service: "deps-test", level: "silent" }),
  });
});

/** CommitTranslatedOffsets' answer: committed, untranslatable, not replicated yet, in place. */
function committedAnswer(dryRun: boolean) {
  return {
    dryRun,
    offsets: [
      { translation: { sourceTopic: "orders", partition: 0, exact: true }, committed: true },
      {
        translation: {
          sourceTopic: "orders",
          partition: 1,
          exact: false,
          reason: "no offset map yet",
        },
        committed: false,
        reason: "untranslatable",
      },
      {
        translation: {
          sourceTopic: "orders",
          partition: 2,
          exact: false,
          kind: offsetsV1.TranslationKind.NOT_YET_REPLICATED,
          recordsNotReplicated: "4",
        },
        committed: dryRun,
      },
      {
        // Already committed by the offsets service's group sync.
        translation: { sourceTopic: "orders", partition: 3, exact: true, targetOffset: "7" },
        previousTargetOffset: "7",
        committed: false,
        reason: "the target group is already at this offset",
      },
    ],
  };
}

after(async () => {
  await deps?.close();
  await server?.stop();
});

describe("gRPC transition dependencies", () => {
  it("reads a flow's lag per partition from GetFlowHealth, 64-bit exact, without the heartbeats", async () => {
    const lag = await deps.lag.flowLag("east-west");
    assert.equal(lag.total, 9007199254740993n);
    assert.deepEqual(lag.partitions, [
      {
        topic: "orders",
        partition: 0,
        records: 9007199254740993n,
        endOffset: 9007199254741000n,
        nextSourceOffset: 7n,
      },
      { topic: "orders", partition: 1, records: 0n, endOffset: 5n, nextSourceOffset: 5n },
    ]);
  });

  it("reads a group's checkpoints over every page: how many, and the oldest one's age", async () => {
    assert.deepEqual(await deps.checkpoints.checkpoints("east-west", "billing"), {
      partitions: 3,
      inexact: ["orders/1"],
      oldestAgeMs: 5400,
    });
  });

  it("knows no last lag unless the monitor's is given", () => {
    assert.equal(deps.lastKnownLag.lastKnownLag("east-west"), undefined);
  });

  it("counts committed partitions and names the ones CommitTranslatedOffsets could not translate", async () => {
    const result = await deps.offsets.commit({
      flow: "east-west",
      group: "billing",
      dryRun: true,
      actor: "t",
    });
    // orders/0 committed, orders/2 would be once replicated, orders/3 is in place already.
    assert.equal(result.committed, 3);
    assert.deepEqual(result.problems, ["orders/1: untranslatable"]);
    // A rehearsal under traffic: the group read 4 records the flow has not replicated yet.
    assert.equal(result.notReplicatedRecords, 4n);
  });

  it("takes records not replicated yet for a problem when committing for real", async () => {
    const result = await deps.offsets.commit({
      flow: "east-west",
      group: "billing",
      dryRun: false,
      actor: "t",
    });
    assert.deepEqual(result.problems, ["orders/1: untranslatable", "orders/2: not exact"]);
    assert.equal(result.notReplicatedRecords, 0n);
  });

  it("tells a group with nothing to translate from an unknown flow by the ErrorInfo reason, not the text", async () => {
    for (const toOrigin of [false, true]) {
      const request = { flow: "east-west", dryRun: false, actor: "t", toOrigin };
      assert.deepEqual(await deps.offsets.commit({ ...request, group: "idle" }), {
        committed: 0,
        problems: [],
        noOffsets: 'group "idle" never consumed these topics',
      });
      await assert.rejects(
        deps.offsets.commit({ ...request, group: "unknown-flow" }),
        (error: unknown) => error instanceof GeoError && error.code === Code.NOT_FOUND,
      );
    }
  });

  it("says a cluster it cannot reach is unreachable", async () => {
    const probe = await deps.probes.probe("us-east");
    assert.equal(probe.reachable, false);
    assert.equal(deps.probes.consecutiveFailures("us-east"), 1);
    assert.deepEqual(await deps.probes.probe("mars"), {
      reachable: false,
      error: 'unknown cluster "mars"',
    });
  });
});
