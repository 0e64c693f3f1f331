// Tracing for every service: OpenTelemetry's Node SDK with the grpc-js, kafkajs and ioredis
// instrumentations, exporting spans over OTLP/gRPC.
//
// ORDER MATTERS. The instrumentations patch grpc-js, kafkajs and ioredis when those modules are
// required, so telemetry must start before any module that loads them. A service's entry point
// therefore imports only @geo/config and @geo/telemetry, starts telemetry, and then requires the
// rest of the service:
//
//     import { loadConfig } from "@geo/config";
//     import { startTelemetry } from "@geo/telemetry";
//     const config = loadConfig();
//     const telemetry = startTelemetry({ serviceName: "geo-agent", ...config.telemetry });
//     require("./main").main(config, telemetry);   // not a top-level import: imports are hoisted
//
// Use require() there, not import(): TypeScript keeps import() as is in CommonJS output, and
// modules loaded through Node's ESM loader bypass the require hooks the instrumentations use.
//
// This module itself loads the SDK, the exporter and the instrumentations lazily, inside
// startTelemetry, so importing it loads none of them (and nothing at all when telemetry is off).

import type { Span } from "@opentelemetry/api";
import type { KafkaJsInstrumentation } from "@opentelemetry/instrumentation-kafkajs";

export interface TelemetryOptions {
  /** service.name of every span, e.g. "geo-agent". Required. */
  serviceName: string;
  /** Default false: nothing is loaded or started and the handle is a no-op. */
  enabled?: boolean;
  /** OTLP/gRPC endpoint of the collector. Default http://127.0.0.1:4317. */
  otlpEndpoint?: string;
  /** Extra resource attributes (service.version, deployment.environment, region...). */
  resourceAttributes?: Record<string, string | number | boolean>;
  /** Receives the SDK's own problems (export failures...). Default: silent. */
  onDiagnostic?: (message: string) => void;
}

export interface TelemetryHandle {
  /** Whether spans are being recorded and exported. */
  readonly enabled: boolean;
  /** Exports the spans buffered so far. */
  flush(): Promise<void>;
  /** Flushes and stops the SDK; call once at process exit. Safe to call again. */
  shutdown(): Promise<void>;
}

const NOOP: TelemetryHandle = Object.freeze({
  enabled: false,
  flush: async () => {},
  shutdown: async () => {},
});

let active: TelemetryHandle | undefined;

/**
 * Starts tracing when enabled, else returns a no-op handle. The SDK is process-global: a second
 * call while telemetry runs returns the running handle instead of starting another SDK.
 */
export function startTelemetry(options: TelemetryOptions): TelemetryHandle {
  const valid = validateTelemetryOptions(options);
  if (!valid.enabled) return NOOP;
  if (active !== undefined) return active;

  const { diag, DiagLogLevel } =
    require("@opentelemetry/api") as typeof import("@opentelemetry/api");
  if (valid.onDiagnostic !== undefined) {
    const report = valid.onDiagnostic;
    const write = (message: string, ...args: unknown[]) =>
      report([message, ...args.map(String)].join(" "));
    diag.setLogger(
      { error: write, warn: write, info: () => {}, debug: () => {}, verbose: () => {} },
      DiagLogLevel.WARN,
    );
  }

  // Instrumentations first: constructing one installs its require hooks, so grpc-js, which the
  // SDK and the exporter load below, is patched on its first load like everything after it.
  const { GrpcInstrumentation } =
    require("@opentelemetry/instrumentation-grpc") as typeof import("@opentelemetry/instrumentation-grpc");
  const { IORedisInstrumentation } =
    require("@opentelemetry/instrumentation-ioredis") as typeof import("@opentelemetry/instrumentation-ioredis");
  const grpc = new GrpcInstrumentation();
  // Lease renewals every few seconds would otherwise each be a root trace of their own.
  const ioredis = new IORedisInstrumentation({ requireParentSpan: true });
  const kafka = createHeaderPreservingKafkaJsInstrumentation(valid.onDiagnostic);
  const instrumentations = kafka === undefined ? [grpc, ioredis] : [grpc, ioredis, kafka];

  const { NodeSDK } =
    require("@opentelemetry/sdk-node") as typeof import("@opentelemetry/sdk-node");
  const { OTLPTraceExporter } =
    require("@opentelemetry/exporter-trace-otlp-grpc") as typeof import("@opentelemetry/exporter-trace-otlp-grpc");
  const { BatchSpanProcessor } =
    require("@opentelemetry/sdk-trace-base") as typeof import("@opentelemetry/sdk-trace-base");
  const { resourceFromAttributes } =
    require("@opentelemetry/resources") as typeof import("@opentelemetry/resources");
  const { ATTR_SERVICE_NAME } =
    require("@opentelemetry/semantic-conventions") as typeof import("@opentelemetry/semantic-conventions");

  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: valid.otlpEndpoint }));
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      ...valid.resourceAttributes,
      [ATTR_SERVICE_NAME]: valid.serviceName,
    }),
    serviceName: valid.serviceName,
    spanProcessors: [processor],
    instrumentations,
    // Traces only. Without these NodeSDK would also start OTLP metric and log exporters from
    // OTEL_* defaults; metrics are served to Prometheus by the services themselves.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();

  let stopped: Promise<void> | undefined;
  const handle: TelemetryHandle = Object.freeze({
    enabled: true,
    flush: () => processor.forceFlush(),
    shutdown: () => {
      stopped ??= sdk.shutdown().finally(() => {
        for (const instrumentation of instrumentations) instrumentation.disable();
        if (active === handle) active = undefined;
      });
      return stopped;
    },
  });
  active = handle;
  return handle;
}

interface ProducerSpanStarter {
  _startProducerSpan?: (topic: string, message: KafkaMessageLike, client: unknown) => Span;
}

interface KafkaMessageLike {
  headers?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * kafkajs instrumentation that never touches produced records' headers.
 *
 * Stock @opentelemetry/instrumentation-kafkajs (0.32) injects `traceparent` (and `tracestate`,
 * `baggage`) into every message's headers on send, overwriting a header of the same name, and
 * its config (KafkaJsInstrumentationConfig) offers no switch for it: only producerHook and
 * consumerHook, and producerHook runs after the injection. So the method that starts producer
 * spans is wrapped to give the instrumentation a copy of the message with throwaway headers:
 * the span is still recorded, the record is sent exactly as the caller built it.
 *
 * The agent's data path does not go through kafkajs's producer API anyway (it builds record
 * batches itself to keep header order and bytes, see ARCHITECTURE.md), so this guards the other
 * producers (heartbeats, checkpoints, offset-map segments, tools) and any future use.
 *
 * If a future instrumentation version renames the wrapped method, kafkajs is left uninstrumented
 * rather than risk altering records.
 */
function createHeaderPreservingKafkaJsInstrumentation(
  onDiagnostic: ((message: string) => void) | undefined,
): KafkaJsInstrumentation | undefined {
  const { KafkaJsInstrumentation } =
    require("@opentelemetry/instrumentation-kafkajs") as typeof import("@opentelemetry/instrumentation-kafkajs");
  const instrumentation = new KafkaJsInstrumentation();
  const target = instrumentation as unknown as ProducerSpanStarter;
  const original = target._startProducerSpan;
  if (typeof original !== "function") {
    onDiagnostic?.(
      "kafkajs instrumentation disabled: this @opentelemetry/instrumentation-kafkajs version has no _startProducerSpan to keep it from rewriting record headers",
    );
    instrumentation.disable();
    return undefined;
  }
  target._startProducerSpan = function startProducerSpanWithoutInjection(topic, message, client) {
    return original.call(this, topic, { ...message, headers: {} }, client);
  };
  return instrumentation;
}

interface ValidTelemetryOptions {
  serviceName: string;
  enabled: boolean;
  otlpEndpoint: string;
  resourceAttributes: Record<string, string | number | boolean>;
  onDiagnostic?: (message: string) => void;
}

function validateTelemetryOptions(options: TelemetryOptions): ValidTelemetryOptions {
  if (typeof options.serviceName !== "string" || options.serviceName.trim() === "") {
    throw new TypeError("startTelemetry: serviceName must be a non-empty string");
  }
  const otlpEndpoint = options.otlpEndpoint ?? "http://127.0.0.1:4317";
  let url: URL | undefined;
  try {
    url = new URL(otlpEndpoint);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new TypeError(
      `startTelemetry: otlpEndpoint "${otlpEndpoint}" must be an http(s) URL such as http://otel-collector:4317`,
    );
  }
  return {
    serviceName: options.serviceName,
    enabled: options.enabled ?? false,
    otlpEndpoint,
    resourceAttributes: { ...options.resourceAttributes },
    ...(options.onDiagnostic === undefined ? {} : { onDiagnostic: options.onDiagnostic }),
  };
}
