// Spans for a sample of replicated batches: one in N batches (engine-wide) gets a span for its
// source read and a span for its target write that links the read, so a trace shows where a
// batch's time went between the two clusters. Per batch, never per record, and only for sampled
// batches; records and their headers are not touched. With telemetry off the OpenTelemetry API is
// a no-op and the spans cost next to nothing.
import { type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";

export interface BatchSource {
  topic: string;
  partition: number;
  /** First source offset of the batch. */
  firstOffset: bigint;
  /** Source offset after the batch. */
  nextOffset: bigint;
  records: number;
  bytes: number;
}

export interface SampledBatch {
  /** Starts the write span (linked to the read span); ends when the target acknowledged it. */
  startWrite(
    targetTopic: string,
    partition: number,
  ): {
    end(result: { baseOffset: bigint } | { error: unknown }): void;
  };
}

export interface BatchTraces {
  /** The read span of every N-th batch (recorded and ended now); undefined for the others. */
  sample(source: BatchSource): SampledBatch | undefined;
}

/** `oneIn` 0 disables; 1 traces every batch. */
export function createBatchTraces(oneIn: number, agentId: string): BatchTraces {
  if (!Number.isInteger(oneIn) || oneIn < 0) {
    throw new TypeError(`traceBatchesOneIn must be a whole number >= 0 (0 disables), got ${oneIn}`);
  }
  const tracer = trace.getTracer("geo-replication");
  let seen = 0;
  return {
    sample(source) {
      if (oneIn === 0) return undefined;
      seen = (seen + 1) % oneIn;
      if (seen !== 0) return undefined;
      const read: Span = tracer.startSpan("geo.replication.source-read", {
        kind: SpanKind.CONSUMER,
        root: true,
        attributes: {
          "geo.agent.id": agentId,
          "messaging.system": "kafka",
          "messaging.destination.name": source.topic,
          "messaging.destination.partition.id": String(source.partition),
          "geo.source.first_offset": String(source.firstOffset),
          "geo.source.next_offset": String(source.nextOffset),
          "messaging.batch.message_count": source.records,
          "geo.batch.bytes": source.bytes,
        },
      });
      read.end();
      return {
        startWrite(targetTopic, partition) {
          const write = tracer.startSpan("geo.replication.target-write", {
            kind: SpanKind.PRODUCER,
            root: true,
            links: [{ context: read.spanContext() }],
            attributes: {
              "geo.agent.id": agentId,
              "messaging.system": "kafka",
              "messaging.destination.name": targetTopic,
              "messaging.destination.partition.id": String(partition),
              "geo.source.topic": source.topic,
              "geo.source.first_offset": String(source.firstOffset),
              "messaging.batch.message_count": source.records,
            },
          });
          return {
            end(result) {
              if ("error" in result) {
                write.setStatus({ code: SpanStatusCode.ERROR, message: String(result.error) });
              } else {
                write.setAttribute("geo.target.base_offset", String(result.baseOffset));
              }
              write.end();
            },
          };
        },
      };
    },
  };
}
