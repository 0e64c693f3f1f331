/**
 * The logging this library needs, shaped like pino's so a pino logger (or a child of it) can be
 * passed as is: merge object first, message second.
 */
export interface GrpcLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Discards everything; the default, so tests and tools stay quiet. */
export const silentLogger: GrpcLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
