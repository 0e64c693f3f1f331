// The agent's part of an admin request's trace: applying the snapshot the request caused.
// The coordinator puts its round span's W3C context on the snapshot (AssignmentSnapshot
// .trace_context); the span for applying it is that span's child. Untraced snapshots (the
// usual case) and telemetry off record nothing.

import type { agentV1 } from "@geo/proto";
import {
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";

export interface ApplyTrace {
  /** Ends the span; an error marks it failed. */
  end(error?: unknown): void;
}

const UNTRACED: ApplyTrace = Object.freeze({ end: () => {} });

export function traceApplyingAssignment(
  snapshot: agentV1.AssignmentSnapshot,
  agentId: string,
): ApplyTrace {
  if (Object.keys(snapshot.traceContext).length === 0) return UNTRACED;
  const parent = propagation.extract(ROOT_CONTEXT, snapshot.traceContext);
  const parentSpan = trace.getSpanContext(parent);
  if (parentSpan === undefined || !isSpanContextValid(parentSpan)) return UNTRACED;
  const span: Span = trace.getTracer("geo-agent").startSpan(
    "geo.agent.apply-assignment",
    {
      attributes: {
        "geo.agent.id": agentId,
        "geo.assignment.generation": snapshot.generation,
        "geo.assignment.units": snapshot.units.length,
      },
    },
    parent,
  );
  return {
    end(error) {
      if (error !== undefined) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      }
      span.end();
    },
  };
}
