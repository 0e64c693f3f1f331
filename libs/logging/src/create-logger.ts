import { hostname } from "node:os";
import pino from "pino";
import { redactSecrets } from "./redact-secrets";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
export const LOG_LEVELS: readonly LogLevel[] = [
  "fatal",
  "error",
  "warn",
  "info",
  "debug",
  "trace",
  "silent",
];

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** Service name, on every line as "service". Required. */
  service: string;
  /** Minimum level written. Default "info". */
  level?: LogLevel;
  /** Extra fields on every line (e.g. region, agent id). Secrets in it are redacted too. */
  base?: Record<string, unknown>;
  /** Where lines go. Default: stdout. Tests pass an in-memory stream. */
  destination?: pino.DestinationStream;
}

/** Context the replication components attach through child loggers. */
export interface LogContext {
  flow?: string;
  topic?: string;
  partition?: number;
  agent?: string;
  cluster?: string;
  region?: string;
  epoch?: number | string;
  [key: string]: unknown;
}

/**
 * A pino logger writing one JSON object per line with an ISO-8601 "time", the level as a word,
 * "service", pid and hostname. Secrets are redacted from every logged object and from child
 * bindings, at any depth and by key name ("password", "secret", "token", "authorization"...,
 * see redactSecrets), so a whole cluster or Redis configuration can be logged safely. pino's own
 * path-based `redact` is not used because its wildcards match one level each, and configuration
 * objects nest secrets at varying depths. Message strings are not scanned: put data in fields.
 */
export function createLogger(options: LoggerOptions): Logger {
  const { service, level, base, destination } = validateLoggerOptions(options);
  const logger = pino(
    {
      level,
      base: { pid: process.pid, hostname: hostname(), ...redactSecrets(base), service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactSecrets(object),
      },
    },
    destination,
  );
  // pino gives child loggers an identity bindings formatter, so bindings are redacted on the way
  // in. Children are created with Object.create(parent), so every descendant inherits this.
  type ChildFn = (
    this: unknown,
    bindings: pino.Bindings,
    options?: pino.ChildLoggerOptions,
  ) => unknown;
  const originalChild = logger.child as unknown as ChildFn;
  const redactingChild: ChildFn = function (this: unknown, bindings, childOptions) {
    return originalChild.call(this, redactSecrets(bindings), childOptions);
  };
  logger.child = redactingChild as unknown as typeof logger.child;
  return logger;
}

/** A child logger with the given context, dropping undefined fields. */
export function withContext(logger: Logger, context: LogContext): Logger {
  const bindings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(context)) {
    if (value !== undefined) bindings[key] = value;
  }
  return logger.child(bindings);
}

function validateLoggerOptions(
  options: LoggerOptions,
): Required<Omit<LoggerOptions, "destination" | "base">> &
  Pick<LoggerOptions, "destination" | "base"> {
  if (typeof options.service !== "string" || options.service.trim() === "") {
    throw new TypeError("createLogger: service must be a non-empty string");
  }
  const level = options.level ?? "info";
  if (!LOG_LEVELS.includes(level)) {
    throw new TypeError(
      `createLogger: level "${String(level)}" is not one of ${LOG_LEVELS.join(", ")}`,
    );
  }
  return { service: options.service, level, base: options.base, destination: options.destination };
}
