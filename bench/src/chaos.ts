// `npm run chaos` (or `npm run bench -- chaos`): the fault suite. One stack under a sequenced
// load; faults one after another; after each, how long until every partition advanced again,
// the longest pause of a partition, and what the independent checker counts lost, duplicated
// and reordered since the previous fault. Prints a markdown table and a JSON line; exits 1 when
// a row fails (records lost, or a partition not advancing within TTL + 5 s after the fault).
//   node bench/dist/chaos.js [--quick] [--faults a,b,...] [--json <file>]
// --quick: one target broker, no offsets/health services, the faults the `npm test` form runs.
import { writeFileSync } from "node:fs";
import { createKafkaClient } from "@geo/kafka";
import { createLogger } from "@geo/logging";
import { type ChaosLeases, SOURCE, startChaosStack, TARGET } from "./chaos/chaos-stack";
import { ALL_FAULTS, FAULTS } from "./chaos/faults";
import {
  type Counts,
  createReplicaChecker,
  sampleRemoteEnds,
  startSequencedLoad,
} from "./chaos/sequence-check";
import { printReport, type Row } from "./report";
import { sleep } from "./service-stack";

const LEASES: ChaosLeases = {
  ttlMs: 3000,
  renewIntervalMs: 500,
  safetyMarginMs: 1500,
  graceMs: 500,
};
const QUICK_FAULTS = ["redis-freeze", "agent-kill", "coordinator-leader-kill"];
const TOPICS = ["orders", "payments"];
const PARTITIONS = 3;
const AGENTS = ["agent-1", "agent-2"];
const remoteOf = (topic: string) => `${SOURCE}.${topic}`;

function parseArgs(argv: readonly string[]) {
  const quick = argv.includes("--quick");
  const at = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const faults = at("--faults")?.split(",") ?? (quick ? QUICK_FAULTS : ALL_FAULTS);
  const unknown = faults.filter((name) => FAULTS[name] === undefined);
  if (unknown.length > 0) {
    throw new Error(
      `unknown fault(s) ${unknown.join(", ")}; known: ${Object.keys(FAULTS).join(", ")}`,
    );
  }
  return { quick, faults, json: at("--json") };
}

async function main(): Promise<number> {
  const { quick, faults, json } = parseArgs(process.argv.slice(2));
  const needsHub = faults.some((name) => name === "offsets-kill" || name === "health-kill");
  const stack = await startChaosStack({
    topics: TOPICS,
    partitions: PARTITIONS,
    targetBrokers: quick || !faults.includes("target-broker-restart") ? 1 : 3,
    agents: AGENTS,
    hubServices: needsHub,
    leases: LEASES,
  });
  const logger = createLogger({ service: "chaos", level: "silent" });
  const cluster = (alias: string, servers: string[]) => ({
    alias,
    region: alias,
    bootstrapServers: servers,
  });
  const producerClient = createKafkaClient(cluster(SOURCE, stack.source.bootstrapServers), {
    clientId: "chaos-load",
    logger,
  });
  const targetAdmin = createKafkaClient(cluster(TARGET, stack.target.bootstrapServers), {
    clientId: "chaos-sampler",
    logger,
  }).admin();
  await targetAdmin.connect();
  const sourceAdmin = producerClient.admin();
  await sourceAdmin.connect();
  await sourceAdmin.createTopics({
    waitForLeaders: true,
    topics: TOPICS.map((topic) => ({ topic, numPartitions: PARTITIONS })),
  });
  await sourceAdmin.disconnect();
  const load = await startSequencedLoad(producerClient, TOPICS, PARTITIONS);
  const sampler = sampleRemoteEnds(targetAdmin, TOPICS, PARTITIONS, remoteOf);
  const checker = createReplicaChecker(
    stack.source.bootstrapServers,
    stack.target.bootstrapServers,
    TOPICS,
    PARTITIONS,
    remoteOf,
  );
  const rows: Row[] = [];
  let failed = false;
  const boundMs = LEASES.ttlMs + 5000;
  try {
    const ready = await sampler.advanceAfter(Date.now(), 120_000);
    if (ready === undefined) throw new Error("replication never started on every partition");
    let previous: Counts = await checker.check(60_000);
    for (const name of faults) {
      await sleep(2000);
      const window = await FAULTS[name]!(stack, LEASES.ttlMs);
      const advancedMs = await sampler.advanceAfter(window.endedAt, 60_000);
      const counts = await checker.check(60_000);
      const checkedAt = Date.now();
      const stallMs = sampler.longestStall(window.startedAt, checkedAt);
      // Every partition advancing again also means after its last pause (1 s without growth,
      // ten times the load's cadence) that began before the fault ended.
      const resumedAt = sampler.lastResumption(window.startedAt, checkedAt, 1000);
      const advanceMs =
        advancedMs === undefined
          ? undefined
          : Math.max(advancedMs, (resumedAt ?? window.endedAt) - window.endedAt);
      const lost = counts.lost;
      const ok = lost === 0 && advanceMs !== undefined && advanceMs <= boundMs;
      failed ||= !ok;
      rows.push({
        fault: name,
        faultMs: window.endedAt - window.startedAt,
        advanceAfterEndMs: advanceMs ?? null,
        boundMs,
        longestPartitionPauseMs: stallMs,
        lost,
        duplicates: counts.duplicates - previous.duplicates,
        reordered: counts.reordered - previous.reordered,
        ok,
        note: window.note,
      });
      process.stderr.write(`${JSON.stringify(rows.at(-1))}\n`);
      previous = counts;
    }
    await load.stop();
    const final = await checker.check(60_000);
    rows.push({
      fault: "total",
      lost: final.lost,
      duplicates: final.duplicates,
      reordered: final.reordered,
      ok: final.lost === 0,
      note: `${final.sourceRecords} source records, ${load.failedSends()} failed sends (not in the source)`,
    });
    failed ||= final.lost > 0;
  } finally {
    await load.stop();
    await sampler.stop();
    await checker.close().catch(() => {});
    await targetAdmin.disconnect().catch(() => {});
    await stack.stop(failed);
  }
  printReport("chaos", rows);
  if (json !== undefined) writeFileSync(json, `${JSON.stringify({ boundMs, rows })}\n`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`chaos: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  },
);
