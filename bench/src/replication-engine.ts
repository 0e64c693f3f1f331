// Quick measurement (not a test) of @geo/replication's engine between two local clusters: a
// source topic pre-loaded with 1 KiB records by Kafka's ProducerPerformance, then replicated by
// one in-process engine until every unit caught up.
//   node bench/dist/replication-engine.js [records=100000] [partitions=4] [provenance=0] [compression=none]
// provenance=1 makes the flow append the provenance header, so every batch is re-encoded.
import type { ClusterConfig } from "@geo/config";
import { runKafkaTool, startKafkaClusters } from "@geo/harness";
import { createWireClient } from "@geo/kafka-wire";
import { createLogger } from "@geo/logging";
import { createReplicationEngine, type UnitAssignment } from "@geo/replication";

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 100_000);
  const partitions = Number(process.argv[3] ?? 4);
  const provenance = process.argv[4] === "1";
  const compression = process.argv[5] ?? "none";
  const [source, target] = await startKafkaClusters(["bench-src", "bench-dst"], { heapMb: 768 });
  try {
    const topic = "bench";
    for (const [cluster, name] of [
      [source!, topic],
      [target!, `src.${topic}`],
    ] as const) {
      const r = await runKafkaTool(cluster, "topics", [
        "--create",
        "--topic",
        name,
        "--partitions",
        String(partitions),
      ]);
      if (r.code !== 0) throw new Error(r.stderr);
    }
    const perf = await runKafkaTool(
      source!,
      "producer-perf",
      [
        "--topic",
        topic,
        "--num-records",
        String(records),
        "--record-size",
        "1024",
        "--throughput",
        "-1",
        "--producer-props",
        `bootstrap.servers=${source!.bootstrapServers.join(",")}`,
        "acks=all",
        "batch.size=65536",
        "linger.ms=5",
        `compression.type=${compression}`,
      ],
      { timeoutMs: 600_000 },
    );
    if (perf.code !== 0) throw new Error(perf.stderr);

    const clusters: Record<string, ClusterConfig> = {
      src: { alias: "src", region: "src", bootstrapServers: source!.bootstrapServers },
      dst: { alias: "dst", region: "dst", bootstrapServers: target!.bootstrapServers },
    };
    const flow = {
      name: "src->dst",
      sourceCluster: "src",
      targetCluster: "dst",
      naming: "prefix" as const,
      provenanceHeader: provenance,
      startFrom: "earliest" as const,
      onOffsetOutOfRange: "fail" as const,
      paused: false,
    };
    const units: UnitAssignment[] = Array.from({ length: partitions }, (_, partition) => ({
      unit: { flow: flow.name, sourceTopic: topic, partition },
      remoteTopic: `src.${topic}`,
      epoch: 1n,
      flow,
    }));
    const engine = createReplicationEngine({
      agentId: "bench",
      clusters,
      logger: createLogger({ service: "bench", level: "warn" }),
      offsetMapCleanupIntervalMs: 0,
    });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await engine.assign(units);
    // What the source holds (a producer-perf batch that expired is not there).
    const total = await sourceEnd(source!.bootstrapServers, topic, partitions);
    let lastReport = performance.now();
    for (;;) {
      const statuses = engine.statuses();
      const bad = statuses.find((s) => s.state === "error");
      if (bad !== undefined) throw new Error(bad.reason);
      const done = statuses.reduce(
        (n, s) => n + (s.nextSourceOffset < 0n ? 0n : s.nextSourceOffset),
        0n,
      );
      if (done >= total) break;
      if (performance.now() - lastReport > 5000) {
        lastReport = performance.now();
        const states = new Map<string, number>();
        for (const s of statuses) states.set(s.state, (states.get(s.state) ?? 0) + 1);
        process.stderr.write(
          `${((performance.now() - t0) / 1000).toFixed(0)} s: ${done}/${total} records, ${JSON.stringify(Object.fromEntries(states))}, rss ${Math.round(process.memoryUsage().rss / 1048576)} MiB\n`,
        );
        for (const s of statuses.filter((x) => x.lagRecords > 0n).slice(0, 3)) {
          process.stderr.write(
            `  partition ${s.unit.partition}: next ${s.nextSourceOffset}, lag ${s.lagRecords} ${s.reason}\n`,
          );
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const statuses = engine.statuses();
    await engine.close();
    const result = {
      records: Number(total),
      partitions,
      provenanceHeader: provenance,
      sourceCompression: compression,
      seconds: Number(seconds.toFixed(2)),
      recordsPerSecond: Math.round(Number(total) / seconds),
      mbPerSecond: Number(((Number(total) * 1024) / seconds / 1e6).toFixed(1)),
      // Pre-loaded source: latency here is mostly the backlog's age, not the steady-state figure.
      latencyP50Ms: Math.round(Math.max(...statuses.map((s) => s.latencyP50Ms))),
      latencyP99Ms: Math.round(Math.max(...statuses.map((s) => s.latencyP99Ms))),
      agentCpuSeconds: Number(cpuSeconds.toFixed(2)),
      recordsPerCpuSecond: Math.round(Number(total) / cpuSeconds),
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    console.log(JSON.stringify(result));
    console.log(
      `| replication engine | ${partitions} partitions | ${provenance ? "re-encoded (provenance header)" : "forwarded"} | ${compression} | ${result.recordsPerSecond} rec/s | ${result.mbPerSecond} MB/s | ${result.agentCpuSeconds} CPU s | ${result.peakRssMiB} MiB RSS |`,
    );
  } finally {
    await Promise.all([source!.stop(), target!.stop()]);
  }
}

async function sourceEnd(brokers: string[], topic: string, partitions: number): Promise<bigint> {
  const client = createWireClient({ clientId: "bench", brokers, logLevel: 0 });
  try {
    const ends = await client.listOffsets(topic, [...Array(partitions).keys()], "latest");
    return ends.reduce((n, o) => n + o.offset, 0n);
  } finally {
    await client.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
