import assert from "node:assert/strict";
import { test } from "node:test";
import { countReplicaProblems } from "./cluster-probe";

test("under-replicated, offline and under-min-ISR partitions are counted per topic's setting", () => {
  const topics = [
    {
      name: "orders",
      partitions: [
        { leader: 1, replicas: [1, 2, 3], isr: [1, 2, 3] },
        { leader: 1, replicas: [1, 2, 3], isr: [1, 2] },
        { leader: 2, replicas: [1, 2, 3], isr: [2] },
        { leader: -1, replicas: [1, 2, 3], isr: [] },
      ],
    },
    { name: "single", partitions: [{ leader: 1, replicas: [1], isr: [1] }] },
  ];
  assert.deepEqual(countReplicaProblems(topics, new Map([["orders", 2]])), {
    underReplicated: 3,
    offline: 1,
    underMinIsr: 2,
  });
  // Without a known setting, min.insync.replicas is Kafka's default of 1.
  assert.deepEqual(countReplicaProblems(topics, new Map()), {
    underReplicated: 3,
    offline: 1,
    underMinIsr: 1,
  });
});
