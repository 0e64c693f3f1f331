// Issue 3's figure (not a test): 1,000,000 records of 1 KiB over 12 partitions, pre-loaded into a
// local source cluster by Kafka's ProducerPerformance, replicated into a second local cluster by
// the replication engine running in a process of its own (replication-agent.ts); then a live
// phase at a fixed rate for the steady-state latency. See bench/README.md for the definitions.
//   node bench/dist/replication-engine.js [records=1000000] [partitions=12] [provenance=0]
//     [compression=none] [liveRecordsPerSecond=5000] [liveSeconds=20]
// provenance=1 makes the flow append the provenance header, so every batch is re-encoded.
import { stopAll } from "@geo/local-runtime";
import {
  type AgentProcess,
  checkCopied,
  createTopic,
  endOffsets,
  flushPageCache,
  machineLoad,
  mbPerSecond,
  measureLiveLatency,
  mib,
  preload,
  SOURCE_BATCH_BYTES,
  startAgents,
  startClusters,
  WARMUP_TOPIC,
} from "./replication-rig";
import { printReport } from "./report";

const LIVE_WARMUP_SECONDS = 2;
const IDLE_SECONDS = 5;
const WARMUP_RECORDS = 500_000;

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 1_000_000);
  const partitions = Number(process.argv[3] ?? 12);
  const provenance = process.argv[4] === "1";
  const compression = process.argv[5] ?? "none";
  const liveRate = Number(process.argv[6] ?? 5000);
  const liveSeconds = Number(process.argv[7] ?? 20);
  // Before anything of ours runs: the load average then is other work on the machine.
  const loadBefore = machineLoad();
  const [source, target] = await startClusters();
  let agent: AgentProcess | undefined;
  try {
    const topic = "bench";
    const remoteTopic = `src.${topic}`;
    const sourceSpec = { compression, batchBytes: SOURCE_BATCH_BYTES };
    for (const t of [WARMUP_TOPIC, topic]) {
      await createTopic(source!, t, partitions);
      await createTopic(target!, `src.${t}`, partitions);
    }
    process.stderr.write(`pre-loading ${records} records of 1 KiB (${compression})...\n`);
    await preload(source!, WARMUP_TOPIC, { records: WARMUP_RECORDS, ...sourceSpec });
    const loaded = await preload(source!, topic, { records, ...sourceSpec });
    flushPageCache();
    const agentsOn = async (sourceTopic: string) =>
      startAgents({
        source: source!,
        target: target!,
        sourceTopic,
        remoteTopic: `src.${sourceTopic}`,
        flowName: `bench-${sourceTopic}`,
        until: await endOffsets(source!, sourceTopic, partitions),
        provenanceHeader: provenance,
        tuning: {},
        count: 1,
      });
    // Freshly started brokers run interpreted code and copy at half speed for seconds: a first,
    // smaller backlog (its own agent process, target topic and flow) warms them up.
    process.stderr.write(`warming up with ${WARMUP_RECORDS} records...\n`);
    await (await agentsOn(WARMUP_TOPIC)).agents[0]!.stop();
    flushPageCache();
    const loadAtStart = machineLoad();
    process.stderr.write(`replicating ${records} records...\n`);
    const started = await agentsOn(topic);
    agent = started.agents[0]!;
    const backlog = started.caughtUp[0]!;
    const total = Number(
      (await endOffsets(source!, topic, partitions)).reduce((n, o) => n + o, 0n),
    );
    process.stderr.write(
      `caught up in ${backlog.seconds.toFixed(1)} s; idle for ${IDLE_SECONDS} s...\n`,
    );
    // What an agent with nothing to copy costs: long polls, progress timers, client internals.
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const idle = await agent.snapshot();
    process.stderr.write(`live phase: ${liveRate} records/s for ${liveSeconds} s...\n`);
    const liveStart = performance.now();
    const live = await measureLiveLatency({
      source: source!,
      target: target!,
      sourceTopic: topic,
      remoteTopic,
      partitions,
      recordsPerSecond: liveRate,
      seconds: liveSeconds,
      warmupSeconds: LIVE_WARMUP_SECONDS,
      compression,
    });
    const afterLive = await agent.snapshot();
    const liveWallSeconds = (performance.now() - liveStart) / 1000;
    const last = await agent.stop();
    agent = undefined;
    const loadAfter = machineLoad();
    await checkCopied(source!, topic, target!, remoteTopic, partitions);
    printReport("replication", [
      {
        records: total,
        partitions,
        sourceBatchBytes: SOURCE_BATCH_BYTES,
        compression,
        path: provenance ? "re-encoded" : "forwarded",
        seconds: Number(backlog.seconds.toFixed(2)),
        startSeconds: Number(backlog.startSeconds.toFixed(2)),
        recordsPerSecond: Math.round(total / backlog.seconds),
        mbPerSecond: mbPerSecond(total, backlog.seconds),
        agentCpuSeconds: Number(backlog.cpuSeconds.toFixed(2)),
        peakRssMiB: mib(last.peakRssBytes),
        liveRecordsPerSecond: Math.round(live.produced / liveSeconds),
        latencySamples: live.measured,
        latencyP50Ms: live.replication.p50Ms,
        latencyP99Ms: live.replication.p99Ms,
        latencyMaxMs: live.replication.maxMs,
        endToEndP50Ms: live.endToEnd.p50Ms,
        endToEndP99Ms: live.endToEnd.p99Ms,
        liveAgentCpuPercent: Math.round(
          ((afterLive.cpuSeconds - idle.cpuSeconds) / liveWallSeconds) * 100,
        ),
        idleAgentCpuPercent: Math.round(
          ((idle.cpuSeconds - backlog.cpuSeconds) / IDLE_SECONDS) * 100,
        ),
        preloadSeconds: Number(loaded.seconds.toFixed(1)),
        cpus: loadBefore.cpus,
        loadAvg1mBeforeRun: loadBefore.loadAvg1m,
        loadAvg1mAtCopy: loadAtStart.loadAvg1m,
        loadAvg1mAfterRun: loadAfter.loadAvg1m,
      },
    ]);
    process.stdout.write(
      `\nThroughput, CPU: the backlog of ${total} records, from assign to the last acknowledgement, in the agent process ` +
        `(a fresh one; the brokers were warmed up by replicating ${WARMUP_RECORDS} other records first). ` +
        `Latency: live phase at ${liveRate} records/s (first ${LIVE_WARMUP_SECONDS} s not counted), per record, ` +
        `the time it became readable in the target minus the time it became readable in the source (one consumer on each); ` +
        `endToEnd: readable in the target minus the record's CreateTime. Peak RSS: the agent process over both phases. MB = 10^6 bytes of record values.\n`,
    );
  } finally {
    agent?.kill();
    await stopAll();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
