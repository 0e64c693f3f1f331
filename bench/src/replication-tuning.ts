// The measurements behind the replication engine's defaults (not a test): the same pre-loaded
// backlog replicated once per setting, each setting changing one knob from the defaults, in a
// fresh agent process and into a fresh target topic. Settings are run in interleaved rounds so
// that other work on the machine weighs on all of them alike; the table gives medians.
//   node bench/dist/replication-tuning.js [records=400000] [partitions=12] [rounds=3]
import { stopAll } from "@geo/local-runtime";
import {
  type AgentSnapshot,
  checkCopied,
  createTopic,
  deleteTopic,
  type EngineTuning,
  endOffsets,
  flushPageCache,
  machineLoad,
  mbPerSecond,
  mib,
  preload,
  startAgents,
  startClusters,
} from "./replication-rig";
import { printReport, type Row } from "./report";

const KiB = 1024;
const MiB = 1024 * KiB;

interface Source {
  compression: string;
  batchBytes: number;
}

interface Setting {
  name: string;
  source?: Partial<Source>;
  provenance?: boolean;
  /** Agent processes sharing the partitions. */
  agents?: number;
  tuning?: EngineTuning;
}

const SETTINGS: Setting[] = [
  { name: "defaults" },
  { name: "fetch 256 KiB/partition", tuning: { partitionMaxBytes: 256 * KiB } },
  { name: "fetch 4 MiB/partition", tuning: { partitionMaxBytes: 4 * MiB } },
  { name: "unit buffer 2 MiB", tuning: { maxUnitBufferedBytes: 2 * MiB } },
  { name: "unit buffer 32 MiB", tuning: { maxUnitBufferedBytes: 32 * MiB } },
  { name: "engine buffer 16 MiB", tuning: { maxBufferedBytes: 16 * MiB } },
  { name: "engine buffer 256 MiB", tuning: { maxBufferedBytes: 256 * MiB } },
  { name: "in-flight 1/partition", tuning: { maxInFlightPerPartition: 1 } },
  { name: "produce request 1 MiB", tuning: { maxProduceRequestBytes: MiB } },
  { name: "produce request 16 MiB", tuning: { maxProduceRequestBytes: 16 * MiB } },
  { name: "2 agent processes", agents: 2 },
  { name: "source gzip", source: { compression: "gzip" } },
  { name: "source snappy", source: { compression: "snappy" } },
  { name: "source lz4", source: { compression: "lz4" } },
  { name: "source zstd", source: { compression: "zstd" } },
  { name: "source batches 64 KiB", source: { batchBytes: 64 * KiB } },
  { name: "re-encoded (provenance), none", provenance: true },
  { name: "re-encoded (provenance), lz4", provenance: true, source: { compression: "lz4" } },
  { name: "re-encoded (provenance), zstd", provenance: true, source: { compression: "zstd" } },
];

const WARMUP_RUNS = 2;
const DEFAULT_SOURCE: Source = { compression: "none", batchBytes: 16 * KiB };

interface Measured {
  seconds: number;
  cpuSeconds: number;
  peakRssBytes: number;
}

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 400_000);
  const partitions = Number(process.argv[3] ?? 12);
  const rounds = Number(process.argv[4] ?? 3);
  const loadBefore = machineLoad().loadAvg1m;
  const [source, target] = await startClusters();
  try {
    const topics = new Map<string, string>();
    for (const s of SETTINGS) {
      const spec = { ...DEFAULT_SOURCE, ...s.source };
      const key = sourceKey(spec);
      if (topics.has(key)) continue;
      const topic = `bench-${key}`;
      await createTopic(source!, topic, partitions);
      process.stderr.write(`pre-loading ${records} records into ${topic}...\n`);
      await preload(source!, topic, { records, ...spec });
      topics.set(key, topic);
    }
    flushPageCache();
    const ends = new Map<string, bigint[]>();
    for (const topic of topics.values())
      ends.set(topic, await endOffsets(source!, topic, partitions));

    let run = 0;
    const replicate = async (s: Setting): Promise<Measured> => {
      const topic = topics.get(sourceKey({ ...DEFAULT_SOURCE, ...s.source }))!;
      const remoteTopic = `src.run${run}`;
      const flowName = `run${run++}`;
      await createTopic(target!, remoteTopic, partitions);
      const { agents, caughtUp: done } = await startAgents({
        source: source!,
        target: target!,
        sourceTopic: topic,
        remoteTopic,
        flowName,
        until: ends.get(topic)!,
        provenanceHeader: s.provenance ?? false,
        tuning: s.tuning ?? {},
        count: s.agents ?? 1,
      });
      try {
        const stopped: AgentSnapshot[] = await Promise.all(agents.map((a) => a.stop()));
        await checkCopied(source!, topic, target!, remoteTopic, partitions);
        return {
          // The copy alone: unit start (progress read, first progress write) is not a knob's.
          seconds: Math.max(...done.map((d) => d.seconds - d.startSeconds)),
          cpuSeconds: done.reduce((n, d) => n + d.cpuSeconds, 0),
          // Several agents: their footprints add up.
          peakRssBytes: stopped.reduce((n, d) => n + d.peakRssBytes, 0),
        };
      } finally {
        for (const a of agents) a.kill();
        await deleteTopic(target!, remoteTopic);
        flushPageCache();
      }
    };

    // The brokers' JIT and the target's internal topics: paid by runs that are not counted.
    for (let i = 0; i < WARMUP_RUNS; i++) await replicate(SETTINGS[0]!);
    const results = new Map<Setting, Measured[]>(SETTINGS.map((s) => [s, []]));
    const loads: number[] = [machineLoad().loadAvg1m];
    for (let round = 0; round < rounds; round++) {
      // A new order each round: a run can leave work behind (log deletion, GC in the brokers),
      // and no setting should always come after the same one.
      for (const s of shuffled(SETTINGS, round + 1)) {
        const m = await replicate(s);
        results.get(s)!.push(m);
        loads.push(machineLoad().loadAvg1m);
        process.stderr.write(
          `round ${round + 1}/${rounds} ${s.name}: ${Math.round(records / m.seconds)} records/s, ${m.cpuSeconds.toFixed(2)} CPU s, load ${loads[loads.length - 1]}\n`,
        );
      }
    }
    const rows: Row[] = SETTINGS.map((s) => {
      const ms = results.get(s)!;
      const seconds = median(ms.map((m) => m.seconds));
      const cpuSeconds = median(ms.map((m) => m.cpuSeconds));
      const rates = ms.map((m) => records / m.seconds);
      return {
        setting: s.name,
        recordsPerSecond: Math.round(records / seconds),
        mbPerSecond: mbPerSecond(records, seconds),
        spreadPercent: Math.round(
          ((Math.max(...rates) - Math.min(...rates)) / (records / seconds)) * 100,
        ),
        agentCpuSeconds: Number(cpuSeconds.toFixed(2)),
        recordsPerCpuSecond: Math.round(records / cpuSeconds),
        peakRssMiB: mib(Math.max(...ms.map((m) => m.peakRssBytes))),
      };
    });
    const { cpus } = machineLoad();
    printReport("replication-tuning", rows);
    process.stdout.write(
      `\n${records} records of 1 KiB over ${partitions} partitions per run, ${rounds} rounds (median; spread = (max − min) / median rate); ` +
        `time from the units' start to the last acknowledgement; ` +
        `${cpus} CPUs, load average (1 min) ${loadBefore} before the clusters started, ${Math.min(...loads)}–${Math.max(...loads)} between runs (those include the run's own brokers and agent). ` +
        `Defaults: source ${DEFAULT_SOURCE.compression}, ${DEFAULT_SOURCE.batchBytes / KiB} KiB batches, forwarded, one agent process.\n`,
    );
  } finally {
    await stopAll();
  }
}

function sourceKey(s: Source): string {
  return `${s.compression}-${s.batchBytes / KiB}k`;
}

/** Fisher-Yates with a small seeded generator: the same orders on every run of the sweep. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  // Park-Miller: products stay below 2^53, so plain numbers compute it exactly.
  let state = seed;
  const next = () => {
    state = (state * 48_271) % 2_147_483_647;
    return state / 2_147_483_647;
  };
  // Small seeds start with tiny values: skip those, or the last item always moves first.
  for (let i = 0; i < 8; i++) next();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return Number.isInteger(mid) ? (sorted[mid - 1]! + sorted[mid]!) / 2 : sorted[Math.floor(mid)]!;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
