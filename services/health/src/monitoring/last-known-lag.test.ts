import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { FlowLag, PartitionLag } from "./flow-lag";
import { LastKnownLags } from "./last-known-lag";

const partition = (topic: string, index: number, records: bigint): PartitionLag => ({
  sourceTopic: topic,
  partition: index,
  remoteTopic: `us-east.${topic}`,
  endOffset: 100n,
  nextSourceOffset: 100n - records,
  records,
  ageMs: 0,
});

const lag = (time: number, partitions: PartitionLag[], unknown?: string): FlowLag => ({
  flow: "east-west",
  source: "us-east",
  target: "eu-west",
  time,
  unknown,
  partitions,
  totalRecords: 0n,
  maxAgeMs: 0,
  sourceRecords: 0n,
  replicatedRecords: 0n,
});

describe("LastKnownLags", () => {
  it("knows nothing of a flow never measured, nor of one only measured unknown", () => {
    const known = new LastKnownLags();
    assert.equal(known.get("east-west"), undefined);
    known.update(lag(1, [], "source us-east unreachable"));
    assert.equal(known.get("east-west"), undefined);
  });

  it("keeps each partition's last measurement and its time through unknown rounds", () => {
    const known = new LastKnownLags();
    known.update(lag(1000, [partition("orders", 1, 5n), partition("orders", 0, 3n)]));
    known.update(lag(2000, [partition("orders", 0, 7n)]));
    known.update(lag(3000, [], "source us-east unreachable"));
    const kept = known.get("east-west")!;
    assert.deepEqual(
      kept.map((p) => [p.partition, p.records, p.measuredAtMs]),
      [
        [0, 7n, 2000],
        [1, 5n, 1000],
      ],
    );
    known.forget("east-west");
    assert.equal(known.get("east-west"), undefined);
  });
});
