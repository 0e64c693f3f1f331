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
  const name = `geoctl ${commandPath(process.argv.slice(2))}`.trim();
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

/**
 * The subcommands named on the command line ("flows apply"), looked up in geoctl's command tree:
 * only command words go into the span name, never arguments (paths, names) or flag values
 * (which may carry secrets).
 */
function commandPath(args: readonly string[]): string {
  const { buildProgram } = require("./program") as typeof import("./program");
  let command = buildProgram(version);
  const path: string[] = [];
  for (const word of args) {
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub === undefined) continue;
    path.push(sub.name());
    command = sub;
  }
  return path.join(" ");
}

void main();
