import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeRecordBatch, RecordBatch } from "@geo/record-batch";
import { createIdempotentProducer } from "./idempotent-producer";
import { KafkaErrorCode } from "./kafka-error-codes";
import {
  DeliveryTimeoutError,
  PartitionFailedError,
  RecordRejectedError,
  RequestTimeoutError,
} from "./kafka-wire-error";
import { incrementSequence } from "./producer-partition";
import { FakeCluster } from "./testing";
import { createWireClient } from "./wire-client";
import type { BrokerEndpoint, WireRequest, WireTransport } from "./wire-transport";

const batch = (...values: string[]) =>
  encodeRecordBatch({
    records: values.map((v, i) => ({
      timestamp: 1_700_000_000_000n + BigInt(i),
      key: null,
      value: v,
    })),
  });

function setup(nodes = [1], opts: Parameters<typeof createIdempotentProducer>[1] = {}) {
  const cluster = new FakeCluster(nodes);
  const client = createWireClient(cluster, { retryBackoffMs: 5 });
  const producer = createIdempotentProducer(client, {
    retryBackoffMs: 5,
    maxRetryBackoffMs: 20,
    ...opts,
  });
  return { cluster, client, producer };
}

const values = (c: FakeCluster, t: string, p: number) => c.values(t, p).map((r) => r.value);

test("sequence numbers wrap like Kafka's", () => {
  assert.equal(incrementSequence(0, 5), 5);
  assert.equal(incrementSequence(0x7fffffff, 1), 0);
  assert.equal(incrementSequence(0x7ffffffe, 3), 1);
});

test("batches are stamped, pipelined and acknowledged with the offsets the broker assigned", async () => {
  const { cluster, producer } = setup();
  cluster.createTopic("t", 2);
  const inputs = Array.from({ length: 12 }, (_, i) => batch(`a${i}`, `b${i}`));
  const [r0, r1] = await Promise.all([
    producer.produce("t", 0, inputs),
    producer.produce("t", 1, [batch("x"), batch("y", "z")]),
  ]);
  assert.deepEqual(
    r0.map((r) => [r.baseOffset, r.lastOffset, r.recordCount]),
    inputs.map((_, i) => [BigInt(2 * i), BigInt(2 * i + 1), 2]),
  );
  assert.deepEqual(
    r1.map((r) => r.baseOffset),
    [0n, 1n],
  );
  assert.deepEqual(
    values(cluster, "t", 0),
    inputs.flatMap((_, i) => [`a${i}`, `b${i}`]),
  );
  assert.deepEqual(values(cluster, "t", 1), ["x", "y", "z"]);
  // One producer id, sequences counting records, never more than 5 batches of a partition in flight
  // (12 batches need at least 3 requests), and both partitions share requests.
  const produces = cluster.requests.filter((r) => r.apiName === "Produce");
  const seqs = produces.flatMap((r) =>
    r.partitions.filter((p) => p.partition === 0).map((p) => p.baseSequence),
  );
  assert.deepEqual(
    seqs,
    inputs.map((_, i) => 2 * i),
  );
  assert.ok(produces.length >= 3);
  assert.ok(
    produces.some((r) => r.partitions.length === 2),
    "partitions share a request",
  );
  assert.equal(new Set(produces.flatMap((r) => r.partitions.map((p) => p.producerId))).size, 1);
  assert.equal(producer.partitionState("t", 0)?.nextSequence, 24);
});

test("a forwarded RecordBatch keeps its records and loses its transactional flag", async () => {
  const { cluster, producer } = setup();
  cluster.createTopic("t", 1);
  const source = new RecordBatch(
    encodeRecordBatch({
      producerId: 77n,
      producerEpoch: 3,
      baseSequence: 40,
      isTransactional: true,
      records: [
        {
          timestamp: 5n,
          key: "k",
          value: "v",
          headers: [
            { key: "a", value: "1" },
            { key: "b", value: "2" },
            { key: "a", value: "3" },
          ],
        },
      ],
    }),
  );
  await producer.send("t", 0, source);
  const stored = new RecordBatch(cluster.partition("t", 0).batches[0]!.raw);
  assert.equal(stored.isTransactional, false);
  assert.equal(stored.baseSequence, 0);
  assert.notEqual(stored.producerId, 77n);
  stored.verifyCrc();
  const rec = stored.records()[0]!;
  assert.deepEqual(
    rec.headers.map((h) => `${h.keyString}=${h.value}`),
    ["a=1", "b=2", "a=3"],
  );
  assert.equal(rec.timestamp, 5n);
  // The caller's bytes are untouched: stamping happens in the request's copy.
  assert.equal(source.producerId, 77n);
  assert.equal(new RecordBatch(source.raw).producerId, 77n);
});

test("records input is encoded into a batch", async () => {
  const { cluster, producer } = setup();
  cluster.createTopic("t", 1);
  const r = await producer.send("t", 0, {
    records: [
      { timestamp: 1n, key: null, value: "r1" },
      { timestamp: 2n, key: "", value: null },
    ],
  });
  assert.equal(r.recordCount, 2);
  assert.deepEqual(values(cluster, "t", 0), ["r1", null]);
});

test("NOT_LEADER_OR_FOLLOWER: metadata is refreshed and the batches go to the new leader in order", async () => {
  const { cluster, producer } = setup([1, 2]);
  cluster.createTopic("t", 1, [1]);
  await producer.send("t", 0, batch("warm-up"));
  cluster.moveLeader("t", 0, 2);
  const results = await producer.produce("t", 0, [batch("a"), batch("b"), batch("c")]);
  assert.deepEqual(
    results.map((r) => r.baseOffset),
    [1n, 2n, 3n],
  );
  assert.deepEqual(values(cluster, "t", 0), ["warm-up", "a", "b", "c"]);
  const last = cluster.requests.filter((r) => r.apiName === "Produce").at(-1)!;
  assert.equal(last.nodeId, 2);
});

test("a batch written but not answered is re-sent and deduplicated into its original offset", async () => {
  const { cluster, producer } = setup();
  cluster.createTopic("t", 1);
  cluster.produceFault = (ctx) =>
    ctx.attempt === 2 ? { kind: "append-then-disconnect" } : undefined;
  const results = await producer.produce("t", 0, [batch("a"), batch("b"), batch("c")]);
  assert.deepEqual(
    results.map((r) => r.baseOffset),
    [0n, 1n, 2n],
  );
  assert.deepEqual(values(cluster, "t", 0), ["a", "b", "c"], "no duplicate");
});

test("a failed batch makes the later in-flight ones OUT_OF_ORDER; all are re-sent in order", async () => {
  const { cluster, producer } = setup();
  cluster.createTopic("t", 1);
  cluster.produceFault = (ctx) =>
    ctx.baseSequence === 1 && ctx.attempt === 2
      ? { kind: "error", code: KafkaErrorCode.NOT_ENOUGH_REPLICAS }
      : undefined;
  const inputs = ["a", "b", "c", "d", "e"].map((v) => batch(v));
  const results = await producer.produce("t", 0, inputs);
  assert.deepEqual(
    results.map((r) => r.baseOffset),
    [0n, 1n, 2n, 3n, 4n],
  );
  assert.deepEqual(values(cluster, "t", 0), ["a", "b", "c", "d", "e"]);
  const sent = cluster.requests
    .filter((r) => r.apiName === "Produce")
    .flatMap((r) => r.partitions.map((p) => p.baseSequence));
  // First pass 0..4 (1 fails, 2-4 out of order), then 1..4 again.
  assert.deepEqual(sent, [0, 1, 2, 3, 4, 1, 2, 3, 4]);
});

test("UNKNOWN_PRODUCER_ID on the oldest batch: a fresh producer id, sequences from 0", async () => {
  const { cluster, producer } = setup();
  cluster.createTopic("t", 1);
  await producer.produce("t", 0, [batch("a"), batch("b")]);
  const firstPid = producer.partitionState("t", 0)!.producerId;
  cluster.forgetProducers("t", 0);
  const results = await producer.produce("t", 0, [batch("c"), batch("d")]);
  assert.deepEqual(
    results.map((r) => r.baseOffset),
    [2n, 3n],
  );
  assert.deepEqual(values(cluster, "t", 0), ["a", "b", "c", "d"]);
  const state = producer.partitionState("t", 0)!;
  assert.notEqual(state.producerId, firstPid);
  assert.equal(state.nextSequence, 2);
});

test("MESSAGE_TOO_LARGE stops only that partition with RecordRejectedError; reset lets it go on", async () => {
  const { cluster, producer } = setup();
  cluster.createTopic("t", 2);
  cluster.produceFault = (ctx) =>
    ctx.partition === 0 && ctx.baseSequence === 1 && ctx.producerId === 1000n
      ? { kind: "error", code: KafkaErrorCode.MESSAGE_TOO_LARGE, message: "batch is 2000000 bytes" }
      : undefined;
  const outcomes = await Promise.allSettled([
    producer.send("t", 0, batch("ok")),
    producer.send("t", 0, batch("too-big")),
    producer.send("t", 0, batch("behind")),
  ]);
  const other = await producer.produce("t", 1, [batch("p1")]);
  assert.equal(outcomes[0]!.status, "fulfilled");
  const rejected = (outcomes[1] as PromiseRejectedResult).reason;
  assert.ok(rejected instanceof RecordRejectedError, String(rejected));
  assert.equal(rejected.reason, "MESSAGE_TOO_LARGE");
  assert.equal(rejected.retriable, false);
  assert.equal(rejected.brokerMessage, "batch is 2000000 bytes");
  assert.ok((outcomes[2] as PromiseRejectedResult).reason instanceof PartitionFailedError);
  assert.equal(other[0]!.baseOffset, 0n);
  await assert.rejects(producer.send("t", 0, batch("still stopped")), PartitionFailedError);
  assert.equal(producer.partitionState("t", 0)?.failed?.code, "RECORD_REJECTED");

  await producer.resetPartition("t", 0);
  const after = await producer.produce("t", 0, [batch("again")]);
  assert.equal(after[0]!.baseOffset, 1n);
  assert.deepEqual(values(cluster, "t", 0), ["ok", "again"]);
  assert.notEqual(
    producer.partitionState("t", 0)!.producerId,
    1000n,
    "a fresh producer id after a reset",
  );
});

test("until the broker acknowledged one batch, a partition has one in flight: nothing passes a refused first batch", async () => {
  const { cluster, producer } = setup();
  cluster.createTopic("t", 1);
  cluster.unknownProducerAnySequence = true; // as Kafka 2.5+ does for a producer it does not know
  cluster.produceFault = (ctx) =>
    ctx.baseSequence === 0 ? { kind: "error", code: KafkaErrorCode.MESSAGE_TOO_LARGE } : undefined;
  const outcomes = await Promise.allSettled([
    producer.send("t", 0, batch("refused")),
    producer.send("t", 0, batch("behind-1")),
    producer.send("t", 0, batch("behind-2")),
  ]);
  assert.ok((outcomes[0] as PromiseRejectedResult).reason instanceof RecordRejectedError);
  assert.ok((outcomes[1] as PromiseRejectedResult).reason instanceof PartitionFailedError);
  assert.ok((outcomes[2] as PromiseRejectedResult).reason instanceof PartitionFailedError);
  assert.deepEqual(
    values(cluster, "t", 0),
    [],
    "the broker would have taken behind-1 had it been sent",
  );
  assert.equal(cluster.requests.filter((r) => r.apiName === "Produce").length, 1);
});

test("a topic the target does not have is a RecordRejectedError, after the grace for new partitions", async () => {
  const { producer } = setup([1], { unknownPartitionGraceMs: 200 });
  const started = performance.now();
  await assert.rejects(producer.send("missing", 0, batch("x")), (e: unknown) => {
    assert.ok(e instanceof RecordRejectedError, String(e));
    assert.equal(e.reason, "UNKNOWN_TOPIC_OR_PARTITION");
    return true;
  });
  assert.ok(performance.now() - started >= 200, "looked up again for the grace period first");
});

test("a partition added after the topic's metadata was cached is written to, not refused", async () => {
  const { cluster, client, producer } = setup();
  cluster.createTopic("t", 1);
  await producer.send("t", 0, batch("before"));
  assert.equal(client.metadata.partitionCount("t"), 1, "the cache knows one partition");
  cluster.createTopic("t", 2); // the coordinator added a partition to the remote topic
  const result = await producer.send("t", 1, batch("new-partition"));
  assert.equal(result.baseOffset, 0n);
  assert.deepEqual(values(cluster, "t", 1), ["new-partition"]);
});

test("retriable failures past the deadline end in DeliveryTimeoutError, on time", async () => {
  const { cluster, producer } = setup([1], { deliveryTimeoutMs: 10_000 });
  cluster.createTopic("t", 1);
  cluster.produceFault = () => ({ kind: "error", code: KafkaErrorCode.NOT_ENOUGH_REPLICAS });
  const started = performance.now();
  const err = await producer
    .produce("t", 0, [batch("a"), batch("b")], { deadline: performance.now() + 300 })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  const elapsed = performance.now() - started;
  assert.ok(err instanceof DeliveryTimeoutError, String(err));
  assert.ok(elapsed >= 290 && elapsed < 1500, `failed after ${elapsed} ms`);
  assert.equal(cluster.values("t", 0).length, 0);
});

test("batches that cannot be forwarded as they are throw before anything is queued", async () => {
  const { cluster, producer } = setup();
  cluster.createTopic("t", 1);
  const compacted = encodeRecordBatch({
    records: [
      { offsetDelta: 0, timestamp: 1n, key: "a", value: "1" },
      { offsetDelta: 2, timestamp: 1n, key: "b", value: "2" },
    ],
  });
  await assert.rejects(producer.produce("t", 0, [batch("fine"), compacted]), /re-encode/);
  const control = encodeRecordBatch({
    isControl: true,
    records: [{ timestamp: 0n, key: Buffer.alloc(4), value: null }],
  });
  await assert.rejects(producer.send("t", 0, control), /control/);
  assert.equal(cluster.values("t", 0).length, 0);
  assert.equal(producer.partitionState("t", 0)?.queued ?? 0, 0);
});

test("close rejects what is queued and waits for what is in flight", async () => {
  const { cluster, producer } = setup();
  cluster.createTopic("t", 1);
  await producer.send("t", 0, batch("warm")); // producer id and metadata in place
  cluster.latencyMs = 30;
  const first = producer
    .produce(
      "t",
      0,
      Array.from({ length: 8 }, (_, i) => batch(`v${i}`)),
    )
    .then(
      () => null,
      (e: unknown) => e,
    );
  await new Promise((r) => setTimeout(r, 10));
  await producer.close();
  assert.match(String(await first), /closed/);
  await assert.rejects(producer.send("t", 0, batch("late")), /closed/);
  // The five in flight when close began were written; nothing after them.
  assert.deepEqual(values(cluster, "t", 0), ["warm", "v0", "v1", "v2", "v3", "v4"]);
});

/**
 * A broker that stops answering, as a SIGSTOPped one: requests sent meanwhile wait in the socket,
 * the client's timeout ends the wait, and the broker still processes every one of them, in the
 * order they were sent, once it runs again.
 */
class FreezableBroker implements WireTransport {
  private frozen: Promise<void> | null = null;
  private thaw = () => {};
  constructor(readonly cluster: FakeCluster) {}

  freeze(): void {
    this.frozen ??= new Promise<void>((resolve) => {
      this.thaw = resolve;
    });
  }

  unfreeze(): void {
    this.frozen = null;
    this.thaw();
  }

  async send<T>(nodeId: number | null, req: WireRequest<T>): Promise<T> {
    const frozen = this.frozen;
    if (frozen === null) return this.cluster.send(nodeId, req);
    // Processed when the broker runs again, whether the client still waits for it or not.
    const processed = frozen.then(() => this.cluster.send(nodeId, req));
    processed.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RequestTimeoutError(`${req.apiName} timed out`)),
        req.timeoutMs ?? 30_000,
      );
    });
    try {
      return await Promise.race([processed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  updateBrokers(brokers: readonly BrokerEndpoint[]): void {
    this.cluster.updateBrokers(brokers);
  }

  close(): Promise<void> {
    return this.cluster.close();
  }
}

test("a moving deadline: batches whose requests time out are re-sent with the same producer id and sequences while it moves on, and fail once it stops", async () => {
  const cluster = new FakeCluster([1]);
  cluster.createTopic("t", 1);
  const broker = new FreezableBroker(cluster);
  const client = createWireClient(broker, { retryBackoffMs: 5 });
  // A short fixed delivery timeout: only the moving deadline may keep the batches alive.
  const producer = createIdempotentProducer(client, {
    deliveryTimeoutMs: 100,
    retryBackoffMs: 5,
    maxRetryBackoffMs: 20,
  });
  // A lease renewed every 50 ms, trusted for 150 ms past each renewal.
  let leaseDeadline = performance.now() + 150;
  let renewing = true;
  const renewals = setInterval(() => {
    if (renewing) leaseDeadline = performance.now() + 150;
  }, 50);
  const leased = { deadline: () => leaseDeadline, deliveryTimeoutMs: Infinity };
  try {
    await producer.send("t", 0, batch("warm-up"), leased);
    const { producerId } = producer.partitionState("t", 0)!;

    broker.freeze();
    const pending = producer.produce("t", 0, [batch("a"), batch("b"), batch("c")], leased);
    // Frozen for many times the lease window and the delivery timeout.
    await new Promise((resolve) => setTimeout(resolve, 800));
    const whileFrozen = cluster.requests.filter((r) => r.apiName === "Produce").length;
    broker.unfreeze();
    const results = await pending;

    assert.deepEqual(
      results.map((r) => r.baseOffset),
      [1n, 2n, 3n],
      "each batch acknowledged at the offset its first write got",
    );
    assert.deepEqual(values(cluster, "t", 0), ["warm-up", "a", "b", "c"], "nothing twice");
    const produced = cluster.requests
      .filter((r) => r.apiName === "Produce")
      .flatMap((r) => r.partitions);
    assert.ok(
      produced.length > whileFrozen && produced.length > 4,
      `timed-out requests were sent again: ${produced.map((p) => p.baseSequence).join(",")}`,
    );
    assert.deepEqual(
      [...new Set(produced.map((p) => p.producerId))],
      [producerId],
      "one producer id throughout",
    );
    assert.deepEqual(
      [...new Set(produced.map((p) => p.baseSequence))].sort((x, y) => x! - y!),
      [0, 1, 2, 3],
      "re-sent with their own sequence numbers",
    );
    assert.equal(cluster.requests.filter((r) => r.apiName === "InitProducerId").length, 1);
    const state = producer.partitionState("t", 0)!;
    assert.equal(state.failed, null);
    assert.equal(state.nextSequence, 4);

    // The lease is no longer renewed: the batch fails once its deadline passed, not before.
    broker.freeze();
    renewing = false;
    const lastDeadline = leaseDeadline;
    const started = performance.now();
    let giveUp: NodeJS.Timeout | undefined;
    const err = await Promise.race([
      producer.send("t", 0, batch("d"), leased).then(
        () => assert.fail("acknowledged by a frozen broker"),
        (e: unknown) => e,
      ),
      new Promise((resolve) => {
        giveUp = setTimeout(() => resolve("still waiting after 5 s"), 5000);
      }),
    ]);
    clearTimeout(giveUp);
    const failedAt = performance.now();
    assert.ok(err instanceof DeliveryTimeoutError, String(err));
    assert.ok(failedAt >= lastDeadline, `failed ${lastDeadline - failedAt} ms before the deadline`);
    assert.ok(failedAt - started < 2000, `failed only after ${failedAt - started} ms`);
    assert.ok(producer.partitionState("t", 0)!.failed instanceof DeliveryTimeoutError);
  } finally {
    clearInterval(renewals);
    broker.unfreeze();
    await producer.close();
  }
});

test("a deadline function that throws or gives NaN counts as passed", async () => {
  for (const deadline of [
    () => {
      throw new Error("no lease");
    },
    () => Number.NaN,
  ]) {
    const { cluster, producer } = setup();
    cluster.createTopic("t", 1);
    await assert.rejects(
      producer.send("t", 0, batch("x"), { deadline, deliveryTimeoutMs: Infinity }),
      DeliveryTimeoutError,
    );
    assert.equal(cluster.values("t", 0).length, 0);
  }
  const { producer } = setup();
  await assert.rejects(
    producer.send("t", 0, batch("x"), { deliveryTimeoutMs: Number.NaN }),
    RangeError,
  );
});
