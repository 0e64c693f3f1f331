// Files a cluster folder holds next to the brokers: the logging configs and a client config.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Brokers log WARN and above, plus the two INFO lines the harness reads: AppInfoParser's
 * "Kafka version: x" (the version the broker itself reports) and KafkaRaftServer's
 * "Kafka Server started" (readiness).
 */
const BROKER_LOG4J = `log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=INFO
log4j.logger.kafka.server.KafkaRaftServer=INFO
`;

/** Tools print data on stdout, so their log goes to stderr. */
const TOOLS_LOG4J = `log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
`;

export function brokerLog4jFile(clusterDir: string): string {
  return join(clusterDir, "broker-log4j.properties");
}

export function toolsLog4jFile(clusterDir: string): string {
  return join(clusterDir, "tools-log4j.properties");
}

export function clientPropertiesFile(clusterDir: string): string {
  return join(clusterDir, "client.properties");
}

export function writeClusterFiles(clusterDir: string, bootstrapServers: readonly string[]): void {
  writeFileSync(brokerLog4jFile(clusterDir), BROKER_LOG4J);
  writeFileSync(toolsLog4jFile(clusterDir), TOOLS_LOG4J);
  writeFileSync(
    clientPropertiesFile(clusterDir),
    `bootstrap.servers=${bootstrapServers.join(",")}\n`,
  );
}

export function formatProperties(properties: Record<string, string | number | boolean>): string {
  return `${Object.entries(properties)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join("\n")}\n`;
}
