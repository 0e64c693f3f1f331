// Issue 3's memory figure (not a test): "memory stays bounded whatever the lag, measured at 1,000
// assigned partitions". The same backlog of 1 KiB records, pre-loaded by Kafka's
// ProducerPerformance over 1,000 partitions and over 12, replicated by one agent process
// (replication-agent.ts, engine defaults) that samples its memory and the engine's buffered
// bytes while it copies. See bench/README.md for the definitions.
//   node bench/dist/replication-memory.js [records=1000000] [partitions=1000] [compareWith=12]
//     [heapSnapshotAt=0]: e.g. 0.5 writes a heap snapshot of each agent half-way, 1 at caught-up (slows that run)
import { stopAll } from "@geo/local-runtime";
import {
  type AgentProcess,
  checkCopied,
  createTopic,
  endOffsets,
  flushPageCache,
  machineLoad,
  mbPerSecond,
  mib,
  preload,
  SOURCE_BATCH_BYTES,
  startAgents,
  startClusters,
  WARMUP_TOPIC,
} from "./replication-rig";
import { printReport, type Row } from "./report";

const WARMUP_RECORDS = 200_000;
const WARMUP_PARTITIONS = 12;
const SAMPLE_MS = 100;

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 1_000_000);
  const partitions = Number(process.argv[3] ?? 1000);
  const compareWith = Number(process.argv[4] ?? 12);
  // Diagnosis: a heap snapshot of the agent once this share of the backlog is copied (0: none).
  const heapSnapshotAt = Number(process.argv[5] ?? 0);
  const loadBefore = machineLoad();
  const [source, target] = await startClusters();
  const agents: AgentProcess[] = [];
  try {
    const cases = [partitions, compareWith].filter((n) => n > 0);
    const topicOf = (n: number) => `mem-${n}`;
    const spec = { compression: "none", batchBytes: SOURCE_BATCH_BYTES };
    for (const [topic, n] of [
      [WARMUP_TOPIC, WARMUP_PARTITIONS] as const,
      ...cases.map((n) => [topicOf(n), n] as const),
    ]) {
      await createTopic(source!, topic, n);
      await createTopic(target!, `src.${topic}`, n);
    }
    await preload(source!, WARMUP_TOPIC, { records: WARMUP_RECORDS, ...spec });
    const preloadSeconds = new Map<number, number>();
    for (const n of cases) {
      process.stderr.write(`pre-loading ${records} records of 1 KiB over ${n} partitions...\n`);
      preloadSeconds.set(n, (await preload(source!, topicOf(n), { records, ...spec })).seconds);
    }
    flushPageCache();
    const run = async (topic: string, n: number, sampleMemoryMs?: number) => {
      const snapshot = sampleMemoryMs !== undefined && heapSnapshotAt > 0;
      const started = await startAgents({
        source: source!,
        target: target!,
        sourceTopic: topic,
        remoteTopic: `src.${topic}`,
        flowName: `bench-${topic}`,
        until: await endOffsets(source!, topic, n),
        provenanceHeader: false,
        tuning: {},
        count: 1,
        ...(sampleMemoryMs === undefined ? {} : { sampleMemoryMs, execArgv: ["--expose-gc"] }),
        ...(snapshot ? { heapSnapshotAt } : {}),
      });
      agents.push(...started.agents);
      const last = await started.agents[0]!.stop();
      return { caughtUp: started.caughtUp[0]!, last };
    };
    process.stderr.write(`warming the brokers up with ${WARMUP_RECORDS} records...\n`);
    await run(WARMUP_TOPIC, WARMUP_PARTITIONS);
    const rows: Row[] = [];
    for (const n of cases) {
      flushPageCache();
      const topic = topicOf(n);
      const ends = await endOffsets(source!, topic, n);
      const total = Number(ends.reduce((a, b) => a + b, 0n));
      const perPartition = ends.map(Number).sort((a, b) => a - b);
      const loadAtCopy = machineLoad();
      process.stderr.write(`replicating ${total} records over ${n} partitions...\n`);
      const { caughtUp, last } = await run(topic, n, SAMPLE_MS);
      await checkCopied(source!, topic, target!, `src.${topic}`, n);
      const m = caughtUp.memory!;
      rows.push({
        partitions: n,
        records: total,
        recordsPerPartitionMin: perPartition[0]!,
        recordsPerPartitionMax: perPartition[perPartition.length - 1]!,
        preloadSeconds: Number(preloadSeconds.get(n)!.toFixed(1)),
        seconds: Number(caughtUp.seconds.toFixed(2)),
        startSeconds: Number(caughtUp.startSeconds.toFixed(2)),
        recordsPerSecond: Math.round(total / caughtUp.seconds),
        mbPerSecond: mbPerSecond(total, caughtUp.seconds),
        agentCpuSeconds: Number(caughtUp.cpuSeconds.toFixed(2)),
        peakRssMiB: mib(last.peakRssBytes),
        rssMedianMiB: mib(m.rssMedianBytes),
        heapUsedMedianMiB: mib(m.heapUsedMedianBytes),
        heapUsedMaxMiB: mib(m.heapUsedMaxBytes),
        arrayBuffersMaxMiB: mib(m.arrayBuffersMaxBytes),
        engineBufferedMaxMiB: mib(m.bufferedMaxBytes),
        rssAfterGcMiB: mib(m.rssAfterBytes),
        heapUsedAfterGcMiB: mib(m.heapUsedAfterBytes),
        arrayBuffersAfterGcMiB: mib(m.arrayBuffersAfterBytes),
        ...(m.heapSnapshot === undefined ? {} : { heapSnapshot: m.heapSnapshot }),
        memorySamples: m.samples,
        cpus: loadAtCopy.cpus,
        loadAvg1mAtCopy: loadAtCopy.loadAvg1m,
      });
    }
    const loadAfter = machineLoad();
    printReport(
      "replication-memory",
      rows.map((r) => ({
        ...r,
        loadAvg1mBeforeRun: loadBefore.loadAvg1m,
        loadAvg1mAfterRun: loadAfter.loadAvg1m,
      })),
      {
        columns: [
          "partitions",
          "records",
          "seconds",
          "recordsPerSecond",
          "agentCpuSeconds",
          "peakRssMiB",
          "rssMedianMiB",
          "heapUsedMedianMiB",
          "heapUsedMaxMiB",
          "arrayBuffersMaxMiB",
          "engineBufferedMaxMiB",
          "rssAfterGcMiB",
          "heapUsedAfterGcMiB",
          "arrayBuffersAfterGcMiB",
          "loadAvg1mAtCopy",
        ],
      },
    );
    process.stdout.write(
      `\nOne agent process per case (engine defaults), fresh, on a backlog of 1 KiB records pre-loaded by ProducerPerformance (16 KiB batches); ` +
        `brokers warmed up by ${WARMUP_RECORDS} other records first. Peak RSS: getrusage maxrss over the whole agent process; ` +
        `median RSS and heap: samples every ${SAMPLE_MS} ms from assign to caught-up; after GC: 2 s after caught-up, after a full collection. ` +
        `Load average 1m: ${loadBefore.loadAvg1m} before the run, ${loadAfter.loadAvg1m} after.\n`,
    );
  } finally {
    for (const agent of agents) agent.kill();
    await stopAll();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
