import { delayAfter } from "@geo/backoff";
import { type RedisConfig, readTlsOptions } from "@geo/config";
import type { Logger } from "@geo/logging";
import { Redis, type RedisOptions } from "ioredis";

export interface RedisClientOptions {
  /** Errors and state changes are logged here, never with the password. */
  logger: Logger;
  /** Short role name ("coordinator", "agent-leases"); sent as CLIENT SETNAME "geo-<name>". */
  name: string;
  /** Do not connect until the first command (or connect()). Default false. */
  lazyConnect?: boolean;
  /**
   * Times a command is retried across reconnections before it fails. Default 2. Bounded so that
   * a lease renewal fails visibly within seconds instead of waiting for Redis forever.
   */
  maxRetriesPerRequest?: number;
  /** Cap of the reconnection backoff (50 ms doubling, jittered by @geo/backoff). Default 2000 ms. */
  maxRetryDelayMs?: number;
  /** TCP connect timeout. Default 5000 ms. */
  connectTimeoutMs?: number;
  /**
   * Fail a command with no reply after this long. Default: none, because blocking commands and
   * subscriptions legitimately wait; lease code bounds its own calls with deadlines.
   */
  commandTimeoutMs?: number;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * ioredis options for the project's Redis: a standalone server from `url` (redis:// or
 * rediss://, with optional user, password and database) or the master `sentinelName` found
 * through `sentinels`; TLS from rediss:// or `tls`; exponential reconnection backoff capped at
 * maxRetryDelayMs and never giving up (Redis is the lease authority, services wait for it);
 * a bounded maxRetriesPerRequest; reconnection on READONLY (a failover demoted our server).
 *
 * `keyPrefix` is deliberately NOT passed to ioredis: its automatic prefixing misses key names
 * that Lua scripts build or receive in ARGV and SCAN patterns, so callers prefix explicitly
 * with RedisConfig.keyPrefix.
 */
export function redisClientOptions(redis: RedisConfig, options: RedisClientOptions): RedisOptions {
  const valid = validateRedisClientOptions(options);
  const url = new URL(redis.url);
  const tlsConfig =
    redis.tls ??
    (url.protocol === "rediss:" ? { enabled: true, rejectUnauthorized: true } : undefined);
  const tls = readTlsOptions(tlsConfig, "redis.tls");
  // The shared jittered policy; ioredis counts the attempts (from 1 again after a reconnection).
  const reconnectDelay = (attempt: number) =>
    Math.round(delayAfter(attempt, { initialMs: 50, maxMs: valid.maxRetryDelayMs }));
  const username = url.username === "" ? undefined : decodeURIComponent(url.username);
  const urlPassword = url.password === "" ? undefined : decodeURIComponent(url.password);
  const password = redis.password ?? urlPassword;
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;

  const common: RedisOptions = {
    connectionName: `geo-${valid.name}`,
    lazyConnect: valid.lazyConnect,
    maxRetriesPerRequest: valid.maxRetriesPerRequest,
    connectTimeout: valid.connectTimeoutMs,
    retryStrategy: reconnectDelay,
    reconnectOnError: (error) => (error.message.startsWith("READONLY") ? 2 : false),
    enableReadyCheck: true,
    db,
    ...(valid.commandTimeoutMs === undefined ? {} : { commandTimeout: valid.commandTimeoutMs }),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(tls === undefined ? {} : { tls }),
  };
  if (redis.sentinels === undefined) {
    return {
      ...common,
      host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: url.port === "" ? 6379 : Number(url.port),
    };
  }
  return {
    ...common,
    sentinels: redis.sentinels.map(({ host, port }) => ({ host, port })),
    name: redis.sentinelName!,
    sentinelRetryStrategy: reconnectDelay,
    ...(redis.sentinelPassword === undefined ? {} : { sentinelPassword: redis.sentinelPassword }),
    ...(tls === undefined ? {} : { enableTLSForSentinelMode: true, sentinelTLS: tls }),
  };
}

/** Where a client connects, for logs: never includes credentials. */
export function describeRedisTarget(redis: RedisConfig): string {
  if (redis.sentinels !== undefined) {
    const nodes = redis.sentinels.map(({ host, port }) =>
      host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`,
    );
    return `sentinel master "${redis.sentinelName}" via ${nodes.join(",")}`;
  }
  const url = new URL(redis.url);
  return `${url.protocol}//${url.host}${url.pathname.length > 1 ? url.pathname : ""}`;
}

/**
 * An ioredis client (see redisClientOptions) whose errors are logged as message and code only:
 * ioredis errors can carry the failed command with its arguments (AUTH's password among them),
 * so the error object itself is never logged. Repeats of the same error while Redis stays down
 * are logged at most every 30 s.
 */
export function createRedisClient(redis: RedisConfig, options: RedisClientOptions): Redis {
  const client = new Redis(redisClientOptions(redis, options));
  const logger = options.logger.child({
    component: "redis",
    redis: describeRedisTarget(redis),
    client: options.name,
  });
  const secrets = [redis.password, redis.sentinelPassword, passwordInUrl(redis.url)].filter(
    (s): s is string => s !== undefined && s !== "",
  );
  let lastError = "";
  let lastErrorAt = 0;
  let failing = false;
  client.on("error", (error: Error & { code?: unknown }) => {
    const message = scrub(String(error?.message ?? error), secrets);
    const now = Date.now();
    if (message === lastError && now - lastErrorAt < 30_000) return;
    lastError = message;
    lastErrorAt = now;
    failing = true;
    logger.warn(
      { error: message, code: typeof error?.code === "string" ? error.code : undefined },
      "redis error",
    );
  });
  client.on("ready", () => {
    if (failing) logger.info("redis connection recovered");
    else logger.debug("redis connection ready");
    failing = false;
    lastError = "";
  });
  client.on("reconnecting", (delay: number) =>
    logger.debug({ delayMs: delay }, "redis reconnecting"),
  );
  return client;
}

function passwordInUrl(url: string): string | undefined {
  try {
    const password = new URL(url).password;
    return password === "" ? undefined : decodeURIComponent(password);
  } catch {
    return undefined;
  }
}

function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) out = out.split(secret).join("[redacted]");
  return out;
}

interface ValidRedisClientOptions {
  name: string;
  lazyConnect: boolean;
  maxRetriesPerRequest: number;
  maxRetryDelayMs: number;
  connectTimeoutMs: number;
  commandTimeoutMs?: number;
}

function validateRedisClientOptions(options: RedisClientOptions): ValidRedisClientOptions {
  if (options.logger === undefined || typeof options.logger.child !== "function") {
    throw new TypeError("createRedisClient: logger is required (a @geo/logging logger)");
  }
  if (typeof options.name !== "string" || !NAME.test(options.name)) {
    throw new TypeError(
      `createRedisClient: name "${String(options.name)}" must be 1-64 letters, digits, ".", "_" or "-"`,
    );
  }
  const whole = (
    field: string,
    value: number | undefined,
    fallback: number,
    min: number,
    max: number,
  ) => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new TypeError(
        `createRedisClient: ${field} must be a whole number from ${min} to ${max}, got ${value}`,
      );
    }
    return value;
  };
  const commandTimeoutMs =
    options.commandTimeoutMs === undefined
      ? undefined
      : whole("commandTimeoutMs", options.commandTimeoutMs, 0, 1, 3_600_000);
  return {
    name: options.name,
    lazyConnect: options.lazyConnect ?? false,
    maxRetriesPerRequest: whole("maxRetriesPerRequest", options.maxRetriesPerRequest, 2, 0, 20),
    maxRetryDelayMs: whole("maxRetryDelayMs", options.maxRetryDelayMs, 2000, 50, 60_000),
    connectTimeoutMs: whole("connectTimeoutMs", options.connectTimeoutMs, 5000, 1, 600_000),
    ...(commandTimeoutMs === undefined ? {} : { commandTimeoutMs }),
  };
}
