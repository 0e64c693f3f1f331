// What tracing a sample of replicated batches costs the agent: per-batch time of the sampling and
// of the spans (a source-read span and a target-write span linking it), with telemetry off (the
// OpenTelemetry API's no-op) and with a real SDK whose batch processor hands the spans to an
// exporter that drops them (so export I/O, which runs off the data path, is not counted).
import { createBatchTraces } from "@geo/replication";
import type { ExportResult } from "@opentelemetry/core";
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-node";
import { printReport, type Row } from "./report";

const BATCHES = Number(process.argv[2] ?? 200_000);

function measure(label: string, oneIn: number): Row {
  const traces = createBatchTraces(oneIn, "bench-agent");
  const source = {
    topic: "orders",
    partition: 0,
    firstOffset: 0n,
    nextOffset: 100n,
    records: 100,
    bytes: 16_384,
  };
  const run = () => {
    for (let i = 0; i < BATCHES; i++) {
      const sampled = traces.sample(source);
      sampled?.startWrite("us-east.orders", 0).end({ baseOffset: BigInt(i) });
    }
  };
  run(); // warm-up
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  run();
  const ns = Number(process.hrtime.bigint() - started);
  const used = process.cpuUsage(cpu);
  return {
    telemetry: label,
    traceBatchesOneIn: oneIn,
    batches: BATCHES,
    nsPerBatch: ns / BATCHES,
    cpuMsPerMillionBatches: ((used.user + used.system) / 1000 / BATCHES) * 1_000_000,
  };
}

let exported = 0;
const dropping: SpanExporter = {
  export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
    exported += spans.length;
    done({ code: 0 });
  },
  shutdown: async () => {},
};

async function main() {
  const rows: Row[] = [measure("off", 0), measure("off", 100), measure("off", 1)];
  const provider = new NodeTracerProvider({
    spanProcessors: [new BatchSpanProcessor(dropping, { maxQueueSize: 65_536 })],
  });
  provider.register();
  for (const oneIn of [0, 100, 10, 1]) rows.push(measure("on", oneIn));
  await provider.shutdown();
  printReport(`tracing: sampled batch spans, ${BATCHES} batches per row`, rows);
  process.stderr.write(`spans handed to the exporter: ${exported}\n`);
}

if (require.main === module) void main();
