import assert from "node:assert/strict";
import { test } from "node:test";
import { CompressionType, encodeRecordBatch } from "@geo/record-batch";
import { KafkaErrorCode } from "./kafka-error-codes";
import { ConnectionError, OffsetOutOfRangeError } from "./kafka-wire-error";
import { createPartitionFetcher } from "./partition-fetcher";
import { FakeCluster } from "./testing";
import { createWireClient } from "./wire-client";

const batch = (values: string[], extra: Partial<Parameters<typeof encodeRecordBatch>[0]> = {}) =>
  encodeRecordBatch({
    ...extra,
    records: values.map((v, i) => ({
      timestamp: 1_700_000_000_000n + BigInt(i),
      key: null,
      value: v,
    })),
  });

function setup(nodes = [1]) {
  const cluster = new FakeCluster(nodes);
  const client = createWireClient(cluster, { retryBackoffMs: 5 });
  return { cluster, client };
}

const valuesOf = (
  batches: { records(): { offset: bigint; value: Buffer | null }[] }[],
  from = 0n,
) =>
  batches.flatMap((b) =>
    b
      .records()
      .filter((r) => r.offset >= from)
      .map((r) => r.value?.toString()),
  );

test("fetches explicit positions across leaders, one request per broker, results in the order given", async () => {
  const { cluster, client } = setup([1, 2]);
  cluster.createTopic("a", 2, [1, 2]);
  cluster.createTopic("b", 1, [2]);
  for (let i = 0; i < 5; i++) cluster.append("a", 0, batch([`a0-${i}`]));
  for (let i = 0; i < 3; i++) cluster.append("a", 1, batch([`a1-${i}`]));
  cluster.append("b", 0, batch(["b0-0", "b0-1", "b0-2"]));
  const fetcher = createPartitionFetcher(client);
  const results = await fetcher.fetch([
    { topic: "b", partition: 0, offset: 0n },
    { topic: "a", partition: 0, offset: 3n },
    { topic: "a", partition: 1, offset: 3n },
  ]);
  assert.deepEqual(
    results.map((r) => [
      r.topic,
      r.partition,
      r.error,
      valuesOf(r.batches),
      r.nextOffset,
      r.highWatermark,
    ]),
    [
      ["b", 0, null, ["b0-0", "b0-1", "b0-2"], 3n, 3n],
      ["a", 0, null, ["a0-3", "a0-4"], 5n, 5n],
      ["a", 1, null, [], 3n, 3n],
    ],
  );
  const fetches = cluster.requests.filter((r) => r.apiName === "Fetch");
  assert.deepEqual(fetches.map((f) => f.nodeId).sort(), [1, 2]);
  assert.equal(fetcher.leaderOf("a", 1), 2);
});

test("a position inside a compressed batch returns the whole batch, flagged partial", async () => {
  const { cluster, client } = setup();
  cluster.createTopic("t", 1);
  cluster.append("t", 0, batch(["v0", "v1", "v2", "v3"], { compression: CompressionType.Gzip }));
  cluster.append("t", 0, batch(["v4"]));
  const [r] = await createPartitionFetcher(client).fetch([
    { topic: "t", partition: 0, offset: 2n },
  ]);
  assert.equal(r!.partialFirstBatch, true);
  assert.equal(r!.batches[0]!.baseOffset, 0n);
  assert.deepEqual(valuesOf(r!.batches, r!.fetchOffset), ["v2", "v3", "v4"]);
  assert.equal(r!.nextOffset, 5n);
  const [whole] = await createPartitionFetcher(client).fetch([
    { topic: "t", partition: 0, offset: 4n },
  ]);
  assert.equal(whole!.partialFirstBatch, false);
});

test("read_committed drops aborted transactions and markers and moves past them; read_uncommitted keeps the data", async () => {
  const { cluster, client } = setup();
  cluster.createTopic("t", 1);
  cluster.append("t", 0, batch(["plain"]));
  cluster.append(
    "t",
    0,
    batch(["aborted-1", "aborted-2"], {
      producerId: 7n,
      producerEpoch: 0,
      baseSequence: 0,
      isTransactional: true,
    }),
  );
  cluster.append(
    "t",
    0,
    batch(["committed"], {
      producerId: 8n,
      producerEpoch: 0,
      baseSequence: 0,
      isTransactional: true,
    }),
  );
  cluster.endTransaction("t", 0, 7n, false);
  cluster.endTransaction("t", 0, 8n, true);
  const committed = await createPartitionFetcher(client).fetch([
    { topic: "t", partition: 0, offset: 0n },
  ]);
  const r = committed[0]!;
  assert.deepEqual(valuesOf(r.batches), ["plain", "committed"]);
  assert.deepEqual(r.abortedTransactions, [{ producerId: 7n, firstOffset: 1n }]);
  assert.equal(r.nextOffset, 6n, "past both markers");
  assert.equal(r.lastStableOffset, 6n);
  const uncommitted = await createPartitionFetcher(client, {
    isolationLevel: "read_uncommitted",
  }).fetch([{ topic: "t", partition: 0, offset: 0n }]);
  assert.deepEqual(valuesOf(uncommitted[0]!.batches), [
    "plain",
    "aborted-1",
    "aborted-2",
    "committed",
  ]);
});

test("read_committed stops at an open transaction", async () => {
  const { cluster, client } = setup();
  cluster.createTopic("t", 1);
  cluster.append("t", 0, batch(["before"]));
  cluster.append(
    "t",
    0,
    batch(["open"], { producerId: 9n, producerEpoch: 0, baseSequence: 0, isTransactional: true }),
  );
  cluster.append("t", 0, batch(["after"]));
  const [r] = await createPartitionFetcher(client).fetch([
    { topic: "t", partition: 0, offset: 0n },
  ]);
  assert.deepEqual(valuesOf(r!.batches), ["before"]);
  assert.equal(r!.nextOffset, 1n);
  assert.equal(r!.lastStableOffset, 1n);
  assert.equal(r!.highWatermark, 3n);
});

test("a moved leader is a retriable error, and the next fetch goes to the new leader", async () => {
  const { cluster, client } = setup([1, 2]);
  cluster.createTopic("t", 1, [1]);
  cluster.append("t", 0, batch(["x"]));
  const fetcher = createPartitionFetcher(client);
  await fetcher.fetch([{ topic: "t", partition: 0, offset: 0n }]);
  cluster.moveLeader("t", 0, 2);
  const [failed] = await fetcher.fetch([{ topic: "t", partition: 0, offset: 0n }]);
  assert.equal(failed!.error?.code, "NOT_LEADER_OR_FOLLOWER");
  assert.equal(failed!.error?.retriable, true);
  assert.equal(failed!.nextOffset, 0n);
  const [ok] = await fetcher.fetch([{ topic: "t", partition: 0, offset: 0n }]);
  assert.equal(ok!.error, null);
  assert.deepEqual(valuesOf(ok!.batches), ["x"]);
  assert.equal(cluster.requests.filter((r) => r.apiName === "Fetch").at(-1)!.nodeId, 2);
});

test("an offset outside the log is an OffsetOutOfRangeError carrying the log's bounds", async () => {
  const { cluster, client } = setup();
  cluster.createTopic("t", 1);
  for (let i = 0; i < 4; i++) cluster.append("t", 0, batch([`v${i}`]));
  cluster.partition("t", 0).logStartOffset = 2n;
  const [low, high] = await createPartitionFetcher(client)
    .fetch([{ topic: "t", partition: 0, offset: 1n }])
    .then(async (a) => [
      ...a,
      ...(await createPartitionFetcher(client).fetch([{ topic: "t", partition: 0, offset: 10n }])),
    ]);
  for (const r of [low!, high!]) {
    assert.ok(r.error instanceof OffsetOutOfRangeError, String(r.error));
    assert.equal(r.error.retriable, false);
    assert.equal(r.error.logStartOffset, 2n);
    assert.equal(r.error.highWatermark, 4n);
    assert.equal(r.errorCode, KafkaErrorCode.OFFSET_OUT_OF_RANGE);
  }
  assert.equal((low!.error as OffsetOutOfRangeError).fetchOffset, 1n);
});

test("a broker that is down fails only its partitions, retriably", async () => {
  const { cluster, client } = setup([1, 2]);
  cluster.createTopic("t", 2, [1, 2]);
  cluster.append("t", 0, batch(["on-1"]));
  cluster.append("t", 1, batch(["on-2"]));
  const fetcher = createPartitionFetcher(client);
  await fetcher.fetch([{ topic: "t", partition: 0, offset: 0n }]);
  cluster.down.add(2);
  const [ok, down] = await fetcher.fetch([
    { topic: "t", partition: 0, offset: 0n },
    { topic: "t", partition: 1, offset: 0n },
  ]);
  assert.deepEqual(valuesOf(ok!.batches), ["on-1"]);
  assert.ok(down!.error instanceof ConnectionError);
  assert.equal(down!.error.retriable, true);
});

test("a missing topic is reported per partition without failing the others", async () => {
  const { cluster, client } = setup();
  cluster.createTopic("t", 1);
  cluster.append("t", 0, batch(["x"]));
  const [missing, ok] = await createPartitionFetcher(client).fetch([
    { topic: "gone", partition: 0, offset: 0n },
    { topic: "t", partition: 0, offset: 0n },
  ]);
  assert.equal(missing!.error?.code, "UNKNOWN_TOPIC_OR_PARTITION");
  assert.deepEqual(valuesOf(ok!.batches), ["x"]);
});

test("a batch larger than the partition limit comes whole when its partition is first, else flagged incomplete", async () => {
  const { cluster, client } = setup();
  cluster.createTopic("t", 2);
  const big = batch(["x".repeat(5000)]);
  cluster.append("t", 0, big);
  cluster.append("t", 1, big);
  const fetcher = createPartitionFetcher(client, { partitionMaxBytes: 1000 });
  const positions = [
    { topic: "t", partition: 0, offset: 0n },
    { topic: "t", partition: 1, offset: 0n },
  ];
  const seen = new Set<number>();
  for (let i = 0; i < 2; i++) {
    const results = await fetcher.fetch(positions);
    const whole = results.filter((r) => r.batches.length === 1);
    const cut = results.filter((r) => r.incomplete);
    assert.equal(whole.length, 1);
    assert.equal(cut.length, 1);
    assert.equal(cut[0]!.nextOffset, 0n);
    seen.add(whole[0]!.partition);
  }
  assert.deepEqual([...seen].sort(), [0, 1], "rotation lets each partition come first");
});

test("listOffsets: earliest, latest (LSO under read_committed)", async () => {
  const { cluster, client } = setup();
  cluster.createTopic("t", 2);
  for (let i = 0; i < 3; i++) cluster.append("t", 0, batch([`v${i}`]));
  cluster.append(
    "t",
    0,
    batch(["open"], { producerId: 9n, producerEpoch: 0, baseSequence: 0, isTransactional: true }),
  );
  cluster.partition("t", 0).logStartOffset = 1n;
  const fetcher = createPartitionFetcher(client);
  assert.deepEqual(
    (await fetcher.listOffsets("t", [0, 1], "earliest")).map((o) => o.offset),
    [1n, 0n],
  );
  assert.deepEqual(
    (await fetcher.listOffsets("t", [0, 1], "latest")).map((o) => o.offset),
    [3n, 0n],
  );
  assert.deepEqual(
    (await client.listOffsets("t", [0], "latest", { isolationLevel: "read_uncommitted" })).map(
      (o) => o.offset,
    ),
    [4n],
  );
});

test("listOffsets of a partition added after the topic's metadata was cached", async () => {
  const { cluster, client } = setup();
  cluster.createTopic("t", 1);
  assert.deepEqual(
    (await client.listOffsets("t", [0], "latest")).map((o) => o.offset),
    [0n],
  );
  cluster.createTopic("t", 2);
  cluster.append("t", 1, batch(["new"]));
  // Without asking the broker again this would fail for metadataMaxAgeMs (5 min).
  assert.deepEqual(
    (await client.listOffsets("t", [1], "latest", { timeoutMs: 2000 })).map((o) => o.offset),
    [1n],
  );
});
