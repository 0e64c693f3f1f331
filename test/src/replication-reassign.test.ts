// What an assignment change costs the units it does not move: while records flow steadily into
// eight partitions, other units are added to the same engine (with a backlog to copy), restarted
// with a new epoch, then removed. The unmoved units must keep being replicated without a pause
// users would notice, and must not be restarted (no new start, no records written twice). The
// measured pause is printed beside the steady state: the longest a record written to an unmoved
// partition waited until the target acknowledged it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createLogger } from "@geo/logging";
import {
  createReplicationEngine,
  type ReplicationEngine,
  type UnitAssignment,
  type UnitStatus,
} from "@geo/replication";
import {
  createTopic,
  flowSpec,
  type Pair,
  readPartition,
  startPair,
  TS,
  unitsOf,
  waitCaughtUp,
} from "./support/replication-fixtures";

const PARTITIONS = 8;
const BACKLOG_PER_PARTITION = 2000;
const TICK_MS = 25;
const WINDOW_MS = 4000;
/** What users rely on: an assignment change elsewhere never stalls a unit for seconds. */
const MAX_PAUSE_MS = 5000;

let pair: Pair;
let engine: ReplicationEngine | undefined;

before(async () => {
  pair = await startPair("repl-reassign");
  for (const side of [pair.source, pair.target]) {
    const prefix = side === pair.source ? "" : "us-east.";
    await createTopic(side, `${prefix}steady`, PARTITIONS);
    await createTopic(side, `${prefix}moving`, PARTITIONS);
  }
});

after(async () => {
  await engine?.close().catch(() => {});
  await pair?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A record per steady partition every tick until stopped. Only this writer writes the topic, one
 * record per partition and send, so offset k of every partition is tick k: `ackedAt[k]` is when
 * the source acknowledged it.
 */
function writeSteadily(): { ackedAt: number[]; stop: () => Promise<void> } {
  const ackedAt: number[] = [];
  let writing = true;
  const done = (async () => {
    const producer = pair.source.kafka.producer({
      allowAutoTopicCreation: false,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    try {
      while (writing) {
        const started = performance.now();
        const tick = ackedAt.length;
        await producer.send({
          topic: "steady",
          acks: -1,
          messages: Array.from({ length: PARTITIONS }, (_, partition) => ({
            partition,
            value: `steady-${partition}-${tick}`,
            timestamp: String(TS + BigInt(tick)),
          })),
        });
        ackedAt.push(performance.now());
        await sleep(Math.max(0, TICK_MS - (performance.now() - started)));
      }
    } finally {
      await producer.disconnect();
    }
  })();
  return {
    ackedAt,
    stop: async () => {
      writing = false;
      await done;
    },
  };
}

/**
 * How long the record each unit waits for has been in the source, sampled every 10 ms. A pause
 * of the unit shows as a growing delay; a pause of the writer (or a slow source) does not, since
 * then there is nothing to wait for.
 */
function sampleDelays(statuses: () => UnitStatus[], topic: string, ackedAt: readonly number[]) {
  const samples: { at: number; partition: number; delay: number }[] = [];
  const timer = setInterval(() => {
    const now = performance.now();
    for (const s of statuses()) {
      if (s.unit.sourceTopic !== topic) continue;
      const waitingSince = ackedAt[Number(s.nextSourceOffset)];
      samples.push({
        at: now,
        partition: s.unit.partition,
        delay: waitingSince === undefined ? 0 : now - waitingSince,
      });
    }
  }, 10);
  return {
    /** The longest any unit kept a record waiting within [from, to]. */
    longest(from: number, to: number): { ms: number; partition: number } {
      let worst = { ms: 0, partition: -1 };
      for (const x of samples) {
        if (x.at >= from && x.at <= to && x.delay > worst.ms) {
          worst = { ms: x.delay, partition: x.partition };
        }
      }
      return worst;
    },
    stop: () => clearInterval(timer),
  };
}

async function writeBacklog(): Promise<void> {
  const producer = pair.source.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let start = 0; start < BACKLOG_PER_PARTITION; start += 250) {
      await producer.send({
        topic: "moving",
        acks: -1,
        messages: Array.from({ length: 250 * PARTITIONS }, (_, i) => ({
          partition: i % PARTITIONS,
          value: `moving-${start + Math.floor(i / PARTITIONS)}-${"m".repeat(200)}`,
          timestamp: String(TS),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

test("units an assignment change does not move keep replicating: no pause of seconds, no restart", async (t) => {
  await writeBacklog();
  const starts: string[] = [];
  engine = createReplicationEngine({
    agentId: "reassign-agent",
    clusters: pair.clusters,
    // Info level, to count the "unit started" lines of the unmoved units.
    logger: createLogger({
      service: "repl-reassign-test",
      level: "info",
      destination: {
        write: (line: string) => {
          const entry = JSON.parse(line) as { msg?: string; topic?: string; partition?: number };
          if (entry.msg === "replication: unit started")
            starts.push(`${entry.topic}-${entry.partition}`);
          else if (/"level":"(warn|error)"/.test(line)) process.stderr.write(line);
        },
      },
    }),
    // As the agent runs it.
    progressIntervalMs: 250,
    deliveryTimeoutMs: 15_000,
  });
  const e = engine;
  const flow = flowSpec("reassign-flow");
  const steady = unitsOf(flow, "steady", PARTITIONS, 1n);
  const moving = unitsOf(flow, "moving", PARTITIONS, 1n);
  await e.assign(steady);
  const writer = writeSteadily();
  const sampler = sampleDelays(() => e.statuses(), "steady", writer.ackedAt);
  try {
    await sleep(2000);
    const steadyFrom = performance.now();
    await sleep(WINDOW_MS);
    const steadyDelay = sampler.longest(steadyFrom, performance.now());

    const change = async (units: UnitAssignment[]) => {
      const from = performance.now();
      await e.assign(units);
      const applied = performance.now() - from;
      await sleep(WINDOW_MS);
      return { applied, delay: sampler.longest(from, performance.now()) };
    };
    const added = await change([...steady, ...moving]);
    await waitCaughtUp(pair.source, () => e.statuses(), moving, 60_000);
    // A new epoch restarts the other units: final progress, a progress scan, fencing writes.
    const restarted = await change([...steady, ...unitsOf(flow, "moving", PARTITIONS, 2n)]);
    const removed = await change(steady);

    t.diagnostic(
      `steady state: longest a record waited to be replicated ${steadyDelay.ms.toFixed(0)} ms (a record per partition every ${TICK_MS} ms)`,
    );
    t.diagnostic(
      `adding ${PARTITIONS} units with ${BACKLOG_PER_PARTITION} records each to copy: applied in ${added.applied.toFixed(0)} ms, longest a record of an unmoved unit waited ${added.delay.ms.toFixed(0)} ms (partition ${added.delay.partition})`,
    );
    t.diagnostic(
      `restarting them with a new epoch: applied in ${restarted.applied.toFixed(0)} ms, longest a record of an unmoved unit waited ${restarted.delay.ms.toFixed(0)} ms (partition ${restarted.delay.partition})`,
    );
    t.diagnostic(
      `removing them: applied in ${removed.applied.toFixed(0)} ms, longest a record of an unmoved unit waited ${removed.delay.ms.toFixed(0)} ms (partition ${removed.delay.partition})`,
    );
    for (const [what, m] of [
      ["steady state", steadyDelay],
      ["adding units", added.delay],
      ["restarting units", restarted.delay],
      ["removing units", removed.delay],
    ] as const) {
      assert.ok(
        m.ms < MAX_PAUSE_MS,
        `${what}: a record of steady-${m.partition} waited ${m.ms} ms`,
      );
    }
  } finally {
    sampler.stop();
    await writer.stop();
  }

  await waitCaughtUp(pair.source, () => e.statuses(), steady, 60_000);
  for (const s of e.statuses()) {
    assert.equal(s.state, "running", `${s.unit.sourceTopic}-${s.unit.partition}: ${s.reason}`);
    assert.equal(s.epoch, 1n);
  }
  assert.deepEqual(
    starts.filter((s) => s.startsWith("steady-")).sort(),
    steady.map((u) => `steady-${u.unit.partition}`).sort(),
    "each unmoved unit started once, before the changes",
  );
  // A restarted unit would resume from its last progress record and write records again.
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const source = await readPartition(pair.source, "steady", partition);
    const target = await readPartition(pair.target, "us-east.steady", partition);
    assert.deepEqual(
      target.map((r) => r.value?.toString()),
      source.map((r) => r.value?.toString()),
      `steady-${partition}: every record once, in order`,
    );
  }
});
