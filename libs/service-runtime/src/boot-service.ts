// Process lifecycle shared by the four services: configuration, telemetry first, logging, start,
// and a clean stop on SIGTERM/SIGINT. Importing this module loads neither grpc-js, kafkajs nor
// ioredis, so the telemetry instrumentations can still patch them when the service loads them.
import { ConfigError, type GeoConfig, loadConfig } from "@geo/config";
import { createLogger, type Logger } from "@geo/logging";
import { startTelemetry, type TelemetryHandle } from "@geo/telemetry";
import { parseServiceArgs, type ServiceArgs, UsageError } from "./parse-service-args";

export type ServiceName = "coordinator" | "agent" | "offsets" | "health" | "all-in-one";

export interface ServiceContext {
  readonly service: ServiceName;
  readonly config: GeoConfig;
  readonly args: ServiceArgs;
  readonly logger: Logger;
  readonly telemetry: TelemetryHandle;
  /**
   * Stops the process as SIGTERM does, but it exits 1: for a fatal condition found while running
   * (e.g. another live process holds this agent's id), so that supervisors see a failure.
   */
  readonly fail: (reason: string) => void;
}

export interface RunningService {
  /** What to print once started, e.g. `{ grpc: "127.0.0.1:7100", metrics: "127.0.0.1:7101" }`. */
  readonly endpoints: Readonly<Record<string, string>>;
  /** Finishes or hands back in-flight work and releases every connection. */
  stop(): Promise<void>;
}

export interface BootServiceOptions {
  service: ServiceName;
  /** Starts the service; called after telemetry started, so it may load instrumented modules. */
  start(context: ServiceContext): Promise<RunningService>;
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** After this long a stop that has not finished is abandoned and the process exits 1. */
  stopTimeoutMs?: number;
}

/**
 * Runs a service process until SIGTERM or SIGINT. Bad command lines and bad configuration exit 2
 * with a message that says what to fix; a failed start, or a stop asked for by `context.fail`,
 * exits 1; a clean stop exits 0.
 */
export function bootService(options: BootServiceOptions): void {
  const env = options.env ?? process.env;
  let args: ServiceArgs;
  let config: GeoConfig;
  try {
    args = parseServiceArgs(options.service, options.argv ?? process.argv.slice(2));
    config = loadConfig({
      ...(args.configPath === undefined ? {} : { path: args.configPath }),
      env: {
        ...env,
        ...(args.region === undefined ? {} : { GEO_AGENT_REGION: args.region }),
        ...(args.id === undefined ? {} : { GEO_AGENT_ID: args.id }),
      },
    });
  } catch (error) {
    if (error instanceof UsageError || ConfigError.is(error)) {
      process.stderr.write(`geo-${options.service}: ${(error as Error).message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const telemetry = startTelemetry({
    serviceName: `geo-${options.service}`,
    ...config.telemetry,
  });
  const logger = createLogger({ service: options.service, level: config.logging.level });
  const failure = { reason: undefined as string | undefined };
  const context: ServiceContext = {
    service: options.service,
    config,
    args,
    logger,
    telemetry,
    fail: (reason) => {
      // Once: a second SIGTERM would abandon the orderly stop.
      if (failure.reason !== undefined) return;
      failure.reason = reason;
      process.kill(process.pid, "SIGTERM");
    },
  };
  void run(context, options, failure);
}

async function run(
  context: ServiceContext,
  options: BootServiceOptions,
  failure: { readonly reason: string | undefined },
): Promise<void> {
  const { logger, telemetry } = context;
  process.on("uncaughtException", (error) => {
    logger.fatal({ err: error }, "uncaught exception; exiting");
    process.exit(1);
  });
  process.on("unhandledRejection", (reason) => {
    logger.fatal({ err: reason }, "unhandled promise rejection; exiting");
    process.exit(1);
  });

  let running: RunningService | undefined;
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal while stopping; exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "stopping");
    const timeoutMs = options.stopTimeoutMs ?? 20_000;
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, "stop did not finish in time; exiting");
      process.exit(1);
    }, timeoutMs);
    try {
      await running?.stop();
      await telemetry.shutdown();
      clearTimeout(timer);
      if (failure.reason !== undefined) {
        logger.error({ reason: failure.reason }, "stopped after a fatal error");
        process.exit(1);
      }
      logger.info("stopped");
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, "stop failed");
      process.exit(1);
    }
  };
  process.on("SIGTERM", (signal) => void stop(signal));
  process.on("SIGINT", (signal) => void stop(signal));

  try {
    running = await options.start(context);
  } catch (error) {
    logger.fatal({ err: error }, "failed to start");
    await telemetry.shutdown().catch(() => {});
    process.exit(1);
  }
  logger.info({ endpoints: running.endpoints }, "started");
}
