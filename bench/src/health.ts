// `npm run bench -- health [clusters] [partitions] [seconds] [partition,topic]`: the health service watching
// `clusters` clusters of `partitions` partitions each, with one flow per cluster (cluster i ->
// cluster i+1) replicating all of them, every partition one record behind. Simulated plainly:
// the clusters are aliases of ONE real broker holding `partitions` partitions, so every probe,
// end-offset listing and timestamp read is a real request, but the broker serves all of them.
// Measured from outside, on the real service process: probe and lag round durations (its own
// gauges), its CPU per probe interval (process_cpu_seconds_total), /metrics size and time, with
// per-partition and per-topic lag series.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKafkaClient, kafkaClientOptions } from "@geo/kafka";
import { createWireClient } from "@geo/kafka-wire";
import { findFreePorts, startKafkaCluster, startRedis, stopAll } from "@geo/local-runtime";
import { createLogger } from "@geo/logging";
import { printReport, type Row } from "./report";
import { initProducer, sleep, startService } from "./service-stack";

const [clusters = 20, partitions = 5000, seconds = 30] = process.argv.slice(2, 5).map(Number);
/** Which lag series modes to measure: "partition,topic" (default), or one of them. */
const modes = (process.argv[5] ?? "partition,topic").split(",") as ("partition" | "topic")[];
const PER_TOPIC = 50;
const PROBE_MS = 2000;

async function main(): Promise<void> {
  const broker = await startKafkaCluster({ name: "health-bench", heapMb: 1024 });
  const redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), "geo-health-bench-"));
  try {
    await createLaggingTopics(broker.bootstrapServers);
    const rows: Row[] = [];
    for (const lagSeries of modes) {
      rows.push(await measure(dir, broker.bootstrapServers, redis.url, lagSeries));
    }
    printReport("health", rows);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await stopAll();
  }
}

async function createLaggingTopics(brokers: string[]): Promise<void> {
  const config = { alias: "bench", region: "bench", bootstrapServers: brokers };
  const logger = createLogger({ service: "health-bench", level: "warn" });
  const kafka = createKafkaClient(config, { clientId: "health-bench", logger });
  const admin = kafka.admin();
  await admin.connect();
  const topics = Array.from({ length: Math.ceil(partitions / PER_TOPIC) }, (_, i) => `bench-${i}`);
  for (let i = 0; i < topics.length; i += 10) {
    await admin.createTopics({
      waitForLeaders: false,
      timeout: 120_000,
      topics: topics
        .slice(i, i + 10)
        .map((topic) => ({ topic, numPartitions: PER_TOPIC, replicationFactor: 1 })),
    });
  }
  // kafkajs's own wait for leaders gives up on a broker busy creating thousands of partitions.
  for (;;) {
    const led = await admin
      .fetchTopicMetadata({ topics })
      .then((m) =>
        m.topics.every(
          (t) => t.partitions.length === PER_TOPIC && t.partitions.every((p) => p.leader >= 0),
        ),
      )
      .catch(() => false);
    if (led) break;
    await sleep(1000);
  }
  await admin.disconnect();
  // One record per partition: every partition lags, so every lag round reads timestamps too.
  const client = createWireClient(kafkaClientOptions(config, { clientId: "health-bench", logger }));
  const producer = await initProducer(client);
  const timestamp = BigInt(Date.now());
  for (const topic of topics) {
    await Promise.all(
      Array.from({ length: PER_TOPIC }, (_, partition) =>
        producer.produce(topic, partition, [{ records: [{ timestamp, key: null, value: "x" }] }]),
      ),
    );
  }
  await producer.close();
  await client.close();
}

async function measure(
  dir: string,
  brokers: string[],
  redisUrl: string,
  lagSeries: string,
): Promise<Row> {
  const aliases = Array.from({ length: clusters }, (_, i) => `c${String(i).padStart(2, "0")}`);
  // A coordinator address nobody listens on: the flow catalog keeps the file's flows (another
  // installation's coordinator on the default port must not hand us its flows).
  const [port, noCoordinator] = await findFreePorts(2);
  const file = join(dir, `geo-${lagSeries}.yaml`);
  writeFileSync(
    file,
    `clusters:
${aliases.map((a) => `  ${a}: { bootstrapServers: [${brokers.join(", ")}] }`).join("\n")}
flows:
${aliases.map((a, i) => `  - { name: "${a}-flow", source: ${a}, target: ${aliases[(i + 1) % aliases.length]}, topics: { include: ["bench-.*"] } }`).join("\n")}
redis: { url: "${redisUrl}", keyPrefix: "bench:" }
services:
  coordinator: { listen: "127.0.0.1:${noCoordinator}" }
  health: { listen: "127.0.0.1:${port}", metricsListen: "127.0.0.1:0" }
monitoring: { probeIntervalMs: ${PROBE_MS}, lagSeries: ${lagSeries} }
logging: { level: info }
`,
  );
  const health = await startService("health", "health", ["--config", file]);
  const url = `http://${health.endpoints.metrics}/metrics`;
  try {
    // Until every flow was measured over all its partitions once (the first rounds read timestamps).
    // (or 3 minutes: a machine too small for the simulation shows as flows not measured).
    const expected = aliases.length * partitions;
    const waitUntil = performance.now() + 180_000;
    while (performance.now() < waitUntil) {
      const text = await (await fetch(url)).text();
      if (sumOf(text, "geo_health_flow_partitions") >= expected) break;
      await sleep(1000);
    }
    const probe: number[] = [];
    const lag: number[] = [];
    const scrapeMs: number[] = [];
    let bytes = 0;
    let cpuStart: number | undefined;
    const started = performance.now();
    while (performance.now() - started < seconds * 1000) {
      const t0 = performance.now();
      const text = await (await fetch(url)).text();
      scrapeMs.push(performance.now() - t0);
      bytes = Buffer.byteLength(text);
      cpuStart ??= sumOf(text, "process_cpu_seconds_total");
      probe.push(maxOf(text, "geo_health_cluster_probe_duration_seconds"));
      lag.push(sumOf(text, "geo_health_lag_round_seconds"));
      await sleep(PROBE_MS);
    }
    const last = await (await fetch(url)).text();
    const measured = countOf(last, "geo_health_flow_partitions");
    const cpuSeconds = sumOf(last, "process_cpu_seconds_total") - (cpuStart ?? 0);
    const elapsed = (performance.now() - started) / 1000;
    return {
      lagSeries,
      clusters,
      partitionsPerCluster: partitions,
      flows: clusters,
      flowsMeasuredAtEnd: measured,
      slowestProbeMsMedian: round(median(probe) * 1000),
      slowestProbeMsMax: round(Math.max(...probe) * 1000),
      lagRoundMsMedian: round(median(lag) * 1000),
      cpuMsPerProbeInterval: round((cpuSeconds / elapsed) * PROBE_MS),
      scrapeBytes: bytes,
      scrapeMsMedian: round(median(scrapeMs)),
      scrapeMsMax: round(Math.max(...scrapeMs)),
    };
  } finally {
    health.child.kill("SIGTERM");
    await health.exited;
  }
}

/** Samples of `metric` (without a suffix). */
function countOf(text: string, metric: string): number {
  return text.split("\n").filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `))
    .length;
}

/** Largest sample of `metric` (without a suffix). */
function maxOf(text: string, metric: string): number {
  let max = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    max = Math.max(max, Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return max;
}

/** Sum of every sample of `metric` (without a suffix) in a Prometheus text exposition. */
function sumOf(text: string, metric: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(metric)) continue;
    const rest = line.slice(metric.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

const median = (xs: readonly number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const round = (x: number) => Math.round(x * 10) / 10;

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
