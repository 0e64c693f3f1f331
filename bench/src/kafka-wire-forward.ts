// Quick measurement (not a test) of @geo/kafka-wire's fetch → forward path: 1 KiB records
// written by Kafka's ProducerPerformance into a source topic, then fetched and produced,
// raw batches re-stamped but never re-encoded, into a target topic on the same broker.
//   node bench/dist/kafka-wire-forward.js [records=200000] [partitions=4] [batchSize=16384]
import { startKafkaCluster } from "@geo/harness";
import {
  createIdempotentProducer,
  createPartitionFetcher,
  createWireClient,
  type ProduceResult,
} from "@geo/kafka-wire";
import { createTopic, preload } from "./replication-rig";

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 200_000);
  const partitions = Number(process.argv[3] ?? 4);
  const batchSize = Number(process.argv[4] ?? 16_384);
  const cluster = await startKafkaCluster({ name: "wire-bench", heapMb: 1024 });
  try {
    for (const topic of ["source", "target"]) await createTopic(cluster, topic, partitions);
    await preload(cluster, "source", { records, compression: "none", batchBytes: batchSize });

    const client = createWireClient({
      clientId: "wire-bench",
      brokers: cluster.bootstrapServers,
      logLevel: 0,
    });
    const fetcher = createPartitionFetcher(client, {
      maxWaitMs: 50,
      partitionMaxBytes: 1024 * 1024,
    });
    const producer = createIdempotentProducer(client);
    const end = await fetcher.listOffsets("source", [...Array(partitions).keys()], "latest");
    const positions = end.map((e) => ({
      topic: "source",
      partition: e.partition,
      offset: 0n,
      end: e.offset,
    }));
    await producer.init();

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let bytes = 0;
    let batches = 0;
    let forwarded = 0;
    // Fetch the next round while the previous one is being produced; at most 4 rounds
    // outstanding so memory stays bounded.
    const outstanding: Promise<ProduceResult[][]>[] = [];
    while (positions.some((p) => p.offset < p.end)) {
      const active = positions.filter((p) => p.offset < p.end);
      const results = await fetcher.fetch(active);
      const sends: Promise<ProduceResult[]>[] = [];
      results.forEach((r, i) => {
        if (r.error !== null) throw r.error;
        active[i]!.offset = r.nextOffset;
        if (r.batches.length === 0) return;
        for (const b of r.batches) {
          bytes += b.raw.length;
          forwarded += b.recordCount;
        }
        batches += r.batches.length;
        sends.push(producer.produce("target", r.partition, r.batches));
      });
      outstanding.push(Promise.all(sends));
      if (outstanding.length >= 4) await outstanding.shift();
    }
    await Promise.all(outstanding);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const target = await fetcher.listOffsets("target", [...Array(partitions).keys()], "latest");
    const written = target.reduce((s, o) => s + o.offset, 0n);
    const result = {
      records: forwarded,
      written: Number(written),
      partitions,
      sourceBatchSize: batchSize,
      batches,
      seconds: Number(seconds.toFixed(2)),
      recordsPerSecond: Math.round(forwarded / seconds),
      mbPerSecond: Number((bytes / seconds / 1e6).toFixed(1)),
      agentCpuSeconds: Number(cpuSeconds.toFixed(2)),
      recordsPerCpuSecond: Math.round(forwarded / cpuSeconds),
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    console.log(JSON.stringify(result));
    console.log(
      `| kafka-wire forward | ${partitions} partitions | ${batchSize} B source batches | ${result.recordsPerSecond} rec/s | ${result.mbPerSecond} MB/s | ${result.agentCpuSeconds} CPU s | ${result.peakRssMiB} MiB RSS |`,
    );
    await producer.close();
    await fetcher.close();
    await client.close();
  } finally {
    await cluster.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
