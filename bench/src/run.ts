// `npm run bench -- <name> [args]`: runs one benchmark, which prints its figures as a JSON line
// and a markdown table. Without a name, lists them.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const BENCHMARKS: Record<string, { file: string; what: string }> = {
  assignment: {
    file: join(__dirname, "assignment.js"),
    what: "coordinator assignment: 100,000 units over 500 agents (cold, warm, join, leave, skew)",
  },
  chaos: {
    file: join(__dirname, "chaos.js"),
    what: "issue 9: faults one after another under load (kill -9, SIGSTOP, Redis freeze and empty restart, broker restarts, network cut and delay): time to advance, lost, duplicates [--quick] [--faults a,b] [--json file]",
  },
  codec: {
    file: join(__dirname, "..", "..", "libs", "record-batch", "dist", "bench-codec.js"),
    what: "record-batch decode/encode/forward throughput per compression codec",
  },
  discovery: {
    file: join(__dirname, "discovery.js"),
    what: "issue 4: a new source topic, and an added partition, replicating in the target (contract 5 s) [rounds] [maxWaitSeconds]",
  },
  failover: {
    file: join(__dirname, "failover.js"),
    what: "issue 12: planned switchover and unplanned failover (broker killed) at 5,000 records/s over 12 partitions: RTO, RPO, a following group's duplicates and misses, side by side with MirrorMaker 2's checkpoints + RemoteClusterUtils [recordsPerSecond] [warmupSeconds] [afterSeconds] [scenarios=switchover,failover]",
  },
  health: {
    file: join(__dirname, "health.js"),
    what: "issue 11: health service at 20 clusters × 5,000 partitions (aliases of one real broker): CPU per probe round, /metrics size and time [clusters] [partitions] [seconds] [partition,topic]",
  },
  "region-switch": {
    file: join(__dirname, "region-switch.js"),
    what: "issue 12: a following producer under load through region switchovers: write pause, dups, misses [rounds] [recordsPerSecond]",
  },
  offsets: {
    file: join(__dirname, "offsets.js"),
    what: "issue 10: index rebuild, checkpoint age and CPU with 1,000 groups × 24 partitions, Translate latency [groups] [units] [segments] [measureSeconds]",
  },
  replication: {
    file: join(__dirname, "replication-engine.js"),
    what: "issue 3: 1,000,000 × 1 KiB over 12 partitions between two local clusters, then live latency [records] [partitions] [provenance 0|1] [compression] [liveRecordsPerSecond] [liveSeconds]",
  },
  "replication-tuning": {
    file: join(__dirname, "replication-tuning.js"),
    what: "replication engine knobs, one at a time, on a smaller backlog [records] [partitions] [rounds]",
  },
  "replication-memory": {
    file: join(__dirname, "replication-memory.js"),
    what: "issue 3: agent memory with lag on 1,000 partitions vs 12, same backlog [records] [partitions] [compareWith] [heapSnapshotAt]",
  },
  "request-limits": {
    file: join(__dirname, "request-limits.js"),
    what: "issue 14: flow validation time (limits + overlap) for large topic filters",
  },
  takeover: {
    file: join(__dirname, "takeover.js"),
    what: "issue 4: kill -9 of an agent → its units on other agents (contract TTL + 2 s); leader failover [rounds] [failoverRounds] [ttlMs]",
  },
  tracing: {
    file: join(__dirname, "tracing.js"),
    what: "issue 15: per-batch cost of tracing a sample of replicated batches, telemetry off and on [batches]",
  },
  "wire-forward": {
    file: join(__dirname, "kafka-wire-forward.js"),
    what: "fetch + forward raw batches between topics on a real local broker [records] [partitions] [batchBytes] [transports: socket,kafkajs,...]",
  },
};

const [name, ...args] = process.argv.slice(2);
const benchmark = name === undefined ? undefined : BENCHMARKS[name];
if (benchmark === undefined) {
  const list = Object.entries(BENCHMARKS)
    .map(([key, { what }]) => `  ${key.padEnd(18)} ${what}`)
    .join("\n");
  process.stderr.write(
    `${name === undefined ? "" : `unknown benchmark "${name}"\n`}usage: npm run bench -- <name> [args]\n${list}\n`,
  );
  process.exit(name === undefined ? 0 : 2);
}
const result = spawnSync(process.execPath, [benchmark.file, ...args], { stdio: "inherit" });
process.exit(result.status ?? 1);
