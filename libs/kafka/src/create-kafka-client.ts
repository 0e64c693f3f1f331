import type { ConnectionOptions } from "node:tls";
import { type ClusterConfig, readTlsOptions, type SaslConfig } from "@geo/config";
import { kafkajsLogCreator, kafkajsLogLevel, type Logger } from "@geo/logging";
import { Kafka, type KafkaConfig, type RetryOptions, type SASLOptions } from "kafkajs";
import { fixKafkajsRequestQueue } from "./request-queue-fix";

fixKafkajsRequestQueue();

export interface KafkaClientOptions {
  /** Kafka client.id: letters, digits, ".", "_", "-". Shows in broker logs and quotas. */
  clientId: string;
  /** kafkajs logs go through this logger, tagged with the cluster alias. */
  logger: Logger;
  /** TCP connect timeout. Default 5000 ms (kafkajs's 1000 ms is short across regions). */
  connectionTimeoutMs?: number;
  /** Per-request timeout. Default 30000 ms, kafkajs's default. */
  requestTimeoutMs?: number;
  /** kafkajs retry policy for the client's requests. Default: kafkajs's (5 retries, 300 ms up to 30 s). */
  retry?: RetryOptions;
}

const CLIENT_ID = /^[A-Za-z0-9._-]{1,255}$/;

/**
 * The kafkajs configuration for a cluster from the project configuration: brokers, TLS with
 * its CA, certificate and key files read now (a missing file throws a ConfigError naming the
 * field, instead of failing later inside a connection attempt), SASL PLAIN/SCRAM, timeouts, retries, and
 * logging through pino at the logger's level. Pure apart from reading the TLS files.
 */
export function kafkaClientOptions(
  cluster: ClusterConfig,
  options: KafkaClientOptions,
): KafkaConfig {
  const valid = validateKafkaClientOptions(options);
  const logger = valid.logger.child({ cluster: cluster.alias });
  const config: KafkaConfig = {
    clientId: valid.clientId,
    brokers: [...cluster.bootstrapServers],
    connectionTimeout: valid.connectionTimeoutMs,
    requestTimeout: valid.requestTimeoutMs,
    // kafkajs only enforces requestTimeout when asked; a hung broker must not hang a partition.
    enforceRequestTimeout: true,
    logLevel: kafkajsLogLevel(valid.logger.level),
    logCreator: kafkajsLogCreator(logger),
  };
  if (valid.retry !== undefined) config.retry = { ...valid.retry };
  const ssl = sslOptions(cluster);
  if (ssl !== undefined) config.ssl = ssl;
  if (cluster.sasl !== undefined) config.sasl = saslOptions(cluster.sasl);
  return config;
}

function saslOptions(sasl: SaslConfig): SASLOptions {
  const { username, password } = sasl;
  // Spelled out per mechanism because kafkajs types SASL options as a union keyed by mechanism.
  switch (sasl.mechanism) {
    case "plain":
      return { mechanism: "plain", username, password };
    case "scram-sha-256":
      return { mechanism: "scram-sha-256", username, password };
    case "scram-sha-512":
      return { mechanism: "scram-sha-512", username, password };
  }
}

/** A kafkajs client for one cluster; see kafkaClientOptions for the mapping. */
export function createKafkaClient(cluster: ClusterConfig, options: KafkaClientOptions): Kafka {
  return new Kafka(kafkaClientOptions(cluster, options));
}

function sslOptions(cluster: ClusterConfig): ConnectionOptions | boolean | undefined {
  const tls = cluster.tls;
  if (tls === undefined || !tls.enabled) return undefined;
  // kafkajs's `ssl: true` means Node's defaults: system CAs, certificates verified.
  if (tls.caFile === undefined && tls.certFile === undefined && tls.rejectUnauthorized) return true;
  return readTlsOptions(tls, `clusters.${cluster.alias}.tls`);
}

interface ValidKafkaClientOptions {
  clientId: string;
  logger: Logger;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  retry?: RetryOptions;
}

function validateKafkaClientOptions(options: KafkaClientOptions): ValidKafkaClientOptions {
  if (typeof options.clientId !== "string" || !CLIENT_ID.test(options.clientId)) {
    throw new TypeError(
      `createKafkaClient: clientId "${String(options.clientId)}" must be 1-255 letters, digits, ".", "_" or "-"`,
    );
  }
  if (options.logger === undefined || typeof options.logger.child !== "function") {
    throw new TypeError("createKafkaClient: logger is required (a @geo/logging logger)");
  }
  const ms = (name: string, value: number | undefined, fallback: number) => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value <= 0) {
      throw new TypeError(
        `createKafkaClient: ${name} must be a positive whole number of ms, got ${value}`,
      );
    }
    return value;
  };
  const retry = options.retry;
  if (retry?.retries !== undefined && (!Number.isInteger(retry.retries) || retry.retries < 0)) {
    throw new TypeError(
      `createKafkaClient: retry.retries must be a whole number >= 0, got ${retry.retries}`,
    );
  }
  return {
    clientId: options.clientId,
    logger: options.logger,
    connectionTimeoutMs: ms("connectionTimeoutMs", options.connectionTimeoutMs, 5000),
    requestTimeoutMs: ms("requestTimeoutMs", options.requestTimeoutMs, 30_000),
    ...(retry === undefined ? {} : { retry }),
  };
}
