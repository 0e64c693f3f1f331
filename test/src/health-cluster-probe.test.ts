// The health service's cluster probe on a three-broker cluster, read through a real Prometheus:
// under-replicated (and under-min-ISR) partitions rise when a broker stops and fall when it comes
// back; the broker count follows. Its own file: it stops brokers.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  findFreePorts,
  type KafkaCluster,
  type PrometheusServer,
  type RedisServer,
  startKafkaCluster,
  startPrometheus,
  startRedis,
} from "@geo/local-runtime";
import { Kafka, logLevel } from "kafkajs";
import { createTopicsAndWaitForLeaders } from "./support/create-topics";
import { type ServiceProcess, startService } from "./support/service-process";
import { waitFor } from "./support/wait-for";

let cluster: KafkaCluster;
let redis: RedisServer;
let health: ServiceProcess;
let prometheus: PrometheusServer;
let dir: string;

before(async () => {
  [cluster, redis] = await Promise.all([
    startKafkaCluster({ name: "probe", brokers: 3 }),
    startRedis(),
  ]);
  dir = mkdtempSync(join(tmpdir(), "geo-health-probe-"));
  // No coordinator: an address nobody listens on, so that no other installation's flows come in.
  const [port, noCoordinator] = await findFreePorts(2);
  writeFileSync(
    join(dir, "geo.yaml"),
    `clusters:
  three: { bootstrapServers: [${cluster.bootstrapServers.join(", ")}] }
redis: { url: "${redis.url}", keyPrefix: "probe:" }
services:
  coordinator: { listen: "127.0.0.1:${noCoordinator}" }
  health: { listen: "127.0.0.1:${port}", metricsListen: "127.0.0.1:0" }
`,
  );
  health = await startService("health", ["--config", join(dir, "geo.yaml")]);
  prometheus = await startPrometheus({ targets: [health.endpoints.metrics!] });
});

after(async () => {
  await prometheus?.stop();
  await health?.stop();
  await cluster?.stop();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const value = async (promql: string) => (await prometheus.query(promql))[0]?.value;

test("under-replicated partitions rise in Prometheus when a broker of three stops", async () => {
  const kafka = new Kafka({
    clientId: "probe-test",
    brokers: cluster.bootstrapServers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    // kafkajs's own leader wait gives up on a busy machine; the shared helper retries.
    await createTopicsAndWaitForLeaders(admin, [
      {
        topic: "replicated",
        numPartitions: 6,
        replicationFactor: 3,
        configEntries: [{ name: "min.insync.replicas", value: "3" }],
      },
    ]);
  } finally {
    await admin.disconnect();
  }
  const metric = 'geo_health_cluster_under_replicated_partitions{cluster="three"}';
  await waitFor(
    "3 brokers and 0 under-replicated partitions",
    async () =>
      (await value('geo_health_cluster_brokers{cluster="three"}')) === 3 &&
      (await value(metric)) === 0,
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  const stopped = cluster.brokers[2]!.nodeId;
  await cluster.stopBroker(stopped);
  // Every partition with a replica on the stopped broker: all of them with RF 3 on 3 brokers
  // (the cluster's own internal topics may add more).
  await waitFor("under-replicated partitions >= 6", async () => ((await value(metric)) ?? 0) >= 6, {
    timeoutMs: 90_000,
    intervalMs: 500,
  });
  await waitFor(
    "under-min-ISR partitions >= 6 and 2 brokers",
    async () =>
      ((await value('geo_health_cluster_under_min_isr_partitions{cluster="three"}')) ?? 0) >= 6 &&
      (await value('geo_health_cluster_brokers{cluster="three"}')) === 2,
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  await cluster.startBroker(stopped);
  await waitFor("under-replicated partitions back to 0", async () => (await value(metric)) === 0, {
    timeoutMs: 120_000,
    intervalMs: 1000,
  });
});
