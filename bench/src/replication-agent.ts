// The replicating side of the replication benchmarks, forked by replication-rig.ts: one
// replication engine in a process of its own, so that the CPU seconds and peak RSS it reports are
// the replicator's alone (not the load generator's or the latency consumer's), and so that every
// setting of a sweep starts from a fresh heap. No coordinator or Redis: the units are assigned
// statically, as the agent would be told to by the coordinator.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";
import { createLogger } from "@geo/logging";
import { type Gauge, Registry } from "@geo/metrics";
import { toEpoch } from "@geo/positions";
import {
  createReplicationEngine,
  type ReplicationEngine,
  type UnitAssignment,
  type UnitStatus,
} from "@geo/replication";
import type {
  AgentInit,
  AgentMessage,
  AgentRequest,
  AgentSnapshot,
  MemorySummary,
} from "./replication-rig";

const MIN_POLL_MS = 10;
const MAX_POLL_MS = 1000;
const PROGRESS_EVERY_MS = 5000;
const SETTLE_MS = 2000;

let cpu0 = process.cpuUsage();
let engine: ReplicationEngine | undefined;

function reply(m: AgentMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) resolve();
    else process.send(m, undefined, {}, () => resolve());
  });
}

function snapshot(): AgentSnapshot {
  const cpu = process.cpuUsage(cpu0);
  return {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

/** Samples memory and the engine's buffered bytes every `everyMs` until stopped. */
function sampleMemory(registry: Registry, everyMs: number): () => Promise<MemorySummary> {
  const rss: number[] = [];
  const heap: number[] = [];
  let arrayBuffersMax = 0;
  let bufferedMax = 0;
  const buffered = () =>
    (registry.getSingleMetric("geo_agent_buffered_bytes") as Gauge | undefined)?.get();
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    rss.push(m.rss);
    heap.push(m.heapUsed);
    arrayBuffersMax = Math.max(arrayBuffersMax, m.arrayBuffers);
    void buffered()?.then((g) => {
      for (const v of g.values) bufferedMax = Math.max(bufferedMax, v.value);
    });
  }, everyMs);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0;
  return async () => {
    clearInterval(timer);
    // What stays once the last acknowledgements and progress writes are through.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    (globalThis as { gc?: () => void }).gc?.();
    const after = process.memoryUsage();
    return {
      samples: rss.length,
      rssMedianBytes: median(rss),
      rssMaxBytes: Math.max(0, ...rss),
      heapUsedMedianBytes: median(heap),
      heapUsedMaxBytes: Math.max(0, ...heap),
      arrayBuffersMaxBytes: arrayBuffersMax,
      bufferedMaxBytes: bufferedMax,
      rssAfterBytes: after.rss,
      heapUsedAfterBytes: after.heapUsed,
      arrayBuffersAfterBytes: after.arrayBuffers,
    };
  };
}

function acknowledged(statuses: UnitStatus[]): bigint {
  return statuses.reduce((n, s) => n + (s.nextSourceOffset < 0n ? 0n : s.nextSourceOffset), 0n);
}

async function start(init: AgentInit): Promise<void> {
  cpu0 = process.cpuUsage();
  const flow = {
    name: init.flowName,
    sourceCluster: "src",
    targetCluster: "dst",
    naming: "prefix" as const,
    provenanceHeader: init.provenanceHeader,
    startFrom: "earliest" as const,
    onOffsetOutOfRange: "fail" as const,
    paused: false,
  };
  const units: UnitAssignment[] = init.until.map(([partition]) => ({
    unit: { flow: flow.name, sourceTopic: init.sourceTopic, partition },
    remoteTopic: init.remoteTopic,
    epoch: toEpoch(1),
    flow,
  }));
  const total = init.until.reduce((n, [, offset]) => n + offset, 0n);
  const registry = new Registry();
  engine = createReplicationEngine({
    metrics: registry,
    agentId: init.agentId,
    clusters: init.clusters,
    logger: createLogger({ service: "bench-agent", level: "warn" }),
    offsetMapCleanupIntervalMs: 0,
    // The agent's own setting (services/agent): a quarter second of re-delivery after a crash.
    progressIntervalMs: 250,
    ...init.tuning,
  });
  const memory =
    init.sampleMemoryMs === undefined ? undefined : sampleMemory(registry, init.sampleMemoryMs);
  const t0 = performance.now();
  await engine.assign(units);
  const startSeconds = (performance.now() - t0) / 1000;
  let lastReport = t0;
  let heapSnapshot: string | undefined;
  for (;;) {
    const statuses = engine.statuses();
    const bad = statuses.find((s) => s.state === "error");
    if (bad !== undefined) throw new Error(bad.reason);
    const done = acknowledged(statuses);
    if (
      init.heapSnapshotAt !== undefined &&
      heapSnapshot === undefined &&
      Number(done) >= Number(total) * init.heapSnapshotAt
    ) {
      heapSnapshot = writeHeapSnapshot(
        join(tmpdir(), `${init.agentId}-${process.pid}.heapsnapshot`),
      );
      process.stderr.write(
        `${init.agentId}: heap snapshot at ${done}/${total} records: ${heapSnapshot}\n`,
      );
    }
    if (done >= total) break;
    const now = performance.now();
    if (now - lastReport > PROGRESS_EVERY_MS) {
      lastReport = now;
      process.stderr.write(
        `${init.agentId}: ${((now - t0) / 1000).toFixed(0)} s, ${done}/${total} records, rss ${Math.round(process.memoryUsage().rss / 1048576)} MiB\n`,
      );
    }
    // statuses() sorts every unit's latency samples: poll about twice before the expected end,
    // not every few milliseconds, or the bench's own polling shows in the agent's CPU time.
    const perMs = Number(done) / Math.max(1, now - t0);
    const etaMs = perMs > 0 ? Number(total - done) / perMs : MAX_POLL_MS;
    await new Promise((r) =>
      setTimeout(r, Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, etaMs / 2))),
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  const caughtUp = snapshot();
  await reply({
    type: "caught-up",
    seconds,
    startSeconds,
    ...caughtUp,
    ...(memory === undefined
      ? {}
      : {
          memory: { ...(await memory()), ...(heapSnapshot === undefined ? {} : { heapSnapshot }) },
        }),
  });
}

async function stop(): Promise<void> {
  await engine?.close();
  await reply({ type: "stopped", ...snapshot() });
  process.disconnect?.();
}

function failed(e: unknown): void {
  process.exitCode = 1;
  void reply({ type: "error", message: (e as Error)?.stack ?? String(e) }).then(() =>
    process.disconnect?.(),
  );
}

process.on("message", (m: AgentRequest) => {
  if (m.type === "init") start(m).catch(failed);
  else if (m.type === "snapshot") void reply({ type: "snapshot", ...snapshot() });
  else stop().catch(failed);
});
// The parent is gone (killed, or done with us without a stop): nothing to report to.
process.on("disconnect", () => {
  void engine?.close().finally(() => process.exit());
});
