// Test support, not part of the data path: `@geo/kafka-wire/testing`. Kept out of the main
// entry point so services never load an in-memory broker by accident.
export {
  type FakeBatch,
  FakeCluster,
  type FakePartition,
  fakeTimeout,
  type ProduceContext,
  type ProduceFault,
  type RequestLogEntry,
} from "./fake-cluster";
