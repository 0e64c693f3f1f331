// The replicating side of the replication benchmarks, forked by replication-rig.ts: one
// replication engine in a process of its own, so that the CPU seconds and peak RSS it reports are
// the replicator's alone (not the load generator's or the latency consumer's), and so that every
// setting of a sweep starts from a fresh heap. No coordinator or Redis: the units are assigned
// statically, as the agent would be told to by the coordinator.
import { createLogger } from "@geo/logging";
import {
  createReplicationEngine,
  type ReplicationEngine,
  type UnitAssignment,
  type UnitStatus,
} from "@geo/replication";
import type { AgentInit, AgentMessage, AgentRequest, AgentSnapshot } from "./replication-rig";

const MIN_POLL_MS = 10;
const MAX_POLL_MS = 1000;
const PROGRESS_EVERY_MS = 5000;

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
    epoch: 1n,
    flow,
  }));
  const total = init.until.reduce((n, [, offset]) => n + offset, 0n);
  engine = createReplicationEngine({
    agentId: init.agentId,
    clusters: init.clusters,
    logger: createLogger({ service: "bench-agent", level: "warn" }),
    offsetMapCleanupIntervalMs: 0,
    // The agent's own setting (services/agent): a quarter second of re-delivery after a crash.
    progressIntervalMs: 250,
    ...init.tuning,
  });
  const t0 = performance.now();
  await engine.assign(units);
  const startSeconds = (performance.now() - t0) / 1000;
  let lastReport = t0;
  for (;;) {
    const statuses = engine.statuses();
    const bad = statuses.find((s) => s.state === "error");
    if (bad !== undefined) throw new Error(bad.reason);
    const done = acknowledged(statuses);
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
  await reply({
    type: "caught-up",
    seconds: (performance.now() - t0) / 1000,
    startSeconds,
    ...snapshot(),
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
