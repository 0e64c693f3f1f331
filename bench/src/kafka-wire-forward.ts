// Quick measurement (not a test) of @geo/kafka-wire's fetch → forward path: 1 KiB records
// written by Kafka's ProducerPerformance into a source topic, then fetched and produced,
// raw batches re-stamped but never re-encoded, into a target topic on the same broker.
//   node bench/dist/kafka-wire-forward.js [records=200000] [partitions=4] [batchSize=16384]
//     [transports=socket]
// `transports` (comma-separated, `socket` or `kafkajs`) forwards the same source once per entry,
// each into a fresh target topic, on the same broker: `kafkajs,socket,kafkajs,socket` compares
// the two transports under the same load.

import {
  createIdempotentProducer,
  createKafkajsTransport,
  createPartitionFetcher,
  createSocketTransport,
  createWireClient,
  type ProduceResult,
} from "@geo/kafka-wire";
import { startKafkaCluster } from "@geo/local-runtime";
import type { KafkaConfig } from "kafkajs";
import { createTopic, preload } from "./replication-rig";

interface Round {
  records: number;
  partitions: number;
  batchSize: number;
  config: KafkaConfig;
  transport: string;
  target: string;
}

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 200_000);
  const partitions = Number(process.argv[3] ?? 4);
  const batchSize = Number(process.argv[4] ?? 16_384);
  const transports = (process.argv[5] ?? "socket").split(",");
  const cluster = await startKafkaCluster({ name: "wire-bench", heapMb: 1024 });
  try {
    await createTopic(cluster, "source", partitions);
    await preload(cluster, "source", { records, compression: "none", batchBytes: batchSize });
    const config = { clientId: "wire-bench", brokers: cluster.bootstrapServers, logLevel: 0 };
    for (const [i, transport] of transports.entries()) {
      const target = `target-${i}`;
      await createTopic(cluster, target, partitions);
      await forward({ records, partitions, batchSize, config, transport, target });
    }
  } finally {
    await cluster.stop();
  }
}

async function forward(round: Round): Promise<void> {
  const { partitions, batchSize, config, transport } = round;
  if (transport !== "socket" && transport !== "kafkajs") {
    throw new Error(`transport "${transport}": socket or kafkajs`);
  }
  const client = createWireClient(
    transport === "socket" ? createSocketTransport(config) : createKafkajsTransport(config),
  );
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
      sends.push(producer.produce(round.target, r.partition, r.batches));
    });
    outstanding.push(Promise.all(sends));
    if (outstanding.length >= 4) await outstanding.shift();
  }
  await Promise.all(outstanding);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const written = await fetcher.listOffsets(round.target, [...Array(partitions).keys()], "latest");
  const result = {
    transport,
    records: forwarded,
    written: Number(written.reduce((s, o) => s + o.offset, 0n)),
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
    `| kafka-wire forward (${transport}) | ${partitions} partitions | ${batchSize} B source batches | ${result.recordsPerSecond} rec/s | ${result.mbPerSecond} MB/s | ${result.agentCpuSeconds} CPU s | ${result.peakRssMiB} MiB RSS |`,
  );
  await producer.close();
  await fetcher.close();
  await client.close();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
