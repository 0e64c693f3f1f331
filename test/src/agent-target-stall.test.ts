// A target broker that stops answering for longer than a produce request may wait, but shorter
// than the agent's lease, costs time and nothing else: an agent process replicates under steady
// load while the target's only broker is frozen (SIGSTOP) for a few seconds; its unacknowledged
// batches are sent again under the same producer id and sequence numbers, so the batches the
// broker did write come back as acknowledged at their original offsets. Afterwards the target
// holds every source record in order and not a single one twice, and the units never lost their
// lease.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  type GeoStack,
  json,
  LEASES,
  settledUnits,
  startGeoStack,
  trackFailures,
} from "./support/geo-stack";
import { compareReplica, remoteOf, sourceEnds, waitForReplica } from "./support/replica-check";
import { type SteadyLoad, startSteadyLoad } from "./support/steady-load";
import { waitFor } from "./support/wait-for";

const TOPIC = "stalled";
const PARTITIONS = 2;
const AGENT = "agent-1";
/** The agent's produce deadline before issue 3: the lease's safety margin less 250 ms. */
const OLD_DELIVERY_TIMEOUT_MS = Math.max(500, LEASES.safetyMarginMs - 250);
/** Well past the old delivery deadline; Redis is unaffected, so the leases keep being renewed. */
const STALL_MS = 2500;

let stack: GeoStack;
let load: SteadyLoad | undefined;
const failures = trackFailures();

before(async () => {
  stack = await startGeoStack({
    name: "target-stall",
    topics: [TOPIC],
    partitions: PARTITIONS,
    coordinators: 1,
    agents: [AGENT],
  });
});

after(async () => {
  await load?.stop().catch(() => {});
  await stack?.stop(failures.failed);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("a target broker frozen past the old delivery deadline: no record lost, none written twice", async (t) => {
  assert.ok(STALL_MS > OLD_DELIVERY_TIMEOUT_MS + 500 && STALL_MS < LEASES.ttlMs + 2000);
  const { source, target } = stack.pair;
  const before = await settledUnits(stack, PARTITIONS, [AGENT]);
  // Small batches, often: several produce requests per partition are in flight at any moment.
  load = await startSteadyLoad(source.kafka, [TOPIC], PARTITIONS, { perPartition: 5, tickMs: 25 });
  await waitFor(
    "records flowing into the target",
    async () => {
      const now = await compareReplica(source, target, [TOPIC], PARTITIONS);
      return now.total - now.missing >= 200;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );

  const broker = target.cluster.brokers[0]!;
  const pid = broker.pid;
  assert.ok(pid !== undefined && broker.running, "the target broker runs");
  const sentBefore = load.sent();
  const stoppedAt = performance.now();
  process.kill(pid, "SIGSTOP");
  try {
    await sleep(STALL_MS);
  } finally {
    process.kill(pid, "SIGCONT");
  }
  const stalledMs = Math.round(performance.now() - stoppedAt);
  const writtenDuringStall = load.sent() - sentBefore;
  // Keep writing a little after the broker is back, then stop the load and let the agent catch up.
  await sleep(2000);
  const sent = await load.stop();
  load = undefined;
  const upTo = await sourceEnds(source, [TOPIC], PARTITIONS);
  const result = await waitForReplica(source, target, [TOPIC], PARTITIONS, {
    upTo,
    timeoutMs: 90_000,
  });
  const after = await stack.units();
  const agentLog = stack.agents.get(AGENT)!.output;
  const rewinds = agentLog.filter((line) => line.includes("resuming from the last acknowledged"));
  const leaseLost = agentLog.filter((line) => line.includes("lease lost"));
  t.diagnostic(
    `target broker frozen ${stalledMs} ms (old delivery deadline ${OLD_DELIVERY_TIMEOUT_MS} ms, lease TTL ${LEASES.ttlMs} ms); ${sent} records written, ${writtenDuringStall} of them during the freeze; target: ${json({ total: result.total, missing: result.missing, duplicates: result.duplicates, outOfOrder: result.outOfOrder })}; rewinds logged: ${rewinds.length}`,
  );
  assert.ok(writtenDuringStall > 0, "the source kept growing while the target was frozen");
  assert.ok(result.total >= sent, `${result.total} source records, ${sent} written by the load`);
  assert.equal(
    result.missing,
    0,
    `missing in ${remoteOf(TOPIC)}: ${json([...result.missingByPartition])}`,
  );
  assert.equal(result.outOfOrder, 0, "the target holds the source's records in order");
  assert.equal(
    result.duplicates,
    0,
    `records written twice: ${json([...result.duplicatesByPartition])}, deepest rewind ${result.maxRewind}; agent log: ${rewinds.slice(0, 3).join("\n")}`,
  );
  assert.deepEqual(leaseLost, [], "no unit lost its lease");
  // The same owner at the same epoch throughout: nothing was handed over or restarted.
  assert.deepEqual(
    after.map((u) => `${u.id}@${u.actual}/${u.epoch}`),
    before.map((u) => `${u.id}@${u.actual}/${u.epoch}`),
  );
});
