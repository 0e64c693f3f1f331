// Carries the trace of an admin request (CreateFlow, PauseFlow, ...) into the assignment it
// causes. The request only kicks the assignment loop; the snapshots go out in a later round, often
// after discovery found the new flow's partitions. So a kick remembers the caller's span context,
// the next round that sends snapshots runs under a span that is its child (and links any other
// requests it serves), and the snapshots carry that span's W3C context to the agents.
//
// With telemetry off the API is a no-op: no span context is ever valid and nothing is recorded.
import {
  context,
  isSpanContextValid,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  trace,
} from "@opentelemetry/api";

/** A request not served within this long is dropped (its flow may never reach an agent). */
const PENDING_FOR_MS = 60_000;
/** Bound on remembered requests; the oldest go first. */
const MAX_PENDING = 16;
const MAX_SERVED = 256;

export interface RoundTrace {
  /** W3C context for the snapshots of this round; empty when no traced request is waiting. */
  readonly carrier: Readonly<Record<string, string>>;
  /** Ends the round's span; `sent` says whether it sent snapshots (else requests keep waiting). */
  end(sent: number): void;
}

export interface RequestTraces {
  /** Remembers the active span (the admin request's), if any. Call where the round is kicked. */
  remember(): void;
  /** Starts the span of a round when requests are waiting. */
  startRound(attributes: Record<string, string | number>): RoundTrace;
}

const UNTRACED: RoundTrace = Object.freeze({ carrier: {}, end: () => {} });

export function createRequestTraces(now: () => number = Date.now): RequestTraces {
  let pending: { spanContext: SpanContext; at: number }[] = [];
  /** Span ids of requests already served (insertion-ordered, bounded). */
  const served = new Set<string>();
  const tracer = trace.getTracer("geo-coordinator");

  return {
    remember() {
      const spanContext = trace.getSpanContext(context.active());
      if (spanContext === undefined || !isSpanContextValid(spanContext)) return;
      // A timer or promise chain started during a request keeps its context: kicks from there
      // must not tie later rounds to a request already served.
      if (served.has(spanContext.spanId)) return;
      if (pending.some((p) => p.spanContext.spanId === spanContext.spanId)) return;
      pending.push({ spanContext, at: now() });
      if (pending.length > MAX_PENDING) pending = pending.slice(-MAX_PENDING);
    },
    startRound(attributes) {
      pending = pending.filter((p) => now() - p.at < PENDING_FOR_MS);
      const [first, ...others] = pending;
      if (first === undefined) return UNTRACED;
      const waiting = pending;
      const links: Link[] = others.map((p) => ({ context: p.spanContext }));
      const span: Span = tracer.startSpan(
        "geo.coordinator.assignment-round",
        { attributes, links },
        trace.setSpanContext(ROOT_CONTEXT, first.spanContext),
      );
      const carrier: Record<string, string> = {};
      propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
      return {
        carrier,
        end(sent) {
          span.setAttribute("geo.snapshots_sent", sent);
          span.end();
          // Served requests are done; the others wait for a round that sends something.
          if (sent === 0) return;
          pending = pending.filter((p) => !waiting.includes(p));
          for (const p of waiting) served.add(p.spanContext.spanId);
          for (const id of served) {
            if (served.size <= MAX_SERVED) break;
            served.delete(id);
          }
        },
      };
    },
  };
}
