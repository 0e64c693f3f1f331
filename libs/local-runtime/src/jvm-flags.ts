import type { Broker, BrokerSetup } from "./kafka-broker";
import { brokerLog4jFile } from "./kafka-files";

/** Fast start-up for short-lived JVMs (formatting, CLI tools): no C2, small serial heap. */
export function quickJvmFlags(): string[] {
  return ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xss1m"];
}

/** A broker JVM's arguments: heap, low-pause G1, its log4j configuration and log dir. */
export function brokerJvmArgs(
  setup: BrokerSetup,
  broker: Broker,
  classDataFlags: readonly string[],
): string[] {
  const { classpath } = setup.distribution;
  return [
    `-Xms${Math.min(128, setup.heapMb)}m`,
    `-Xmx${setup.heapMb}m`,
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    // No hsperfdata file to leave behind in /tmp when a test SIGKILLs the broker.
    "-XX:-UsePerfData",
    "-Djava.awt.headless=true",
    `-Dlog4j.configuration=file:${brokerLog4jFile(setup.dir)}`,
    `-Dkafka.logs.dir=${broker.dir}`,
    ...classDataFlags,
    ...setup.jvmArgs,
    "-cp",
    classpath,
    "kafka.Kafka",
    broker.propertiesFile,
  ];
}
