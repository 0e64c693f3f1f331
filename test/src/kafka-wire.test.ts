// @geo/kafka-wire against a real single-node Kafka: explicit-partition fetch, raw batches
// produced idempotently and read back by Kafka's own console consumer, fetch → produce
// forwarding without re-encoding, read_committed, and the typed errors the agent acts on.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { kafkaClientOptions } from "@geo/kafka";
import {
  createIdempotentProducer,
  createPartitionFetcher,
  createWireClient,
  type IdempotentProducer,
  type KafkaWireClient,
  OffsetOutOfRangeError,
  PartitionFailedError,
  type PartitionFetcher,
  type PartitionFetchResult,
  RecordRejectedError,
} from "@geo/kafka-wire";
import { type KafkaCluster, runKafkaTool, startKafkaCluster } from "@geo/local-runtime";
import { createLogger } from "@geo/logging";
import {
  CompressionType,
  decodeRecordBatches,
  encodeRecordBatch,
  type KafkaRecord,
  type RecordBatch,
} from "@geo/record-batch";
import { type Admin, Kafka, logLevel } from "kafkajs";
import { createTopicsAndWaitForLeaders } from "./support/create-topics";
import { waitFor } from "./support/wait-for";

let cluster: KafkaCluster;
let kafka: Kafka;
let admin: Admin;
let client: KafkaWireClient;
let fetcher: PartitionFetcher;
let producer: IdempotentProducer;

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;
const TS = 1_700_000_000_000n;

before(async () => {
  cluster = await startKafkaCluster({ name: "kafka-wire" });
  kafka = new Kafka({
    clientId: "kafka-wire-test",
    brokers: cluster.bootstrapServers,
    logLevel: logLevel.NOTHING,
  });
  admin = kafka.admin();
  await admin.connect();
  const logger = createLogger({ service: "kafka-wire-test", level: "error" });
  // The production path: project cluster config → kafkajs config → wire client.
  client = createWireClient(
    kafkaClientOptions(
      { alias: "local", region: "local", bootstrapServers: cluster.bootstrapServers },
      { clientId: "kafka-wire-test", logger },
    ),
    { logger },
  );
  fetcher = createPartitionFetcher(client, { maxWaitMs: 100 });
  producer = createIdempotentProducer(client, { deliveryTimeoutMs: 20_000 });
});

after(async () => {
  await producer?.close();
  await fetcher?.close();
  await client?.close();
  await admin?.disconnect();
  await cluster?.stop();
});

async function createTopic(
  topic: string,
  numPartitions = 1,
  configEntries: { name: string; value: string }[] = [],
) {
  await createTopicsAndWaitForLeaders(admin, [
    { topic, numPartitions, replicationFactor: 1, configEntries },
  ]);
}

/** Fetch a partition from `from` until `until`, polling with a deadline. */
async function fetchAll(
  f: PartitionFetcher,
  topic: string,
  partition: number,
  from: bigint,
  until: bigint,
  timeoutMs = 15_000,
): Promise<{ batches: RecordBatch[]; results: PartitionFetchResult[] }> {
  const deadline = Date.now() + timeoutMs;
  const batches: RecordBatch[] = [];
  const results: PartitionFetchResult[] = [];
  let offset = from;
  while (offset < until) {
    const [r] = await f.fetch([{ topic, partition, offset }]);
    results.push(r!);
    if (r!.error !== null && !r!.error.retriable) throw r!.error;
    batches.push(...r!.batches);
    offset = r!.nextOffset;
    if (Date.now() > deadline)
      assert.fail(`timed out fetching ${topic}-${partition} up to ${until}, at ${offset}`);
  }
  return { batches, results };
}

const recordsOf = (batches: RecordBatch[], from = 0n) =>
  batches.flatMap((b) => b.records()).filter((r) => r.offset >= from);

/** Everything the agent must carry over, byte for byte. */
const fidelity = (r: KafkaRecord) => ({
  timestamp: r.timestamp,
  key: r.key === null ? null : r.key.toString("hex"),
  value: r.value === null ? null : r.value.toString("hex"),
  headers: r.headers.map((h) => [
    h.key.toString("hex"),
    h.value === null ? null : h.value.toString("hex"),
  ]),
});

async function consoleConsume(topic: string, count: number): Promise<string[]> {
  const out = await runKafkaTool(
    cluster,
    "console-consumer",
    [
      "--topic",
      topic,
      "--from-beginning",
      "--max-messages",
      String(count),
      "--timeout-ms",
      "20000",
      "--property",
      "print.timestamp=true",
      "--property",
      "print.headers=true",
      "--property",
      "print.key=true",
    ],
    { timeoutMs: 45_000 },
  );
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.trim().split("\n");
}

test("fetches several topics and partitions at offsets the caller chooses", async () => {
  const a = unique("wire-fetch-a");
  const b = unique("wire-fetch-b");
  await createTopic(a, 3);
  await createTopic(b, 1);
  const kp = kafka.producer({ allowAutoTopicCreation: false });
  await kp.connect();
  for (let p = 0; p < 3; p++) {
    await kp.send({
      topic: a,
      messages: Array.from({ length: 10 }, (_, i) => ({ partition: p, value: `a${p}-${i}` })),
    });
  }
  await kp.send({
    topic: b,
    messages: Array.from({ length: 4 }, (_, i) => ({ partition: 0, value: `b-${i}` })),
  });
  await kp.disconnect();

  const positions = [
    { topic: a, partition: 0, offset: 0n },
    { topic: a, partition: 1, offset: 5n },
    { topic: a, partition: 2, offset: 10n },
    { topic: b, partition: 0, offset: 2n },
  ];
  const results = await fetcher.fetch(positions);
  assert.deepEqual(
    results.map((r) => [r.topic, r.partition, r.error]),
    positions.map((p) => [p.topic, p.partition, null]),
  );
  const values = results.map((r) =>
    recordsOf(r.batches, r.fetchOffset).map((x) => x.value?.toString()),
  );
  assert.deepEqual(values, [
    Array.from({ length: 10 }, (_, i) => `a0-${i}`),
    Array.from({ length: 5 }, (_, i) => `a1-${i + 5}`),
    [],
    ["b-2", "b-3"],
  ]);
  assert.deepEqual(
    results.map((r) => r.nextOffset),
    [10n, 10n, 10n, 4n],
  );
  assert.deepEqual(
    results.map((r) => r.highWatermark),
    [10n, 10n, 10n, 4n],
  );
  assert.deepEqual(
    results.map((r) => r.logStartOffset),
    [0n, 0n, 0n, 0n],
  );

  assert.deepEqual(
    (await fetcher.listOffsets(a, [0, 1, 2], "earliest")).map((o) => o.offset),
    [0n, 0n, 0n],
  );
  assert.deepEqual(
    (await fetcher.listOffsets(a, [0, 1, 2], "latest")).map((o) => o.offset),
    [10n, 10n, 10n],
  );
  const future = await client.listOffsets(a, [0], Date.now() + 3_600_000);
  assert.equal(future[0]!.offset, -1n, "no record at or after a future timestamp");
});

test("raw batches produced idempotently keep header order byte-exact (Kafka's console consumer)", async () => {
  const topic = unique("wire-headers");
  await createTopic(topic, 2);
  const batch = encodeRecordBatch({
    records: [
      {
        timestamp: TS,
        key: "k1",
        value: "v1",
        headers: [
          { key: "a", value: "1" },
          { key: "b", value: "2" },
          { key: "a", value: "3" },
        ],
      },
      {
        timestamp: TS + 5n,
        key: "k2",
        value: "v2",
        headers: [
          { key: "z", value: "9" },
          { key: "z", value: "8" },
        ],
      },
      { timestamp: TS + 7n, key: "k3", value: "v3" },
    ],
  });
  const [result] = await producer.produce(topic, 0, [batch]);
  assert.equal(result!.baseOffset, 0n);
  assert.equal(result!.lastOffset, 2n);
  const second = await producer.produce(topic, 0, [batch, batch]);
  assert.deepEqual(
    second.map((r) => r.baseOffset),
    [3n, 6n],
  );

  const lines = await consoleConsume(topic, 9);
  const expected = [
    `CreateTime:${TS}\ta:1,b:2,a:3\tk1\tv1`,
    `CreateTime:${TS + 5n}\tz:9,z:8\tk2\tv2`,
    `CreateTime:${TS + 7n}\tNO_HEADERS\tk3\tv3`,
  ];
  assert.deepEqual(lines, [...expected, ...expected, ...expected]);

  // And what the broker stored is our batch, byte for byte, apart from the fields a
  // producer or broker stamps (offset, leader epoch, producer id/epoch/sequence, CRC).
  const { batches } = await fetchAll(fetcher, topic, 0, 0n, 9n);
  const sent = decodeRecordBatches(batch)[0]!;
  assert.equal(batches.length, 3);
  for (const b of batches) {
    assert.deepEqual(b.raw.subarray(61), sent.raw.subarray(61), "records section identical");
    assert.equal(b.producerId, producer.partitionState(topic, 0)!.producerId);
    assert.equal(b.isTransactional, false);
  }
  assert.deepEqual(
    batches.map((b) => b.baseSequence),
    [0, 3, 6],
  );
});

test("fetch → produce forwards compressed batches without re-encoding: records, headers, timestamps intact", async () => {
  const source = unique("wire-src");
  const target = unique("wire-dst");
  await createTopic(source, 1);
  await createTopic(target, 1);
  const codecs = [
    CompressionType.None,
    CompressionType.Gzip,
    CompressionType.Snappy,
    CompressionType.Lz4,
    CompressionType.Zstd,
  ];
  const inputs = codecs.map((compression, c) =>
    encodeRecordBatch({
      compression,
      records: [
        {
          timestamp: TS + BigInt(c),
          key: null,
          value: "",
          headers: [
            { key: "a", value: "1" },
            { key: "b", value: "2" },
            { key: "a", value: "3" },
          ],
        },
        { timestamp: TS - 1000n, key: Buffer.from([0, 255, 1]), value: null },
        {
          timestamp: TS + 99n,
          key: "",
          value: randomBytes(300),
          headers: [{ key: "n", value: null }],
        },
      ],
    }),
  );
  await producer.produce(source, 0, inputs);

  const { batches } = await fetchAll(fetcher, source, 0, 0n, 15n);
  const results = await producer.produce(target, 0, batches);
  // The exact source → target offset map, from the broker's base offsets.
  assert.deepEqual(
    results.map((r, i) => [batches[i]!.baseOffset, r.baseOffset, r.lastOffset]),
    [
      [0n, 0n, 2n],
      [3n, 3n, 5n],
      [6n, 6n, 8n],
      [9n, 9n, 11n],
      [12n, 12n, 14n],
    ],
  );
  const copied = await fetchAll(fetcher, target, 0, 0n, 15n);
  assert.deepEqual(
    copied.batches.map((b) => b.compression),
    codecs,
    "each batch keeps its codec",
  );
  for (let i = 0; i < batches.length; i++) {
    // Not decompressed and recompressed: the compressed payload is the same bytes.
    assert.deepEqual(copied.batches[i]!.raw.subarray(61), batches[i]!.raw.subarray(61));
  }
  assert.deepEqual(recordsOf(copied.batches).map(fidelity), recordsOf(batches).map(fidelity));
  const lines = await consoleConsume(target, 3);
  assert.equal(lines[0], `CreateTime:${TS}\ta:1,b:2,a:3\tnull\t`);
});

test("batches written by Kafka's Java producer (lz4) are forwarded as they are", async () => {
  const source = unique("wire-java-src");
  const target = unique("wire-java-dst");
  await createTopic(source, 1);
  await createTopic(target, 1);
  const perf = await runKafkaTool(
    cluster,
    "producer-perf",
    [
      "--topic",
      source,
      "--num-records",
      "2000",
      "--record-size",
      "200",
      "--throughput",
      "-1",
      "--producer-props",
      `bootstrap.servers=${cluster.bootstrapServers.join(",")}`,
      "compression.type=lz4",
      "linger.ms=20",
      "acks=all",
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(perf.code, 0, perf.stderr);
  const { batches } = await fetchAll(fetcher, source, 0, 0n, 2000n);
  assert.ok(batches.every((b) => b.compression === CompressionType.Lz4));
  assert.ok(batches.length < 2000, `the Java producer batched (${batches.length} batches)`);
  await producer.produce(target, 0, batches);
  const copied = await fetchAll(fetcher, target, 0, 0n, 2000n);
  assert.deepEqual(recordsOf(copied.batches).map(fidelity), recordsOf(batches).map(fidelity));
});

test("read_committed skips an aborted transaction and moves past the markers", async () => {
  const topic = unique("wire-txn");
  await createTopic(topic, 1);
  const txProducer = kafka.producer({
    transactionalId: unique("wire-txn-id"),
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await txProducer.connect();
  try {
    const aborted = await txProducer.transaction();
    await aborted.send({
      topic,
      messages: [
        { partition: 0, value: "aborted-1" },
        { partition: 0, value: "aborted-2" },
      ],
    });
    await aborted.abort();
    const committed = await txProducer.transaction();
    await committed.send({ topic, messages: [{ partition: 0, value: "committed-1" }] });
    await committed.commit();
  } finally {
    await txProducer.disconnect();
  }
  // aborted-1, aborted-2, ABORT marker, committed-1, COMMIT marker. The transaction coordinator
  // writes the markers after it answered EndTxn, so the last one can arrive a moment later.
  let end = 0n;
  await waitFor("the COMMIT marker at offset 4", async () => {
    end = (
      await client.listOffsets(topic, [0], "latest", { isolationLevel: "read_uncommitted" })
    )[0]!.offset;
    return end === 5n;
  });
  const { batches, results } = await fetchAll(fetcher, topic, 0, 0n, end);
  assert.deepEqual(
    recordsOf(batches).map((r) => r.value?.toString()),
    ["committed-1"],
  );
  assert.ok(
    results.some((r) => r.abortedTransactions.length === 1),
    "the broker listed the aborted transaction",
  );
  assert.equal(results.at(-1)!.nextOffset, 5n);

  const uncommitted = createPartitionFetcher(client, {
    isolationLevel: "read_uncommitted",
    maxWaitMs: 100,
  });
  const all = await fetchAll(uncommitted, topic, 0, 0n, end);
  assert.deepEqual(
    recordsOf(all.batches).map((r) => r.value?.toString()),
    ["aborted-1", "aborted-2", "committed-1"],
  );
});

test("an offset outside the log is a typed OffsetOutOfRangeError with the log's bounds", async () => {
  const topic = unique("wire-oor");
  await createTopic(topic, 1);
  await producer.produce(
    topic,
    0,
    Array.from({ length: 6 }, (_, i) =>
      encodeRecordBatch({ records: [{ timestamp: TS, key: null, value: `v${i}` }] }),
    ),
  );
  const [above] = await fetcher.fetch([{ topic, partition: 0, offset: 100n }]);
  assert.ok(above!.error instanceof OffsetOutOfRangeError, String(above!.error));
  assert.equal(above!.error.retriable, false);
  assert.equal(above!.error.logStartOffset, 0n);
  assert.equal(above!.error.highWatermark, 6n);

  // kafkajs's admin finds the leader only for topics it has metadata for.
  await admin.fetchTopicMetadata({ topics: [topic] });
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "4" }] });
  const [below] = await fetcher.fetch([{ topic, partition: 0, offset: 1n }]);
  assert.ok(below!.error instanceof OffsetOutOfRangeError, String(below!.error));
  assert.equal(below!.error.fetchOffset, 1n);
  assert.equal(below!.error.logStartOffset, 4n);
  assert.equal(below!.error.highWatermark, 6n);
});

test("an oversize batch is a RecordRejectedError that stops only its partition; a missing topic too", async () => {
  const topic = unique("wire-small");
  await createTopic(topic, 2, [{ name: "max.message.bytes", value: "1024" }]);
  const big = encodeRecordBatch({
    records: [{ timestamp: TS, key: null, value: randomBytes(4096) }],
  });
  const small = encodeRecordBatch({ records: [{ timestamp: TS, key: null, value: "small" }] });
  const outcomes = await Promise.allSettled([
    producer.send(topic, 0, big),
    producer.send(topic, 0, small),
  ]);
  const rejected = (outcomes[0] as PromiseRejectedResult).reason;
  assert.ok(rejected instanceof RecordRejectedError, String(rejected));
  assert.equal(rejected.reason, "MESSAGE_TOO_LARGE");
  assert.equal(rejected.retriable, false);
  assert.equal(rejected.topic, topic);
  assert.equal(rejected.partition, 0);
  assert.ok((outcomes[1] as PromiseRejectedResult).reason instanceof PartitionFailedError);
  // The other partition goes on; the stopped one after a reset.
  assert.equal((await producer.send(topic, 1, small)).baseOffset, 0n);
  await producer.resetPartition(topic, 0);
  assert.equal((await producer.send(topic, 0, small)).baseOffset, 0n);

  await assert.rejects(producer.send(unique("wire-missing"), 0, small), (e: unknown) => {
    assert.ok(e instanceof RecordRejectedError, String(e));
    assert.equal(e.reason, "UNKNOWN_TOPIC_OR_PARTITION");
    return true;
  });
});
