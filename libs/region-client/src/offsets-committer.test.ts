import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, createGrpcServer, GeoError, type GrpcServer } from "@geo/grpc";
import { OffsetTranslationService, type offsetsV1 } from "@geo/proto";
import { offsetsServiceCommitter } from "./offsets-committer";

const US = { region: "us-east", cluster: "us-east", bootstrapServers: ["127.0.0.1:1"] };
const EU = { region: "eu-west", cluster: "eu-west", bootstrapServers: ["127.0.0.1:2"] };

let server: GrpcServer;
let address: string;
const requests: offsetsV1.CommitTranslatedOffsetsRequest[] = [];
let answer: { committed: boolean; exact: boolean; reason: string }[] = [];
/** Flows the fake service does not know (NOT_FOUND). */
const missingFlows = new Set<string>();

before(async () => {
  server = createGrpcServer({ reflection: false });
  server.addService(OffsetTranslationService, {
    commitTranslatedOffsets: (request) => {
      requests.push(request);
      if (missingFlows.has(request.flow))
        throw new GeoError(Code.NOT_FOUND, `no flow "${request.flow}"`);
      return {
        offsets: answer.map((a, partition) => ({
          translation: { sourceTopic: "orders", partition, exact: a.exact },
          committed: a.committed,
          reason: a.reason,
        })),
      };
    },
  });
  address = `127.0.0.1:${await server.listen("127.0.0.1:0")}`;
});

after(async () => {
  await server?.stop();
});

describe("offsetsServiceCommitter (geo.offsets.v1 over a real gRPC server)", () => {
  it("commits the group over the flow from the old cluster to the new one", async () => {
    const commit = offsetsServiceCommitter({ offsetsAddress: address });
    answer = [
      { committed: true, exact: true, reason: "" },
      // Already committed further by the orchestrator: fine.
      { committed: false, exact: true, reason: "target commit already ahead" },
    ];
    requests.length = 0;
    await commit({ groupId: "billing", flowGroup: "orders", from: US, to: EU });
    assert.deepEqual(
      requests.map((r) => [r.flow, r.group, r.actor, r.dryRun, r.toOrigin]),
      [
        ["us-east->eu-west", "billing", "region-client:billing", false, false],
        // Then what it read in us-east of eu-west's topics goes home to them.
        ["eu-west->us-east", "billing", "region-client:billing", false, true],
      ],
    );
    commit.close();
  });

  it("brings nothing home when the flow back does not exist (NOT_FOUND)", async () => {
    const commit = offsetsServiceCommitter({ offsetsAddress: address });
    answer = [{ committed: true, exact: true, reason: "" }];
    missingFlows.add("eu-west->us-east");
    try {
      requests.length = 0;
      await commit({ groupId: "billing", flowGroup: "orders", from: US, to: EU });
      assert.deepEqual(
        requests.map((r) => r.flow),
        ["us-east->eu-west", "eu-west->us-east"],
      );
      // The forward flow missing is an error still.
      await assert.rejects(
        commit({ groupId: "billing", flowGroup: "orders", from: EU, to: US }),
        /no flow "eu-west->us-east"/,
      );
    } finally {
      missingFlows.clear();
      commit.close();
    }
  });

  it("names the flow as told, and refuses offsets that cannot be translated", async () => {
    const commit = offsetsServiceCommitter({
      offsetsAddress: address,
      flowName: (from, to) => `orders-${from}-to-${to}`,
    });
    answer = [
      { committed: false, exact: false, reason: "offset 17 is before the replicated range" },
    ];
    await assert.rejects(
      commit({ groupId: "billing", flowGroup: "orders", from: EU, to: US }),
      (error: Error) => {
        assert.match(
          error.message,
          /not translatable: orders\/0: offset 17 is before the replicated range/,
        );
        return true;
      },
    );
    assert.equal(requests.at(-1)?.flow, "orders-eu-west-to-us-east");
    assert.equal(requests.at(-1)?.toOrigin, false);
    commit.close();
  });
});
