// The wire format against kafkajs's own encoders and decoders (an independent
// implementation of the same Kafka schemas), and responses built by hand byte by byte.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeRecordBatches, encodeRecordBatch } from "@geo/record-batch";
import { decodeClusterOperations } from "./cluster-operations";
import { decodeFetchResponse, encodeFetchRequest } from "./fetch-protocol";
import {
  decodeInitProducerIdResponse,
  encodeInitProducerIdRequest,
} from "./init-producer-id-protocol";
import { MalformedResponseError } from "./kafka-wire-error";
import { decodeListOffsetsResponse, encodeListOffsetsRequest } from "./list-offsets-protocol";
import { decodeMetadataResponse, encodeMetadataRequest } from "./metadata-protocol";
import { decodeProduceResponse, encodeProduceRequest } from "./produce-protocol";
import { WireReader } from "./wire-reader";
import { WireWriter } from "./wire-writer";

type KjsRequest = { apiKey: number; apiVersion: number; encode(): Promise<{ buffer: Buffer }> };
const kjs = (path: string) => require(`kafkajs/src/protocol/requests/${path}`);
const kjsBytes = async (req: KjsRequest) => (await req.encode()).buffer;

test("Fetch v11 request matches kafkajs's encoder, 64-bit offsets exact", async () => {
  const topics = [
    {
      topic: "orders",
      partitions: [
        {
          partition: 0,
          currentLeaderEpoch: 5,
          fetchOffset: 9007199254740993n,
          logStartOffset: -1n,
          partitionMaxBytes: 1048576,
        },
        {
          partition: 3,
          currentLeaderEpoch: -1,
          fetchOffset: 0n,
          logStartOffset: -1n,
          partitionMaxBytes: 65536,
        },
      ],
    },
    {
      topic: "payments.é",
      partitions: [
        {
          partition: 1,
          currentLeaderEpoch: 0,
          fetchOffset: 42n,
          logStartOffset: -1n,
          partitionMaxBytes: 1,
        },
      ],
    },
  ];
  const ours = encodeFetchRequest({
    maxWaitMs: 500,
    minBytes: 1,
    maxBytes: 16777216,
    isolationLevel: 1,
    topics,
  });
  const theirs = await kjsBytes(
    kjs("fetch/v11/request")({
      replicaId: -1,
      maxWaitTime: 500,
      minBytes: 1,
      maxBytes: 16777216,
      isolationLevel: 1,
      topics: topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => ({
          partition: p.partition,
          currentLeaderEpoch: p.currentLeaderEpoch,
          fetchOffset: p.fetchOffset.toString(),
          logStartOffset: -1,
          maxBytes: p.partitionMaxBytes,
        })),
      })),
    }),
  );
  assert.deepEqual(ours, theirs);
});

/** Split a Produce v3+ request body into its record sets. */
function recordSets(body: Buffer) {
  const r = new WireReader(body, "Produce request");
  const head = { transactionalId: r.nullableString(), acks: r.int16(), timeout: r.int32() };
  const topics = r.array((r) => ({
    topic: r.string(),
    partitions: r.array((r) => ({ partition: r.int32(), batch: r.nullableBytes()! })),
  }));
  assert.equal(r.remaining, 0);
  return { ...head, topics };
}

const kjsTopicData = (firstSequence: (p: number) => number) => [
  {
    topic: "t1",
    partitions: [0, 2].map((partition) => ({
      partition,
      firstSequence: firstSequence(partition),
      messages: [
        {
          key: "k1",
          value: `v-${partition}`,
          timestamp: 1700000000000,
          headers: { a: "1", b: "2" },
        },
        { key: null, value: null, timestamp: 1700000000005 },
      ],
    })),
  },
  {
    topic: "t2",
    partitions: [
      {
        partition: 1,
        firstSequence: firstSequence(1),
        messages: [{ key: "", value: "x", timestamp: 1 }],
      },
    ],
  },
];

test("Produce v7 request matches kafkajs's, batches copied untouched", async () => {
  const theirs = await kjsBytes(
    kjs("produce/v7/request")({
      acks: -1,
      timeout: 30000,
      transactionalId: null,
      topicData: kjsTopicData(() => 0),
    }),
  );
  const parsed = recordSets(theirs);
  assert.equal(parsed.transactionalId, null);
  const ours = encodeProduceRequest({ acks: -1, timeoutMs: 30000, topics: parsed.topics });
  assert.deepEqual(ours, theirs);
  // And the batches inside decode with their headers in order.
  const rec = decodeRecordBatches(parsed.topics[0]!.partitions[0]!.batch)[0]!.records()[0]!;
  assert.deepEqual(
    rec.headers.map((h) => `${h.keyString}=${h.value}`),
    ["a=1", "b=2"],
  );
});

test("stamping producer id, epoch and sequence in the request gives kafkajs's idempotent bytes", async () => {
  const producerId = 4242;
  const seq = (p: number) => 100 + p * 7;
  const plain = recordSets(
    await kjsBytes(
      kjs("produce/v7/request")({ acks: -1, timeout: 5000, topicData: kjsTopicData(() => 0) }),
    ),
  );
  const theirs = await kjsBytes(
    kjs("produce/v7/request")({
      acks: -1,
      timeout: 5000,
      producerId,
      producerEpoch: 3,
      topicData: kjsTopicData(seq),
    }),
  );
  const ours = encodeProduceRequest({
    acks: -1,
    timeoutMs: 5000,
    topics: plain.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => ({
        partition: p.partition,
        batch: p.batch,
        stamp: {
          producerId: BigInt(producerId),
          producerEpoch: 3,
          baseSequence: seq(p.partition),
          isTransactional: false,
        },
      })),
    })),
  });
  assert.deepEqual(ours, theirs, "same bytes, CRC included");
  // The caller's batches are not modified.
  assert.equal(decodeRecordBatches(plain.topics[0]!.partitions[0]!.batch)[0]!.producerId, -1n);
});

test("Metadata, ListOffsets and InitProducerId requests match kafkajs's", async () => {
  assert.deepEqual(
    encodeMetadataRequest(6, { topics: ["a", "b.c"], allowAutoTopicCreation: false }),
    await kjsBytes(
      kjs("metadata/v6/request")({ topics: ["a", "b.c"], allowAutoTopicCreation: false }),
    ),
  );
  assert.deepEqual(
    encodeListOffsetsRequest(3, {
      isolationLevel: 1,
      topics: [
        {
          topic: "t",
          partitions: [
            { partition: 0, currentLeaderEpoch: -1, timestamp: -2n },
            { partition: 4, currentLeaderEpoch: -1, timestamp: 1700000000000n },
          ],
        },
      ],
    }),
    await kjsBytes(
      kjs("listOffsets/v3/request")({
        replicaId: -1,
        isolationLevel: 1,
        topics: [
          {
            topic: "t",
            partitions: [
              { partition: 0, timestamp: -2 },
              { partition: 4, timestamp: 1700000000000 },
            ],
          },
        ],
      }),
    ),
  );
  assert.deepEqual(
    encodeInitProducerIdRequest({ transactionalId: null, transactionTimeoutMs: 60000 }),
    await kjsBytes(
      kjs("initProducerId/v1/request")({ transactionalId: null, transactionTimeout: 60000 }),
    ),
  );
});

function fetchResponseBytes() {
  const data = Buffer.concat([
    encodeRecordBatch({ baseOffset: 10n, records: [{ timestamp: 1n, key: "k", value: "v10" }] }),
    encodeRecordBatch({
      baseOffset: 11n,
      producerId: 99n,
      producerEpoch: 0,
      baseSequence: 0,
      isTransactional: true,
      records: [{ timestamp: 2n, key: null, value: "v11" }],
    }),
  ]);
  const w = new WireWriter();
  w.int32(0).int16(0).int32(0);
  w.array(["t"], (w, topic) => {
    w.string(topic);
    w.array([0, 1], (w, p) => {
      if (p === 0) {
        w.int32(0).int16(0).int64(9007199254740993n).int64(12n).int64(3n);
        w.array([{ pid: 99n, first: 11n }], (w, a) => w.int64(a.pid).int64(a.first));
        w.int32(-1).bytes(data);
      } else {
        w.int32(1).int16(6).int64(-1n).int64(-1n).int64(-1n).int32(-1).int32(-1).int32(-1);
      }
    });
  });
  return { bytes: w.finish(), data };
}

test("Fetch v11 response: a hand-built buffer decodes, and kafkajs agrees on every field", async () => {
  const { bytes, data } = fetchResponseBytes();
  const ours = decodeFetchResponse(bytes);
  assert.equal(ours.topics[0]!.topic, "t");
  const [p0, p1] = ours.topics[0]!.partitions;
  assert.deepEqual(
    { ...p0!, records: undefined },
    {
      partition: 0,
      errorCode: 0,
      highWatermark: 9007199254740993n,
      lastStableOffset: 12n,
      logStartOffset: 3n,
      abortedTransactions: [{ producerId: 99n, firstOffset: 11n }],
      preferredReadReplica: -1,
      records: undefined,
    },
  );
  assert.deepEqual(p0!.records, data);
  assert.equal(
    p0!.records!.buffer,
    bytes.buffer,
    "records are a view into the response, not a copy",
  );
  assert.deepEqual(
    { ...p1!, records: p1!.records },
    {
      partition: 1,
      errorCode: 6,
      highWatermark: -1n,
      lastStableOffset: -1n,
      logStartOffset: -1n,
      abortedTransactions: null,
      preferredReadReplica: -1,
      records: null,
    },
  );
  const theirs = await kjs("fetch/v11/response").decode(bytes);
  const k0 = theirs.responses[0].partitions[0];
  assert.equal(k0.highWatermark, "9007199254740993");
  assert.equal(k0.lastStableOffset, "12");
  assert.equal(k0.lastStartOffset, "3");
  assert.deepEqual(k0.abortedTransactions, [{ producerId: "99", firstOffset: "11" }]);
  assert.deepEqual(
    k0.messages.map((m: { value: Buffer }) => m.value.toString()),
    ["v10", "v11"],
  );
  assert.equal(theirs.responses[0].partitions[1].errorCode, 6);
});

test("Produce v7 response decodes as kafkajs does; v8 adds record errors and the broker's message", async () => {
  const v7 = new WireWriter();
  v7.array(["t"], (w, t) =>
    w.string(t).array([0, 1], (w, p) =>
      w
        .int32(p)
        .int16(p === 0 ? 0 : 10)
        .int64(p === 0 ? 1234n : -1n)
        .int64(-1n)
        .int64(7n),
    ),
  );
  v7.int32(15);
  const bytes = v7.finish();
  const ours = decodeProduceResponse(7, bytes);
  assert.equal(ours.throttleTimeMs, 15);
  assert.deepEqual(
    ours.topics[0]!.partitions.map((p) => [
      p.partition,
      p.errorCode,
      p.baseOffset,
      p.logStartOffset,
    ]),
    [
      [0, 0, 1234n, 7n],
      [1, 10, -1n, 7n],
    ],
  );
  const theirs = await kjs("produce/v7/response").decode(bytes);
  assert.deepEqual(
    theirs.topics[0].partitions.map(
      (p: { partition: number; errorCode: number; baseOffset: string }) => [
        p.partition,
        p.errorCode,
        p.baseOffset,
      ],
    ),
    [
      [0, 0, "1234"],
      [1, 10, "-1"],
    ],
  );

  const v8 = new WireWriter();
  v8.array(["t"], (w, t) =>
    w.string(t).array([2], (w, p) => {
      w.int32(p).int16(87).int64(-1n).int64(-1n).int64(0n);
      w.array([{ i: 3, m: "bad header" }], (w, e) => w.int32(e.i).string(e.m));
      w.string("One or more records have been rejected");
    }),
  );
  v8.int32(0);
  const p8 = decodeProduceResponse(8, v8.finish()).topics[0]!.partitions[0]!;
  assert.deepEqual(p8.recordErrors, [{ batchIndex: 3, message: "bad header" }]);
  assert.equal(p8.errorMessage, "One or more records have been rejected");
});

test("Metadata v8, ListOffsets v4 and InitProducerId responses decode from hand-built bytes", () => {
  const m = new WireWriter();
  m.int32(0);
  m.array(
    [
      { id: 1, host: "127.0.0.1", port: 9092, rack: null },
      { id: 2, host: "h2", port: 9093, rack: "r1" },
    ],
    (w, b) => w.int32(b.id).string(b.host).int32(b.port).string(b.rack),
  );
  m.string("cid").int32(1);
  m.array(["t", "gone"], (w, t) => {
    w.int16(t === "t" ? 0 : 3)
      .string(t)
      .bool(false);
    w.array(t === "t" ? [0] : [], (w, p) => {
      w.int16(0).int32(p).int32(2).int32(17);
      w.array([2, 1], (w, n) => w.int32(n))
        .array([2], (w, n) => w.int32(n))
        .array([1], (w, n) => w.int32(n));
    });
    w.int32(-2147483648);
  });
  m.int32(-2147483648);
  const meta = decodeMetadataResponse(8, m.finish());
  assert.deepEqual(meta.brokers, [
    { nodeId: 1, host: "127.0.0.1", port: 9092, rack: null },
    { nodeId: 2, host: "h2", port: 9093, rack: "r1" },
  ]);
  assert.equal(meta.clusterId, "cid");
  assert.deepEqual(meta.topics[0]!.partitions[0], {
    errorCode: 0,
    partition: 0,
    leaderId: 2,
    leaderEpoch: 17,
    replicas: [2, 1],
    isr: [2],
    offlineReplicas: [1],
  });
  assert.equal(meta.topics[1]!.errorCode, 3);
  assert.equal(decodeClusterOperations(meta.clusterAuthorizedOperations), undefined, "not asked");
  const asked = encodeMetadataRequest(8, { topics: [], includeClusterAuthorizedOperations: true });
  assert.deepEqual(
    [...asked.subarray(-3)],
    [0, 1, 0],
    "no auto-creation, cluster ops, no topic ops",
  );
  // DESCRIBE (8) and DESCRIBE_CONFIGS (10): may read ACLs, may not change them (ALTER, 7).
  assert.deepEqual(decodeClusterOperations((1 << 8) | (1 << 10)), ["DESCRIBE", "DESCRIBE_CONFIGS"]);
  assert.ok(decodeClusterOperations(1 << 7)?.includes("ALTER"));

  const lo = new WireWriter();
  lo.int32(0).array(["t"], (w, t) =>
    w
      .string(t)
      .array([0], (w, p) => w.int32(p).int16(0).int64(-1n).int64(9007199254740993n).int32(4)),
  );
  assert.deepEqual(decodeListOffsetsResponse(4, lo.finish()).topics[0]!.partitions[0], {
    partition: 0,
    errorCode: 0,
    timestamp: -1n,
    offset: 9007199254740993n,
    leaderEpoch: 4,
  });

  const ip = new WireWriter().int32(0).int16(0).int64(123456789012n).int16(2).finish();
  assert.deepEqual(decodeInitProducerIdResponse(ip), {
    throttleTimeMs: 0,
    errorCode: 0,
    producerId: 123456789012n,
    producerEpoch: 2,
  });
});

test("a truncated response is a MalformedResponseError, not half-read values", () => {
  const { bytes } = fetchResponseBytes();
  for (const cut of [3, 20, 60, bytes.length - 1]) {
    assert.throws(() => decodeFetchResponse(bytes.subarray(0, cut)), MalformedResponseError);
  }
  // An absurd array count is refused before anything is allocated for it.
  const w = new WireWriter().int32(0).int16(0).int32(0).int32(0x7fffffff).finish();
  assert.throws(() => decodeFetchResponse(w), MalformedResponseError);
});
