// A unit driven by hand: the test plays the source reader and the target's producer, to order
// events the way a loaded machine can.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DeliveryTimeoutError,
  type IdempotentProducer,
  KafkaWireError,
  type PartitionFetchResult,
  type ProduceOptions,
  type ProduceResult,
} from "@geo/kafka-wire";
import { createLogger } from "@geo/logging";
import { toEpoch } from "@geo/positions";
import { encodeRecordBatch, RecordBatch } from "@geo/record-batch";
import type { Checkpointer } from "./checkpointer";
import type { EngineMetrics } from "./engine-metrics";
import type { SourceReader } from "./source-reader";
import type { FlowSpecLike } from "./types";
import { Unit, type UnitContext, type UnitWiring } from "./unit";

const flow: FlowSpecLike = {
  name: "a->b",
  sourceCluster: "a",
  targetCluster: "b",
  naming: "prefix",
  provenanceHeader: false,
  startFrom: "earliest",
  onOffsetOutOfRange: "fail",
  paused: false,
};

/** Every metric accepts every call and records nothing. */
const metrics = new Proxy(
  {},
  { get: () => new Proxy(() => {}, { get: () => () => {} }) },
) as unknown as EngineMetrics;

const ctx: UnitContext = {
  agentId: "agent",
  logger: createLogger({ service: "unit-test", level: "silent" }),
  metrics,
  leaseGuard: () => true,
  deliveryTimeoutMs: 500,
  retryBackoffMs: 0,
  maxRetryBackoffMs: 0,
  partitionMaxBytes: 1024 * 1024,
  maxUnitBufferedBytes: 64 * 1024 * 1024,
  maxReencodedBatchBytes: 512 * 1024,
  engineBudgetLeft: () => true,
  addBuffered: () => {},
};

/** Ten records at `base`, as a fetch of offset `base` returns them. */
function fetched(base: bigint): PartitionFetchResult {
  const records = Array.from({ length: 10 }, (_, i) => ({
    timestamp: 1_750_000_000_000n,
    key: null,
    value: `v${base + BigInt(i)}`,
  }));
  return {
    topic: "t",
    partition: 0,
    fetchOffset: base,
    batches: [new RecordBatch(encodeRecordBatch({ baseOffset: base, records }))],
    partialFirstBatch: false,
    nextOffset: base + 10n,
    highWatermark: 1000n,
    lastStableOffset: 1000n,
    logStartOffset: 0n,
    abortedTransactions: [],
    errorCode: 0,
    error: null,
    bytes: 0,
    incomplete: false,
  } as unknown as PartitionFetchResult;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("a fetch answered after a produce failure's rewind never moves the position past unwritten records", async () => {
  let finishReset = () => {};
  // The real reset waits for the batches in flight: slow on a loaded machine.
  const { sends, wiring } = handPlayedProducer(
    () => new Promise<void>((resolve) => (finishReset = resolve)),
  );
  const unit = new Unit(
    {
      unit: { flow: flow.name, sourceTopic: "t", partition: 0 },
      remoteTopic: "a.t",
      epoch: toEpoch(1),
      flow,
    },
    ctx,
  );
  assert.equal(await unit.begin(wiring, 0n, []), true);
  // What the source reader does: a fetch from the unit's position, under its generation.
  const request = () => ({ offset: unit.pipeline.position().offset, gen: unit.pipeline.gen });
  const answer = (fetch: { offset: bigint; gen: number }) =>
    unit.pipeline.onFetchResult(fetched(fetch.offset), fetch.gen);

  answer(request());
  answer(request());
  assert.deepEqual(
    sends.map((s) => s.base),
    [0n, 10n],
  );
  // The first batch misses its delivery deadline: the unit rewinds and resets the partition.
  sends[0]!.settle(new KafkaWireError("DELIVERY_TIMEOUT", "late", { retriable: true }));
  await tick();
  // The retry backoff is over before the reset: the reader may send a fetch now...
  const late = unit.pipeline.fetchReadiness(performance.now()) === "ready" ? request() : undefined;
  finishReset();
  await tick();
  // ...answered once the unit is back at its acknowledged position.
  if (late !== undefined) answer(late);
  for (const send of sends.slice(2)) send.settle();
  await tick();
  assert.equal(
    unit.status().nextSourceOffset,
    0n,
    `acknowledged up to ${unit.status().nextSourceOffset} after sending only ${sends
      .slice(2)
      .map((s) => s.base)
      .join(", ")} since the failure at 0`,
  );
  // And it goes on from there.
  answer(request());
  sends.at(-1)!.settle();
  await tick();
  assert.equal(sends.at(-1)!.base, 0n);
  assert.equal(unit.status().nextSourceOffset, 10n);
});

/** A producer the test answers for, batch by batch; it counts partition resets. */
function handPlayedProducer(reset: () => Promise<void> = async () => {}) {
  const sends: {
    base: bigint;
    options: ProduceOptions | undefined;
    settle: (error?: Error) => void;
  }[] = [];
  let resets = 0;
  const producer = {
    send: (_topic: string, _partition: number, input: unknown, options?: ProduceOptions) =>
      new Promise<ProduceResult>((resolve, reject) => {
        const base = (input as RecordBatch).baseOffset;
        sends.push({
          base,
          options,
          settle: (error) =>
            error === undefined
              ? resolve({
                  baseOffset: base,
                  lastOffset: base + 9n,
                  recordCount: 10,
                  logAppendTime: -1n,
                  logStartOffset: 0n,
                } as ProduceResult)
              : reject(error),
        });
      }),
    resetPartition: () => {
      resets++;
      return reset();
    },
  } as unknown as IdempotentProducer;
  const wiring: UnitWiring = {
    producer,
    reader: { add: () => {}, remove: () => {}, schedule: () => {} } as unknown as SourceReader,
    checkpointer: {
      flushUnit: async () => true,
      markDirty: () => {},
      forget: () => {},
    } as unknown as Checkpointer,
  };
  return { sends, wiring, resets: () => resets };
}

/** A unit whose lease is trusted until `lease.until` (monotonic ms), as the agent's keeper says. */
function leasedUnit(lease: { until: number }) {
  return new Unit(
    {
      unit: { flow: flow.name, sourceTopic: "t", partition: 0 },
      remoteTopic: "a.t",
      epoch: toEpoch(3),
      flow,
    },
    {
      ...ctx,
      leaseGuard: (_unit, epoch) => epoch === 3n && performance.now() < lease.until,
      leaseDeadline: (_unit, epoch) =>
        epoch === 3n && performance.now() < lease.until ? lease.until : undefined,
    },
  );
}

test("with a lease, a batch the target has not acknowledged is waited for as the lease is renewed, never rewound; past the lease the unit stops as lease lost", async () => {
  const lease = { until: performance.now() + 1000 };
  const { sends, wiring, resets } = handPlayedProducer();
  const unit = leasedUnit(lease);
  assert.equal(await unit.begin(wiring, 0n, []), true);
  const answer = () =>
    unit.pipeline.onFetchResult(fetched(unit.pipeline.position().offset), unit.pipeline.gen);

  answer();
  const first = sends[0]!;
  const deadline = first.options?.deadline;
  assert.equal(typeof deadline, "function", "the batch's deadline follows the lease");
  assert.equal(first.options?.deliveryTimeoutMs, Infinity, "not cut short by deliveryTimeoutMs");
  const at = deadline as () => number;
  assert.equal(at(), lease.until);
  // Renewals move the deadline of the batch already handed to the producer (which asks again
  // before each attempt): well past deliveryTimeoutMs (500 ms here) it is still alive.
  lease.until = performance.now() + 60_000;
  assert.equal(at(), lease.until);
  await new Promise((resolve) => setTimeout(resolve, ctx.deliveryTimeoutMs + 50));
  assert.equal(unit.status().state, "running");
  assert.match(unit.status().reason, /not acknowledged the batch from source offset 0 for \d+ ms/);
  assert.equal(resets(), 0);
  first.settle();
  await tick();
  assert.equal(unit.status().nextSourceOffset, 10n);
  assert.equal(unit.status().state, "running");
  assert.equal(unit.status().reason, "");

  answer();
  const second = sends[1]!;
  assert.equal(second.base, 10n);
  // No renewal any more: the lease ends, so does the batch's deadline, and the producer gives up.
  lease.until = performance.now() - 1;
  const at2 = second.options!.deadline as () => number;
  assert.ok(at2() <= performance.now(), `deadline ${at2()} still ahead`);
  second.settle(new DeliveryTimeoutError("a.t", 0, "batch not acknowledged before its deadline"));
  await tick();
  const status = unit.status();
  assert.equal(status.state, "stopped");
  assert.equal(status.reason, "lease lost");
  assert.equal(status.nextSourceOffset, 10n, "what was acknowledged stays");
  // Not rewound: the position did not go back to read 10.. again, nothing more was sent.
  assert.equal(unit.pipeline.position().offset, 20n);
  assert.equal(unit.pipeline.fetchReadiness(performance.now()), "idle");
  assert.equal(sends.length, 2);
  assert.ok(resets() <= 1, "only the lease loss drops what the producer still holds");
});

test("a stopping unit waits deliveryTimeoutMs for its last batches, not as long as the lease is renewed", async () => {
  const lease = { until: performance.now() + 60_000 };
  const { sends, wiring } = handPlayedProducer();
  const unit = leasedUnit(lease);
  assert.equal(await unit.begin(wiring, 0n, []), true);
  unit.pipeline.onFetchResult(fetched(0n), unit.pipeline.gen);
  const at = sends[0]!.options!.deadline as () => number;
  assert.equal(at(), lease.until);
  const stopped = unit.stop("released");
  const bound = performance.now() + ctx.deliveryTimeoutMs;
  assert.ok(at() <= bound && at() > performance.now(), `deadline ${at()}, bound ${bound}`);
  sends[0]!.settle();
  await stopped;
  assert.equal(unit.status().state, "stopped");
  assert.equal(unit.status().reason, "released");
  assert.equal(unit.status().nextSourceOffset, 10n);
});

test("every state change is told at once through onStateChange", async () => {
  const changes: string[] = [];
  const lease = { until: performance.now() + 60_000 };
  const { wiring } = handPlayedProducer();
  const unit = new Unit(
    {
      unit: { flow: flow.name, sourceTopic: "t", partition: 0 },
      remoteTopic: "a.t",
      epoch: toEpoch(3),
      flow,
    },
    {
      ...ctx,
      leaseGuard: () => performance.now() < lease.until,
      onStateChange: (key) => changes.push(`${key.sourceTopic}/${key.partition}:${unit.state}`),
    },
  );
  assert.equal(await unit.begin(wiring, 0n, []), true);
  assert.deepEqual(changes, ["t/0:running"]);
  unit.fail("the target refused a batch", "MESSAGE_TOO_LARGE");
  assert.deepEqual(changes, ["t/0:running", "t/0:error"]);
});
