// Issue 4's discovery figures (not a test): with the coordinator (default discovery interval),
// two agents and a flow over `disc-.*` running under a light load, how long until a record
// written to a topic created in the source just before is readable in its remote topic in the
// target (contract: 5 s), and the same for a partition added to an existing topic. See
// bench/README.md for the definitions.
//   node bench/dist/discovery.js [rounds=3] [maxWaitSeconds=60]
import { createWireClient } from "@geo/kafka-wire";
import { machineLoad } from "./replication-rig";
import { printReport, type Row } from "./report";
import {
  endOffset,
  initProducer,
  now,
  quantilesOf,
  SOURCE,
  settled,
  startStack,
  startSteadyLoad,
  TIMING_COLUMNS,
  waitUntil,
} from "./service-stack";

const CONTRACT_MS = 5000;
const BASE = "disc-base";
const GROW = "disc-grow";
const PARTITIONS = 2;
const NEW_TOPIC_PARTITIONS = 3;
const AGENTS = ["agent-1", "agent-2"];

type Milestone =
  /** The remote topic has the partition. */
  | "remote"
  /** ListUnits shows the unit desired on an agent with a granted epoch. */
  | "granted"
  /** That agent's ListRunningUnits shows it running. */
  | "running"
  /** The record is readable in the remote partition. */
  | "readable"
  /** The same from the admin call's start, and from the record's acknowledgement by the source. */
  | "readableFromCall"
  | "readableFromProduced";

/** Milliseconds from the topic or partition being created (the admin call returned); absent: not seen within maxWaitSeconds. */
interface Sample extends Partial<Record<Milestone, number>> {
  loadAvg1m: number;
  /** When the record did not arrive in time: the unit's status in ListUnits then. */
  stuck?: string;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3);
  const maxWaitMs = Number(process.argv[3] ?? 60) * 1000;
  const loadBefore = machineLoad();
  const stack = await startStack({
    topics: [BASE, GROW],
    partitions: PARTITIONS,
    include: ["disc-.*"],
    coordinators: 1,
    agents: AGENTS,
  });
  const load = await startSteadyLoad(stack.source, [BASE], PARTITIONS);
  const client = createWireClient({
    clientId: "bench-discovery",
    brokers: stack.source.bootstrapServers,
    logLevel: 0,
  });
  let producer: Awaited<ReturnType<typeof initProducer>> | undefined;
  let failed = false;
  try {
    producer = await initProducer(client);
    await waitUntil("a leader", () => stack.leader(), { timeoutMs: 120_000 });
    await settled(stack, 2 * PARTITIONS, AGENTS);
    const value = Buffer.from("first");

    /** Runs `create`, writes one record to `topic`/`partition`, waits until the target has it. */
    const measure = async (
      topic: string,
      partition: number,
      create: () => Promise<unknown>,
    ): Promise<Sample> => {
      const loadAvg1m = machineLoad().loadAvg1m;
      const called = now();
      await create();
      const created = now();
      // The producer fails a partition its cached metadata does not have (an added one).
      client.metadata.invalidate(topic);
      await producer!.send(topic, partition, {
        records: [{ timestamp: BigInt(Date.now()), key: null, value }],
      });
      const produced = now();
      const remote = `${SOURCE}.${topic}`;
      const id = `${topic}/${partition}`;
      const seen: Partial<Record<Milestone, number>> = {};
      let status = "not listed";
      try {
        await waitUntil(
          `${remote}/${partition} to hold the record`,
          async () => {
            const [end, units, ...running] = await Promise.all([
              endOffset(stack.targetWire, remote, partition),
              stack.units(),
              ...[...stack.agents.values()].map((a) => stack.agentRunning(a)),
            ]);
            const t = Math.round(now() - created);
            if (end !== undefined) seen.remote ??= t;
            const unit = units.find((u) => u.id === id);
            status = unit?.status ?? status;
            if (unit !== undefined && unit.desired !== "" && unit.epoch > 0n) seen.granted ??= t;
            if (running.some((m) => m.has(id))) seen.running ??= t;
            if ((end ?? 0n) > 0n) seen.readable ??= t;
            return seen.readable;
          },
          { timeoutMs: maxWaitMs, intervalMs: 50 },
        );
      } catch {
        return { ...seen, loadAvg1m, stuck: status };
      }
      const readable = created + seen.readable!;
      return {
        ...seen,
        readableFromCall: Math.round(readable - called),
        readableFromProduced: Math.round(readable - produced),
        loadAvg1m,
      };
    };

    const topics: Sample[] = [];
    const partitions: Sample[] = [];
    let growCount = PARTITIONS;
    let partitionStuck = false;
    for (let r = 0; r < rounds; r++) {
      const topic = `disc-new-${r}`;
      const t = await measure(topic, 0, () =>
        stack.sourceAdmin.createTopics({
          waitForLeaders: true,
          topics: [{ topic, numPartitions: NEW_TOPIC_PARTITIONS }],
        }),
      );
      process.stderr.write(`new topic ${topic}: ${JSON.stringify(t)}\n`);
      topics.push(t);
      if (partitionStuck) {
        await settled(stack, unitsNow(r, 0), AGENTS, 1000, (id) => id.startsWith(GROW));
        continue;
      }
      const partition = growCount++;
      const p = await measure(GROW, partition, () =>
        stack.sourceAdmin.createPartitions({
          topicPartitions: [{ topic: GROW, count: growCount }],
        }),
      );
      process.stderr.write(`${GROW} partition ${partition}: ${JSON.stringify(p)}\n`);
      partitions.push(p);
      // A partition that did not arrive blocks the next ones alike: no more partition rounds.
      partitionStuck = p.stuck !== undefined;
      // The next round starts from a settled assignment, at a random phase of discovery.
      await settled(stack, unitsNow(r, partitionStuck ? 0 : growCount), AGENTS, 1000, (id) =>
        partitionStuck ? id.startsWith(GROW) : false,
      );
    }
    const sent = await load.stop();
    const loadAfter = machineLoad();
    const rows: Row[] = [];
    for (const [what, samples] of [
      ["new topic", topics],
      ["added partition", partitions],
    ] as const) {
      for (const [from, key] of [
        ["created → remote partition exists", "remote"],
        ["created → unit granted to an agent (ListUnits)", "granted"],
        ["created → unit running on the agent (ListRunningUnits)", "running"],
        ["created (admin call returned) → record readable in the target", "readable"],
        ["admin call started → record readable in the target", "readableFromCall"],
        ["record acknowledged by the source → readable in the target", "readableFromProduced"],
      ] as const) {
        const values = samples.flatMap((s) => (s[key] === undefined ? [] : [s[key]]));
        const q = quantilesOf(values);
        rows.push({
          measure: `${what}: ${from}`,
          n: samples.length,
          minMs: values.length === 0 ? null : q.min,
          medianMs: values.length === 0 ? null : q.median,
          maxMs: values.length === 0 ? null : q.max,
          samplesMs: samples.map((s) => s[key] ?? `> ${maxWaitMs}`).join(", "),
          boundMs: CONTRACT_MS,
          allWithinBound: samples.every((s) => (s[key] ?? Infinity) <= CONTRACT_MS),
        });
      }
    }
    const stuck = [...topics, ...partitions].flatMap((s) =>
      s.stuck === undefined ? [] : [s.stuck],
    );
    printReport(
      "discovery",
      rows.map((r) => ({
        ...r,
        discoveryIntervalMs: stack.config.discovery.intervalMs,
        cpus: loadBefore.cpus,
        loadAvg1mBeforeRun: loadBefore.loadAvg1m,
        loadAvg1mAfterRun: loadAfter.loadAvg1m,
      })),
      {
        columns: TIMING_COLUMNS,
      },
    );
    process.stdout.write(
      `\nDiscovery every ${stack.config.discovery.intervalMs} ms; ${AGENTS.length} agents, 1 coordinator; new topics of ${NEW_TOPIC_PARTITIONS} partitions, ` +
        `the record in partition 0; ${GROW} grown one partition per round from ${PARTITIONS}; light load on ${BASE} (${sent} records). ` +
        `Target polled every 50 ms (Metadata + ListOffsets). Load average 1m: ${loadBefore.loadAvg1m} before the run, ` +
        `${topics.flatMap((t, i) => [t.loadAvg1m, partitions[i]?.loadAvg1m ?? "-"]).join(", ")} at the measurements (new topic, added partition, per round), ${loadAfter.loadAvg1m} after.` +
        (stuck.length === 0
          ? "\n"
          : ` Not in the target within ${maxWaitMs} ms (no further partition rounds after one), ListUnits then said: ${stuck.join("; ")}\n`),
    );
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    await load.stop().catch(() => {});
    await producer?.close().catch(() => {});
    await client.close().catch(() => {});
    await stack.stop(failed);
  }
}

/** Units after round `r`: base, `grow` of the grown topic (0 when it is ignored), r + 1 new topics. */
function unitsNow(r: number, grow: number): number {
  return PARTITIONS + grow + (r + 1) * NEW_TOPIC_PARTITIONS;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
