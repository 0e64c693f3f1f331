// Issue 12's benchmark: a planned switchover and an unplanned failover us-east -> eu-west under a
// sequenced producer (12 partitions, 5,000 records/s) with the consumer group `billing`
// mid-stream, both following the active region (@geo/region-client); each on a fresh stack
// (failover-stack.ts). Measured: RTO (the transition record's time with no active region, and
// what the producer and the group saw), RPO / records at risk, the group's duplicates and misses
// over every acknowledged record. Side by side on the same clusters and the same group position:
// MirrorMaker 2 replicating us-east -> eu-west with checkpoints; at the moment the active region
// flips, RemoteClusterUtils.translateOffsets is asked for `billing` and the group, seeked there,
// reads MM2's remote topic; its duplicates and misses are counted over the records written in
// us-east the same way.
//   node bench/dist/failover.js [recordsPerSecond=5000] [warmupSeconds=10] [afterSeconds=5]
//                               [scenarios=switchover,failover]
import { Code, GeoError } from "@geo/grpc";
import { createLogger } from "@geo/logging";
import { healthV1 } from "@geo/proto";
import { checkRisk, missingFrom, producerFigures, readSequences } from "./failover-audit";
import { figures, type Kind, MIN_RATE_SHARE, type Moved, ms } from "./failover-figures";
import {
  readAfterMm2Seek,
  type SequencedLoad,
  sequenceCheck,
  startSequencedLoad,
} from "./failover-load";
import {
  endOffsetSum,
  type FailoverStack,
  FLOW,
  FLOW_GROUP,
  GROUP,
  MM2_ALIAS,
  MM2_REMOTE,
  REMOTE,
  settledEnd,
  startFailoverStack,
  TOPIC,
} from "./failover-stack";
import { printReport, type Row } from "./report";
import { now, sleep, waitUntil } from "./service-stack";

const [perSecond = 5000, warmupSeconds = 10, afterSeconds = 5] = process.argv
  .slice(2, 5)
  .map(Number);
const kinds = (process.argv[5] ?? "switchover,failover").split(",") as Kind[];
const MM2_CHECKPOINTS = `${MM2_ALIAS}.checkpoints.internal`;
/** The applications' region switches (holding, reconnecting), with times, on stderr. */
const logger = createLogger({
  service: "failover-bench-clients",
  level: "info",
  destination: process.stderr,
});
const benchStart = now();
/** Where the run is, on stderr (stdout carries the report). */
const progress = (what: string) =>
  process.stderr.write(`[failover +${((now() - benchStart) / 1000).toFixed(0)} s] ${what}\n`);

async function switchover(stack: FailoverStack): Promise<Moved> {
  const { state } = await stack.health.getRegionState({ flowGroup: FLOW_GROUP });
  const requestAt = now();
  const answer = await stack.health.switchover({
    flowGroup: FLOW_GROUP,
    targetRegion: "eu-west",
    expectedEpoch: state!.epoch,
    actor: "bench",
    reason: "failover benchmark: planned switchover",
  });
  return { record: answer.transition!, requestAt, flipAt: now() };
}

/** Kills us-east's broker, then asks for an unforced failover until the health service agrees. */
async function failover(stack: FailoverStack): Promise<Moved> {
  const { state } = await stack.health.getRegionState({ flowGroup: FLOW_GROUP });
  const source = stack.clusters[0]!;
  const killAt = now();
  await source.killBroker(source.brokers[0]!.nodeId);
  const deadline = killAt + 60_000;
  for (;;) {
    const requestAt = now();
    try {
      const answer = await stack.health.failover({
        flowGroup: FLOW_GROUP,
        targetRegion: "eu-west",
        expectedEpoch: state!.epoch,
        actor: "bench",
        reason: "failover benchmark: us-east's broker killed",
      });
      return { record: answer.transition!, requestAt, flipAt: now(), killAt };
    } catch (error) {
      const refused = error instanceof GeoError && error.code === Code.FAILED_PRECONDITION;
      if (!refused || now() > deadline) throw error;
      await sleep(250);
    }
  }
}

/** The group's next offset per partition in us-east (what it handled there), and their sum. */
function positionsAtSource(load: SequencedLoad): Map<number, bigint> {
  const positions = new Map<number, bigint>();
  for (const h of load.handled) {
    if (h.region !== "us-east") continue;
    const next = h.offset + 1n;
    if (next > (positions.get(h.partition) ?? 0n)) positions.set(h.partition, next);
  }
  return positions;
}

/**
 * Records the group handled in us-east past the checkpoints of our offsets service that the
 * failover translated. They are listed right after it: the offsets service wrote the group's
 * commits it had followed before translating (CommitCheckpoints.flush) and, us-east being down,
 * nothing newer can come, so the list is what the failover read unless that write took over 1 s
 * (the offsets service logs it). `after`: checkpoints written once the failover's commit step had
 * ended, which it cannot have used (the figure then reads newer ones; the note says so).
 */
async function consumedSinceCheckpoint(
  stack: FailoverStack,
  load: SequencedLoad,
  record: healthV1.TransitionRecord,
) {
  const { checkpoints } = await stack.offsets.listCheckpoints({ flow: FLOW, group: GROUP });
  let since = 0n;
  for (const [partition, next] of positionsAtSource(load)) {
    const checkpoint = checkpoints.find(
      (c) => c.sourceTopic === TOPIC && c.partition === partition,
    );
    since += next - BigInt(checkpoint?.sourceOffset ?? "0");
  }
  const ageMs = Math.max(0, ...checkpoints.map((c) => Number(c.ageMs)));
  // Both services stamp with this machine's clock.
  const commitEnds = record.steps
    .filter((s) => s.name === "commit-offsets")
    .map((s) => ms(s.startTime) + ms(s.duration));
  const committedAt = Math.max(...commitEnds);
  const after = checkpoints.filter((c) => ms(c.checkpointTime) > committedAt).length;
  return { since: Number(since), ageMs, after };
}

async function waitForCheckpoints(stack: FailoverStack): Promise<void> {
  await waitUntil(
    `our offsets service's checkpoints of ${GROUP}`,
    async () =>
      (await stack.offsets.listCheckpoints({ flow: FLOW, group: GROUP })).checkpoints.length > 0 ||
      undefined,
    { timeoutMs: 180_000, intervalMs: 1000 },
  );
  // Asking before MM2 wrote its checkpoints topic costs a 60 s client timeout per call.
  await waitUntil(
    `MirrorMaker 2's ${MM2_CHECKPOINTS}`,
    async () => ((await endOffsetSum(stack.admins[1]!, MM2_CHECKPOINTS)) > 0 ? true : undefined),
    { timeoutMs: 300_000, intervalMs: 1000 },
  );
  await waitUntil(
    `MirrorMaker 2's checkpoints of ${GROUP}`,
    async () =>
      (await stack.translator.translate(MM2_ALIAS, GROUP)).offsets.length > 0 || undefined,
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
}

async function scenario(kind: Kind): Promise<Row[]> {
  const startedAt = now();
  progress(`${kind}: starting the stack (2 clusters, Redis, services, agent, MirrorMaker 2)`);
  const stack = await startFailoverStack(`failover-bench-${kind}`);
  try {
    progress(`${kind}: stack up; producer and group start`);
    const load = await startSequencedLoad(stack, perSecond, logger);
    await sleep(warmupSeconds * 1000);
    progress(`${kind}: waiting until both have checkpointed ${GROUP}`);
    await waitForCheckpoints(stack);
    progress(`${kind}: moving the active region to eu-west`);
    const moved = kind === "switchover" ? await switchover(stack) : await failover(stack);
    // MirrorMaker 2's answer at the same moment the group is moved.
    const mm2Answer = await stack.translator.translate(MM2_ALIAS, GROUP);
    const since =
      kind === "failover" ? await consumedSinceCheckpoint(stack, load, moved.record) : undefined;
    if (moved.record.outcome !== healthV1.TransitionOutcome.SUCCEEDED) {
      throw new Error(`${kind} did not succeed: ${moved.record.error}`);
    }
    await waitUntil(
      "a record acknowledged by eu-west",
      () => load.acks.some((a) => a.region === "eu-west") || undefined,
      { timeoutMs: 180_000, intervalMs: 100 },
    );
    progress(`${kind}: eu-west active (${ms(moved.record.rto).toFixed(0)} ms RTO); writing there`);
    await sleep(afterSeconds * 1000);
    await load.stopWriting(30_000);
    const rate = producerFigures(load);
    progress(
      `${kind}: producer stopped at ${Math.round(rate.rate)} records/s acknowledged ` +
        `(${rate.requests} requests, round trip p50 ${rate.roundTripMs.p50} ms); the group reads to the end in eu-west`,
    );
    await load.finishReading(180_000);
    progress(`${kind}: MirrorMaker 2's procedure: seek to RemoteClusterUtils' answer, read`);
    const writtenAtSource = new Set(
      [...load.acked].filter(([, region]) => region === "us-east").map(([seq]) => seq),
    );
    if (kind === "switchover") {
      const total = await endOffsetSum(stack.admins[0]!, TOPIC);
      await waitUntil(
        `MirrorMaker 2 replicating all ${total} records`,
        async () =>
          (await endOffsetSum(stack.admins[1]!, MM2_REMOTE)) >= total ? true : undefined,
        { timeoutMs: 120_000, intervalMs: 500 },
      );
    } else {
      await settledEnd(stack.admins[1]!, MM2_REMOTE, 5000);
    }
    const mm2Read = await readAfterMm2Seek(stack.kafkas[1]!, stack, mm2Answer.offsets, 180_000);
    progress(`${kind}: reading ${REMOTE} and ${MM2_REMOTE} in eu-west back`);
    const [inRemote, inMm2Remote] = [
      await readSequences(stack.kafkas[1]!, stack.admins[1]!, REMOTE, 300_000),
      await readSequences(stack.kafkas[1]!, stack.admins[1]!, MM2_REMOTE, 300_000),
    ];
    await load.close();
    const atSource = load.handled.filter((h) => h.region === "us-east").map((h) => h.seq);
    const geo = sequenceCheck(
      load.handled.map((h) => h.seq),
      new Set(load.acked.keys()),
    );
    const geoSource = sequenceCheck(
      load.handled.map((h) => h.seq),
      writtenAtSource,
    );
    const mm2 = sequenceCheck([...atSource, ...mm2Read], writtenAtSource);
    return figures(kind, {
      perSecond,
      moved,
      load,
      geo,
      geoSource,
      mm2,
      missing: {
        geo: missingFrom(writtenAtSource, inRemote),
        mm2: missingFrom(writtenAtSource, inMm2Remote),
      },
      ...(moved.killAt === undefined
        ? {}
        : { risk: checkRisk(moved.record, load, moved.requestAt, moved.killAt) }),
      mm2Answer,
      since,
      writtenAtSource: writtenAtSource.size,
      settings: stack.mm2.settings,
      seconds: (now() - startedAt) / 1000,
    });
  } catch (error) {
    process.stderr.write(`${stack.diagnostics()}\nMirrorMaker 2's log: ${stack.mm2.logPath}\n`);
    throw error;
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const report = () =>
    printReport("failover", rows, {
      columns: ["scenario", "measure", "geo", "mm2", "unit", "goal", "met", "note"],
    });
  try {
    for (const kind of kinds) {
      rows.push(...(await scenario(kind)));
      if (kind !== kinds.at(-1)) report();
    }
  } catch (error) {
    // What was measured before the failure is still worth seeing.
    if (rows.length > 0) report();
    throw error;
  }
  report();
  // kafkajs clients of the killed region may still be retrying: they must not keep us alive.
  process.exit(rateShortfall(rows) ? 1 : 0);
}

/** Says loudly when the producer did not reach the load the report claims. */
function rateShortfall(rows: readonly Row[]): boolean {
  const short = rows.filter((r) => String(r.measure).startsWith("producer rate") && !r.met);
  for (const r of short) {
    process.stderr.write(
      `\nFAILED: ${r.scenario}: the producer reached ${r.geo} records/s, below ` +
        `${MIN_RATE_SHARE * 100} % of the ${perSecond} records/s offered: the figures above are ` +
        "not those of the load asked for\n",
    );
  }
  return short.length > 0;
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
