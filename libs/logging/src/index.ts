export {
  createLogger,
  LOG_LEVELS,
  type LogContext,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  withContext,
} from "./create-logger";
export {
  KAFKAJS_LOG_LEVEL,
  type KafkajsLogCreator,
  type KafkajsLogEntry,
  kafkajsLogCreator,
  kafkajsLogLevel,
} from "./kafkajs-log-creator";
export { isSecretKey, REDACTED, redactSecrets } from "./redact-secrets";
