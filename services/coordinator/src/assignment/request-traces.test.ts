import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { context, propagation, trace } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-node";
import { createRequestTraces } from "./request-traces";

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
after(() => provider.shutdown());

const tracer = trace.getTracer("test");
/** Runs `body` inside a span standing for an admin request; returns the span's context. */
const inRequest = (name: string, body: () => void) =>
  tracer.startActiveSpan(name, (span) => {
    body();
    span.end();
    return span.spanContext();
  });

describe("createRequestTraces", () => {
  it("gives a round no span and no context when no traced request waits", () => {
    const traces = createRequestTraces();
    traces.remember(); // no active span
    const round = traces.startRound({});
    assert.deepEqual(round.carrier, {});
    round.end(1);
  });

  it("makes the round a child of the first request, links the others, and carries its context", () => {
    exporter.reset();
    const traces = createRequestTraces();
    const first = inRequest("CreateFlow", () => traces.remember());
    const second = inRequest("PauseFlow", () => {
      traces.remember();
      traces.remember(); // the same request kicks twice: remembered once
    });
    const round = traces.startRound({ "geo.assignment.generation": "7" });
    round.end(2);
    const [span] = exporter.getFinishedSpans().filter((s) => s.name.startsWith("geo."));
    assert.ok(span);
    assert.equal(span.spanContext().traceId, first.traceId);
    assert.equal(span.parentSpanContext?.spanId, first.spanId);
    assert.deepEqual(
      span.links.map((link) => link.context.spanId),
      [second.spanId],
    );
    const carried = trace.getSpanContext(propagation.extract(context.active(), round.carrier));
    assert.equal(carried?.spanId, span.spanContext().spanId);
    assert.equal(span.attributes["geo.snapshots_sent"], 2);
  });

  it("keeps requests waiting until a round sends snapshots, and never serves one twice", () => {
    const traces = createRequestTraces();
    const request = inRequest("CreateFlow", () => traces.remember());
    traces.startRound({}).end(0); // nothing sent: still waiting
    const sending = traces.startRound({});
    assert.match(sending.carrier.traceparent ?? "", new RegExp(request.traceId));
    sending.end(1);
    // A timer or promise chain started during the request still runs in its context: its kicks
    // do not tie later rounds to the request again.
    context.with(trace.setSpanContext(context.active(), request), () => traces.remember());
    assert.deepEqual(traces.startRound({}).carrier, {});
  });

  it("forgets requests not served within a minute", () => {
    let now = 0;
    const traces = createRequestTraces(() => now);
    inRequest("CreateFlow", () => traces.remember());
    now = 61_000;
    assert.deepEqual(traces.startRound({}).carrier, {});
  });
});
