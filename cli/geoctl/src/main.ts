// geoctl's entry point (bin/geoctl.cjs loads it).
//
// Tracing: with GEO_OTLP_ENDPOINT set (the services' variable) geoctl exports a span for the
// command, and its gRPC calls carry the trace context, so one trace follows e.g. `geoctl flows
// pause` through the coordinator to the agents' assignment. Telemetry starts before the modules
// that load @grpc/grpc-js (hence require() below), so the grpc instrumentation sees its calls.
import { startTelemetry } from "@geo/telemetry";

const { version } = require("../package.json") as { version: string };

const otlpEndpoint = process.env.GEO_OTLP_ENDPOINT ?? "";
const telemetry = startTelemetry({
  serviceName: "geoctl",
  enabled: otlpEndpoint !== "",
  ...(otlpEndpoint === "" ? {} : { otlpEndpoint }),
});
const { runGeoctl } = require("./program") as typeof import("./program");

async function main(): Promise<void> {
  if (!telemetry.enabled) return runGeoctl(process.argv, version);
  const { trace, SpanStatusCode } =
    require("@opentelemetry/api") as typeof import("@opentelemetry/api");
  const words = process.argv.slice(2).filter((word) => !word.startsWith("-"));
  // Command words only: arguments may be file paths or names, flags may carry secrets.
  const name = `geoctl ${words.slice(0, 2).join(" ")}`.trim();
  await trace.getTracer("geoctl").startActiveSpan(name, async (span) => {
    try {
      await runGeoctl(process.argv, version);
      span.setAttribute("process.exit.code", Number(process.exitCode ?? 0));
      if (Number(process.exitCode ?? 0) !== 0) span.setStatus({ code: SpanStatusCode.ERROR });
    } finally {
      span.end();
    }
  });
  await telemetry.shutdown().catch(() => undefined);
}

void main();
