// `npm run bench -- offsets [groups] [units] [segments] [measureSeconds]`: the offset-translation
// service as a process against two real clusters. The target holds `segments` offset-map records
// for `units` partitions (history: runs rewritten as they grow, a gap every 10 records) plus the
// 24 partitions of `orders`; `groups` source groups committed on `orders`. Figures: index
// rebuild (start to SERVING), index memory, checkpoint age p99 and service CPU while every group
// is checkpointed, Translate p50/p99 for one group of 24 partitions.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createGrpcClient } from "@geo/grpc";
import { createKafkaClient } from "@geo/kafka";
import { commitGroupOffsets, createWireClient, type KafkaWireClient } from "@geo/kafka-wire";
import { findFreePorts, startKafkaClusters, stopAll, trackProcess } from "@geo/local-runtime";
import { createLogger } from "@geo/logging";
import { toEpoch, toOffset } from "@geo/positions";
import { createProgressStore, ensureProgressTopics, type OffsetMapSegment } from "@geo/progress";
import { Health, OffsetTranslationService } from "@geo/proto";
import { printReport, type Row } from "./report";

const [groups = 1000, units = 1000, segments = 1_000_000, measureSeconds = 30] = process.argv
  .slice(2)
  .map(Number);
const PARTITIONS = 24;
const FLOW = "bench-flow";
const root = join(__dirname, "..", "..");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const logger = createLogger({ service: "bench-offsets", level: "warn" });

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** History of `units` partitions: per unit, runs of 10 segment rewrites, one offset gap between runs. */
async function writeHistory(target: KafkaWireClient): Promise<void> {
  const store = createProgressStore(target, { deliveryTimeoutMs: 120_000 });
  const perUnit = Math.max(1, Math.floor(segments / units));
  let batch: OffsetMapSegment[] = [];
  const flush = async () => {
    await store.writeSegments(batch);
    batch = [];
  };
  const segment = (
    topic: string,
    partition: number,
    sourceStart: bigint,
    targetStart: bigint,
    count: bigint,
  ) => ({
    unit: { flow: FLOW, sourceTopic: topic, partition },
    epoch: toEpoch(1),
    remoteTopic: `us-east.${topic}`,
    sourceStart: toOffset(sourceStart),
    targetStart: toOffset(targetStart),
    count,
    agentId: "bench",
    time: Date.now(),
  });
  for (let i = 0; i < perUnit; i++) {
    const run = BigInt(Math.floor(i / 10));
    const count = BigInt(((i % 10) + 1) * 10);
    for (let u = 0; u < units; u++) {
      batch.push(segment(`h${Math.floor(u / 100)}`, u % 100, run * 101n, run * 100n, count));
      if (batch.length >= 20_000) await flush();
    }
  }
  for (let p = 0; p < PARTITIONS; p++) batch.push(segment("orders", p, 0n, 0n, 100n));
  await flush();
  await store.close();
}

async function commitGroups(source: KafkaWireClient): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < groups) {
      const g = next++;
      const offsets = Array.from({ length: PARTITIONS }, (_, partition) => ({
        topic: "orders",
        partition,
        offset: BigInt((g * 7 + partition) % 101),
        metadata: `g${g}`,
      }));
      for (;;) {
        const results = await commitGroupOffsets(source, `group-${g}`, offsets).catch(() => []);
        if (results.length > 0 && results.every((r) => r.errorCode === 0)) break;
        await sleep(200);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Number(line?.split(/\s+/)[1]) / 1024;
}

async function metric(address: string, name: string): Promise<number> {
  const text = await (await fetch(`http://${address}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return Number(line?.split(" ").pop());
}

async function main(): Promise<void> {
  const [source, target] = await startKafkaClusters([
    "bench-offsets-us-east",
    "bench-offsets-eu-west",
  ]);
  const dir = mkdtempSync(join(tmpdir(), "geo-bench-offsets-"));
  const wire = (bootstrap: string[]) =>
    createWireClient(
      { clientId: "bench", brokers: bootstrap, logLevel: 0 },
      { requestTimeoutMs: 30_000 },
    );
  const sourceWire = wire(source!.bootstrapServers);
  const targetWire = wire(target!.bootstrapServers);
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const sourceCluster = {
      alias: "us-east",
      region: "us-east",
      bootstrapServers: source!.bootstrapServers,
    };
    const targetCluster = {
      alias: "eu-west",
      region: "eu-west",
      bootstrapServers: target!.bootstrapServers,
    };
    await ensureProgressTopics(targetCluster, { logger });
    const admin = createKafkaClient(sourceCluster, { clientId: "bench", logger }).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: "orders", numPartitions: PARTITIONS, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    let t = performance.now();
    await writeHistory(targetWire);
    const writeSeconds = (performance.now() - t) / 1000;
    await commitGroups(sourceWire);
    const [port] = await findFreePorts(1);
    const config = join(dir, "offsets.yaml");
    writeFileSync(
      config,
      [
        "clusters:",
        `  us-east: { bootstrapServers: [${source!.bootstrapServers.join(", ")}] }`,
        `  eu-west: { bootstrapServers: [${target!.bootstrapServers.join(", ")}] }`,
        `flows: [{ name: ${FLOW}, source: us-east, target: eu-west, syncGroupOffsets: false }]`,
        'redis: { url: "redis://127.0.0.1:1" }',
        `services: { offsets: { listen: "127.0.0.1:${port}", metricsListen: "127.0.0.1:0" } }`,
        "logging: { level: info }",
        "",
      ].join("\n"),
    );
    t = performance.now();
    const spawnedAt = Date.now();
    child = spawn(
      process.execPath,
      [join(root, "services", "offsets", "dist", "main.js"), "--config", config],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    trackProcess(child.pid!);
    const output: string[] = [];
    for (const stream of [child.stdout!, child.stderr!])
      createInterface({ input: stream }).on("line", (l) => output.push(l));
    const address = `127.0.0.1:${port}`;
    const health = createGrpcClient(Health, { address, defaultTimeoutMs: 1000 });
    for (;;) {
      const status = await health
        .check({ service: "" })
        .then((r) => r.status)
        .catch(() => 0);
      if (status === 1) break;
      if (child.exitCode !== null || performance.now() - t > 300_000) {
        throw new Error(`offsets service did not serve:\n${output.slice(-20).join("\n")}`);
      }
      await sleep(100);
    }
    health.close();
    const rebuildSeconds = (performance.now() - t) / 1000;
    const logAt = (pattern: string) => {
      const line = output.find((l) => l.includes(pattern));
      return line === undefined ? Number.NaN : (JSON.parse(line) as { time: number | string }).time;
    };
    const startedAt = Number(new Date(logAt('"msg":"started"')));
    const mapReadAt = Number(new Date(logAt('"topic":"__geo.offset-map","records"')));
    const metricsAddress = (
      JSON.parse(output.find((l) => l.includes('"msg":"started"'))!) as {
        endpoints: { metrics: string };
      }
    ).endpoints.metrics;
    const client = createGrpcClient(OffsetTranslationService, {
      address,
      defaultTimeoutMs: 30_000,
    });
    const listAll = async () => {
      const ages: number[] = [];
      let pageToken = "";
      do {
        const page = await client.listCheckpoints({ flow: FLOW, pageSize: 5000, pageToken });
        for (const c of page.checkpoints) ages.push(Number(c.ageMs));
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      return ages;
    };
    const expected = groups * PARTITIONS;
    for (let first = performance.now(); (await listAll()).length < expected; ) {
      if (performance.now() - first > 300_000)
        throw new Error("checkpoints of every group never appeared");
      await sleep(1000);
    }
    const ages: number[] = [];
    const ticks0 = cpuTicks(child.pid!);
    const wall0 = performance.now();
    while (performance.now() - wall0 < measureSeconds * 1000) {
      ages.push(...(await listAll()));
      await sleep(2000);
    }
    const cpuPercent =
      ((cpuTicks(child.pid!) - ticks0) / 100 / ((performance.now() - wall0) / 1000)) * 100;
    const latency = async (call: () => Promise<unknown>) => {
      const samples: number[] = [];
      for (let i = 0; i < 1000; i++) {
        const s = performance.now();
        await call();
        samples.push(performance.now() - s);
      }
      return samples;
    };
    const group = await latency(() =>
      client.translateGroupOffsets({ flow: FLOW, group: "group-1" }),
    );
    const explicit = await latency(() =>
      client.translateOffsets({
        flow: FLOW,
        offsets: Array.from({ length: PARTITIONS }, (_, partition) => ({
          topic: "orders",
          partition,
          offset: "50",
        })),
      }),
    );
    client.close();
    const rows: Row[] = [
      {
        measure: "history written (offset-map records)",
        value: segments + PARTITIONS,
        unit: "records",
        goal: "",
        note: `${writeSeconds.toFixed(1)} s to write`,
      },
      {
        measure: "index rebuild: start to SERVING",
        value: rebuildSeconds,
        unit: "s",
        goal: "<= 10",
        note: `${units} partitions`,
      },
      {
        measure: "of which: process start to gRPC started",
        value: (startedAt - spawnedAt) / 1000,
        unit: "s",
        goal: "",
        note: "node, telemetry, modules",
      },
      {
        measure: "of which: offset map read to its end",
        value: (mapReadAt - spawnedAt) / 1000,
        unit: "s",
        goal: "",
        note: "since process start",
      },
      {
        measure: "index runs in memory",
        value: await metric(metricsAddress, "geo_offsets_index_runs"),
        unit: "runs",
        goal: "",
        note: "resolved, merged",
      },
      {
        measure: "service heap used",
        value: (await metric(metricsAddress, "nodejs_heap_size_used_bytes")) / 2 ** 20,
        unit: "MiB",
        goal: "",
        note: "after rebuild, with checkpoints",
      },
      { measure: "service RSS", value: rssMiB(child.pid!), unit: "MiB", goal: "", note: "" },
      {
        measure: "checkpoint age p50",
        value: percentile(ages, 50) / 1000,
        unit: "s",
        goal: "",
        note: `${groups} groups × ${PARTITIONS} partitions`,
      },
      {
        measure: "checkpoint age p99",
        value: percentile(ages, 99) / 1000,
        unit: "s",
        goal: "<= 6",
        note: `${ages.length} samples over ${measureSeconds} s`,
      },
      {
        measure: "checkpoint round, mean",
        value:
          (await metric(metricsAddress, "geo_offsets_checkpoint_round_seconds_sum")) /
          (await metric(metricsAddress, "geo_offsets_checkpoint_round_seconds_count")),
        unit: "s",
        goal: "",
        note: "list groups, read 1,000 groups' offsets, translate, write changes",
      },
      {
        measure: "service CPU while checkpointing",
        value: cpuPercent,
        unit: "% of one core",
        goal: "",
        note: "includes answering the ListCheckpoints samples",
      },
      {
        measure: "TranslateGroupOffsets p50",
        value: percentile(group, 50),
        unit: "ms",
        goal: "",
        note: "1 group × 24 partitions, source read included",
      },
      {
        measure: "TranslateGroupOffsets p99",
        value: percentile(group, 99),
        unit: "ms",
        goal: "<= 20",
        note: "",
      },
      {
        measure: "TranslateOffsets p50",
        value: percentile(explicit, 50),
        unit: "ms",
        goal: "",
        note: "24 positions",
      },
      {
        measure: "TranslateOffsets p99",
        value: percentile(explicit, 99),
        unit: "ms",
        goal: "<= 20",
        note: "",
      },
    ];
    printReport("offsets", rows);
  } finally {
    child?.kill("SIGTERM");
    await sourceWire.close().catch(() => {});
    await targetWire.close().catch(() => {});
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
