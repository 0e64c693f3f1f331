import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-node";
import { createBatchTraces } from "./batch-traces";

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
after(() => provider.shutdown());

const batch = (firstOffset: bigint) => ({
  topic: "orders",
  partition: 3,
  firstOffset,
  nextOffset: firstOffset + 10n,
  records: 10,
  bytes: 1000,
});

describe("createBatchTraces", () => {
  it("samples one in N batches and none with 0", () => {
    const sampled = createBatchTraces(3, "agent-1");
    const picks = [0n, 10n, 20n, 30n, 40n, 50n].map((o) => sampled.sample(batch(o)) !== undefined);
    assert.deepEqual(picks, [false, false, true, false, false, true]);
    const none = createBatchTraces(0, "agent-1");
    assert.equal(none.sample(batch(0n)), undefined);
    assert.throws(() => createBatchTraces(-1, "a"), /whole number >= 0/);
    assert.throws(() => createBatchTraces(0.5, "a"), /whole number >= 0/);
  });

  it("records a read span and a write span linking it, ended by the target's answer", () => {
    exporter.reset();
    const traces = createBatchTraces(1, "agent-1");
    const write = traces.sample(batch(100n))!.startWrite("us-east.orders", 3);
    assert.equal(exporter.getFinishedSpans().length, 1, "the read span ends at once");
    write.end({ baseOffset: 42n });
    const failed = traces.sample(batch(110n))!.startWrite("us-east.orders", 3);
    failed.end({ error: new Error("NOT_LEADER") });

    const spans = exporter.getFinishedSpans();
    const [read, written, , failedWrite] = spans;
    assert.equal(read?.name, "geo.replication.source-read");
    assert.equal(read?.attributes["geo.source.first_offset"], "100");
    assert.equal(read?.parentSpanContext, undefined);
    assert.equal(written?.name, "geo.replication.target-write");
    assert.equal(written?.attributes["geo.target.base_offset"], "42");
    assert.equal(written?.attributes["messaging.destination.name"], "us-east.orders");
    assert.deepEqual(
      written?.links.map((l) => l.context.spanId),
      [read?.spanContext().spanId],
    );
    assert.equal(failedWrite?.status.code, 2, "a failed write is an error span");
  });
});
