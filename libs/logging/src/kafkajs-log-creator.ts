import type { Logger, LogLevel } from "./create-logger";

/** kafkajs's numeric levels (its `logLevel` enum), restated so this package needs no kafkajs. */
export const KAFKAJS_LOG_LEVEL = Object.freeze({
  NOTHING: 0,
  ERROR: 1,
  WARN: 2,
  INFO: 4,
  DEBUG: 5,
});

/** Structural copy of kafkajs's LogEntry. */
export interface KafkajsLogEntry {
  namespace: string;
  level: number;
  label: string;
  log: { message: string; timestamp?: string; [key: string]: unknown };
}

export type KafkajsLogCreator = (logLevel: number) => (entry: KafkajsLogEntry) => void;

/**
 * A kafkajs `logCreator` that writes through pino: kafkajs ERROR/WARN/INFO/DEBUG become pino
 * error/warn/info/debug, the kafkajs namespace ("Connection", "Consumer", ...) goes into
 * "namespace", and kafkajs's extra fields (broker, clientId, error, stack...) become fields.
 * kafkajs's own timestamp and logger name are dropped: pino stamps the line.
 */
export function kafkajsLogCreator(logger: Logger): KafkajsLogCreator {
  const kafkaLogger = logger.child({ component: "kafkajs" });
  return () => (entry) => {
    const { message, timestamp: _timestamp, logger: _name, ...extra } = entry.log;
    const fields = { namespace: entry.namespace, ...extra };
    switch (entry.level) {
      case KAFKAJS_LOG_LEVEL.ERROR:
        kafkaLogger.error(fields, message);
        break;
      case KAFKAJS_LOG_LEVEL.WARN:
        kafkaLogger.warn(fields, message);
        break;
      case KAFKAJS_LOG_LEVEL.INFO:
        kafkaLogger.info(fields, message);
        break;
      case KAFKAJS_LOG_LEVEL.NOTHING:
        break;
      default:
        kafkaLogger.debug(fields, message);
    }
  };
}

/**
 * The kafkajs level matching a pino level, so kafkajs does not build entries pino would drop.
 */
export function kafkajsLogLevel(level: LogLevel | string): number {
  switch (level) {
    case "silent":
      return KAFKAJS_LOG_LEVEL.NOTHING;
    case "fatal":
    case "error":
      return KAFKAJS_LOG_LEVEL.ERROR;
    case "warn":
      return KAFKAJS_LOG_LEVEL.WARN;
    case "info":
      return KAFKAJS_LOG_LEVEL.INFO;
    default:
      return KAFKAJS_LOG_LEVEL.DEBUG;
  }
}
