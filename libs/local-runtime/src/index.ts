// Real Apache Kafka (from Maven Central jars) and Redis for tests, benchmarks and the local demo.
export {
  DEFAULT_KAFKA_VERSION,
  ensureKafkaDistribution,
  type KafkaDistribution,
  type KafkaDistributionOptions,
  kafkaCacheRoot,
} from "./ensure-kafka-distribution";
export { type FaultProxy, startFaultProxy } from "./fault-proxy";
export { findFreePorts } from "./free-ports";
export { harnessRunId } from "./harness-dir";
export { HarnessError, type HarnessErrorCode } from "./harness-error";
export { isProcessAlive, processRssBytes, progressWatch } from "./process-state";
// Other child processes (the demo's services, a test's service processes) can be reaped too.
export { trackProcess, untrackProcess } from "./reaper";
export {
  KAFKA_TOOL_NAMES,
  type KafkaToolName,
  type KafkaToolOptions,
  type KafkaToolResult,
  runKafkaTool,
} from "./run-kafka-tool";
export {
  type AuthorizerOptions,
  type KafkaBroker,
  type KafkaCluster,
  type KafkaClusterOptions,
  type PropertyValue,
  type SecureListenerOptions,
  startKafkaCluster,
  startKafkaClusters,
} from "./start-kafka-cluster";
export {
  ensurePromtool,
  type PrometheusOptions,
  type PrometheusServer,
  type PromSample,
  startPrometheus,
} from "./start-prometheus";
export { ensureRedisServer, type RedisOptions, type RedisServer, startRedis } from "./start-redis";
export { stopAll } from "./stop-all";
export { uniquePrefix, waitFor } from "./test-helpers";
export { createTestPki, type TestCertificate, type TestPki } from "./test-pki";
