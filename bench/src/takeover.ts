// Issue 4's takeover figures (not a test): real Kafka, Redis, coordinator and agent processes
// started from services/*/dist, a flow over 3 topics × 4 partitions under a light steady load.
// kill -9 of an agent: how long until every unit it held runs on another agent (contract: within
// the lease TTL + 2 s). kill -9 of the leading coordinator: how long until the standby leads and
// every unit shows running through it, and the longest pause in the target's writes meanwhile.
// Production lease settings unless ttlMs is given. See bench/README.md for the definitions.
//   node bench/dist/takeover.js [rounds=3] [failoverRounds=rounds] [ttlMs=default]
import { machineLoad } from "./replication-rig";
import { printReport, type Row } from "./report";
import {
  logTime,
  now,
  quantilesOf,
  SOURCE,
  type Stack,
  settled,
  sleep,
  startStack,
  startSteadyLoad,
  TIMING_COLUMNS,
  type UnitRow,
  waitUntil,
} from "./service-stack";

const TOPICS = ["orders", "payments", "clicks"];
const PARTITIONS = 4;
const UNITS = TOPICS.length * PARTITIONS;
const AGENTS = ["agent-1", "agent-2", "agent-3"];
const POLL_MS = 100;
/** Writes the dead agent may still have on the wire when it dies land within this. */
const IN_FLIGHT_MS = 500;

/** Milliseconds after the kill -9 at which the first poll saw each milestone. */
interface Takeover {
  victim: string;
  /** Units per agent before the kill. */
  before: string;
  units: number;
  /** Units of the survivors that moved meanwhile (should be none). */
  othersMoved: number;
  granted: number;
  running: number;
  reported: number;
  copying: number;
  loadAvg1m: number;
}

/** Target end offsets of `ids` (`topic/partition`), one ListOffsets per topic. */
async function targetEnds(stack: Stack, ids: readonly string[]): Promise<Map<string, bigint>> {
  const byTopic = new Map<string, number[]>();
  for (const id of ids) {
    const [topic, partition] = id.split("/") as [string, string];
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), Number(partition)]);
  }
  const ends = new Map<string, bigint>();
  await Promise.all(
    [...byTopic].map(async ([topic, partitions]) => {
      const listed = await stack.targetWire.listOffsets(`${SOURCE}.${topic}`, partitions, "latest");
      for (const { partition, offset } of listed) ends.set(`${topic}/${partition}`, offset);
    }),
  );
  return ends;
}

async function takeover(stack: Stack, victimId: string, before: UnitRow[]): Promise<Takeover> {
  const held = before.filter((u) => u.actual === victimId);
  const oldEpoch = new Map(held.map((u) => [u.id, u.epoch]));
  const survivors = AGENTS.filter((id) => id !== victimId);
  const survivorProcesses = survivors.map((id) => stack.agents.get(id)!);
  const loadAvg1m = machineLoad().loadAvg1m;
  const killedAt = now();
  const killed = stack.kill(stack.agents.get(victimId)!);
  await sleep(IN_FLIGHT_MS);
  await killed;
  const ids = [...oldEpoch.keys()];
  const ends0 = await targetEnds(stack, ids);
  const seen: Partial<Record<"granted" | "running" | "reported" | "copying", number>> = {};
  const movedOn = (u: UnitRow | undefined) =>
    u !== undefined && survivors.includes(u.desired) && u.epoch > oldEpoch.get(u.id)!;
  await waitUntil(
    `${victimId}'s ${ids.length} units running on ${survivors.join(", ")}`,
    async () => {
      const [rows, ends, ...running] = await Promise.all([
        stack.units(),
        targetEnds(stack, ids),
        ...survivorProcesses.map((a) => stack.agentRunning(a)),
      ]);
      const t = Math.round(now() - killedAt);
      const row = new Map(rows.map((u) => [u.id, u]));
      const all = (ok: (id: string) => boolean) => ids.every(ok);
      if (all((id) => movedOn(row.get(id)))) seen.granted ??= t;
      if (all((id) => running.some((m) => (m.get(id) ?? 0n) > oldEpoch.get(id)!))) {
        seen.running ??= t;
      }
      if (all((id) => movedOn(row.get(id)) && row.get(id)!.running)) seen.reported ??= t;
      if (all((id) => ends.get(id)! > ends0.get(id)!)) seen.copying ??= t;
      return Object.keys(seen).length === 4 ? seen : undefined;
    },
    { timeoutMs: 120_000, intervalMs: POLL_MS },
  );
  const after = new Map((await stack.units()).map((u) => [u.id, u.actual]));
  return {
    victim: victimId,
    before: countsByAgent(before),
    units: ids.length,
    othersMoved: before.filter((u) => u.actual !== victimId && after.get(u.id) !== u.actual).length,
    granted: seen.granted!,
    running: seen.running!,
    reported: seen.reported!,
    copying: seen.copying!,
    loadAvg1m,
  };
}

interface Failover {
  elected: number;
  reported: number;
  moved: number;
  before: string;
  after: string;
  /** Longest time without any write to the target: before the kill (2 s), and from the kill on. */
  pauseBefore: number;
  pauseDuring: number;
  loadAvg1m: number;
}

/** Sum of the target's end offsets over all partitions, every POLL_MS, until stopped. */
function sampleTarget(stack: Stack) {
  const ids = TOPICS.flatMap((t) => Array.from({ length: PARTITIONS }, (_, p) => `${t}/${p}`));
  const samples: { at: number; total: bigint }[] = [];
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const ends = await targetEnds(stack, ids).catch(() => undefined);
      if (ends !== undefined) {
        samples.push({ at: now(), total: [...ends.values()].reduce((a, b) => a + b, 0n) });
      }
      await sleep(POLL_MS);
    }
  })();
  /** Longest span in [from, to] between two samples that saw the total grow. */
  const longestPause = (from: number, to: number) => {
    let last = from;
    let longest = 0;
    for (let i = 1; i < samples.length; i++) {
      const s = samples[i]!;
      if (s.at < from || s.total === samples[i - 1]!.total) continue;
      if (s.at > to) break;
      longest = Math.max(longest, s.at - last);
      last = s.at;
    }
    return Math.round(Math.max(longest, to - last));
  };
  return {
    longestPause,
    stop: async () => {
      stopping = true;
      await loop;
    },
  };
}

/** e.g. "agent-1 4, agent-2 4, agent-3 4" */
function countsByAgent(rows: readonly UnitRow[]): string {
  const counts = new Map<string, number>();
  for (const u of rows) counts.set(u.actual, (counts.get(u.actual) ?? 0) + 1);
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([agent, n]) => `${agent} ${n}`)
    .join(", ");
}

async function failover(stack: Stack): Promise<Failover> {
  const old = stack.leader()!;
  const index = stack.coordinators.indexOf(old);
  const standby = stack.coordinators.find((c) => c !== old && c.alive())!;
  const before = await settled(stack, UNITS, AGENTS);
  const sampler = sampleTarget(stack);
  await sleep(2000);
  const loadAvg1m = machineLoad().loadAvg1m;
  const from = standby.output.length;
  const killedWall = Date.now();
  const killedAt = now();
  await stack.kill(old);
  const electedWall = await waitUntil(
    "the standby to lead",
    () => logTime(standby, "leading: assignment rounds start", from),
    { timeoutMs: 120_000, intervalMs: 20 },
  );
  const after = await waitUntil(
    "every unit running, as ListUnits through the new leader shows",
    async () => {
      const rows = await stack.units(standby);
      return rows.length === UNITS && rows.every((u) => u.running) ? rows : undefined;
    },
    { timeoutMs: 120_000, intervalMs: POLL_MS },
  );
  const reportedAt = now();
  await sleep(1000);
  await sampler.stop();
  const previous = new Map(before.map((u) => [u.id, u.actual]));
  const result = {
    elected: electedWall - killedWall,
    reported: Math.round(reportedAt - killedAt),
    moved: after.filter((u) => previous.get(u.id) !== u.actual).length,
    before: countsByAgent(before),
    after: countsByAgent(after),
    pauseBefore: sampler.longestPause(killedAt - 2000, killedAt),
    pauseDuring: sampler.longestPause(killedAt, reportedAt),
    loadAvg1m,
  };
  // As an orchestrator would: the killed coordinator comes back, as the standby.
  await stack.restartCoordinator(index);
  return result;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3);
  const failoverRounds = Number(process.argv[3] ?? rounds);
  const ttlArg = process.argv[4];
  const loadBefore = machineLoad();
  const stack = await startStack({
    topics: TOPICS,
    partitions: PARTITIONS,
    include: TOPICS,
    coordinators: failoverRounds > 0 ? 2 : 1,
    agents: AGENTS,
    ...(ttlArg === undefined ? {} : { leases: { ttlMs: Number(ttlArg) } }),
  });
  let load: Awaited<ReturnType<typeof startSteadyLoad>> | undefined;
  let failed = false;
  try {
    const leases = stack.config.leases;
    const bound = leases.ttlMs + 2000;
    process.stderr.write(`leases ${JSON.stringify(leases)}; waiting for a leader...\n`);
    load = await startSteadyLoad(stack.source, TOPICS, PARTITIONS);
    await waitUntil("a leader", () => stack.leader(), { timeoutMs: 120_000 });
    const startedAt = now();
    await settled(stack, UNITS, AGENTS);
    const settleMs = Math.round(now() - startedAt);
    const takeovers: Takeover[] = [];
    for (let r = 0; r < rounds; r++) {
      const victim = AGENTS[r % AGENTS.length]!;
      const before = await settled(stack, UNITS, AGENTS);
      process.stderr.write(`round ${r + 1}: kill -9 ${victim}...\n`);
      const t = await takeover(stack, victim, before);
      process.stderr.write(`  ${JSON.stringify(t)}\n`);
      takeovers.push(t);
      await stack.startAgent(victim);
    }
    const failovers: Failover[] = [];
    for (let r = 0; r < failoverRounds; r++) {
      process.stderr.write(`failover ${r + 1}: kill -9 the leading coordinator...\n`);
      const f = await failover(stack);
      process.stderr.write(`  ${JSON.stringify(f)}\n`);
      failovers.push(f);
    }
    const sent = await load.stop();
    load = undefined;
    const loadAfter = machineLoad();
    const row = (what: string, values: number[], withBound: boolean): Row => {
      const q = quantilesOf(values);
      return {
        measure: what,
        n: values.length,
        minMs: q.min,
        medianMs: q.median,
        maxMs: q.max,
        samplesMs: values.join(", "),
        boundMs: withBound ? bound : null,
        allWithinBound: withBound ? values.every((v) => v <= bound) : null,
      };
    };
    const of = (key: keyof Takeover) => takeovers.map((t) => t[key] as number);
    const rows: Row[] = [
      row(
        "agent kill -9 → units granted to survivors (ListUnits desired + epoch)",
        of("granted"),
        true,
      ),
      row(
        "agent kill -9 → units running on survivors (agents' ListRunningUnits)",
        of("running"),
        true,
      ),
      row(
        "agent kill -9 → units RUNNING on survivors (coordinator ListUnits)",
        of("reported"),
        true,
      ),
      row("agent kill -9 → every taken-over partition written in the target", of("copying"), true),
    ];
    if (failovers.length > 0) {
      const fo = (key: "elected" | "reported" | "pauseDuring" | "pauseBefore") =>
        failovers.map((f) => f[key]);
      rows.push(
        row("leader kill -9 → standby leads", fo("elected"), false),
        row("leader kill -9 → every unit RUNNING through the new leader", fo("reported"), false),
        row(
          "leader kill -9: longest pause of target writes (kill → all RUNNING)",
          fo("pauseDuring"),
          false,
        ),
        row(
          "no fault: longest pause of target writes (2 s before the kill)",
          fo("pauseBefore"),
          false,
        ),
      );
    }
    printReport(
      "takeover",
      rows.map((r) => ({
        ...r,
        ttlMs: leases.ttlMs,
        renewIntervalMs: leases.renewIntervalMs,
        safetyMarginMs: leases.safetyMarginMs,
        graceMs: leases.graceMs,
      })),
      {
        columns: TIMING_COLUMNS,
      },
    );
    process.stdout.write(
      `\nLeases: ttl ${leases.ttlMs} ms, renew every ${leases.renewIntervalMs} ms, safety margin ${leases.safetyMarginMs} ms, grace ${leases.graceMs} ms; bound = ttl + 2 s. ` +
        `${UNITS} units (${TOPICS.length} topics × ${PARTITIONS} partitions), ${AGENTS.length} agents, ${failoverRounds > 0 ? "2 coordinators" : "1 coordinator"}; ` +
        `load ${sent} records (1 per partition per ${POLL_MS} ms). Victims' units per round: ${takeovers.map((t) => `${t.victim} ${t.units}`).join(", ")}; survivors' units moved meanwhile: ${takeovers.map((t) => t.othersMoved).join(", ")}; ` +
        `units moved by the failovers: ${failovers.map((f) => f.moved).join(", ") || "-"}. First settle ${settleMs} ms. ` +
        `Polls every ${POLL_MS} ms (figures are when a poll's answer showed it). ` +
        `Load average 1m: ${loadBefore.loadAvg1m} before the run, ${[...takeovers, ...failovers].map((t) => t.loadAvg1m).join(", ")} at the kills, ${loadAfter.loadAvg1m} after.\n`,
    );
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    await load?.stop().catch(() => {});
    await stack.stop(failed);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
