// `npm start -- --drill`: a guided switchover of the demo's active-passive pair and back, while
// its producer and consumer keep working. Each leg prints the health service's recorded steps,
// RTO and RPO; at the end the consumer's count shows whether any record was lost or read twice.
import { createGrpcClient, GeoError, type GrpcClientOptions } from "@geo/grpc";
import { type healthV1, ReplicationHealthService } from "@geo/proto";
import { INVENTORY, type InventoryPair } from "./demo-inventory";

const seconds = (d: { seconds: bigint; nanos: number } | undefined) =>
  d === undefined ? 0 : Number(d.seconds) + d.nanos / 1e9;

function describeTransition(record: healthV1.TransitionRecord | undefined, say: Say): void {
  if (record === undefined) return;
  for (const step of record.steps) {
    say(
      `    ${step.ok ? "ok  " : "FAIL"} ${step.description} (${seconds(step.duration).toFixed(2)} s)${step.detail ? `: ${step.detail}` : ""}`,
    );
  }
  if (record.error) say(`    error: ${record.error}`);
  const rpo = record.rpoUnknown ? "unknown" : `${record.rpoRecords} records`;
  if (!record.dryRun) {
    say(`    RTO ${seconds(record.rto).toFixed(2)} s (no active region), RPO ${rpo}`);
  } else {
    // A dry run moves nothing: its RTO is the last real transition's, when there was one.
    const rto =
      record.rto === undefined
        ? "unknown until a first real transition"
        : `${seconds(record.rto).toFixed(2)} s`;
    say(`    expected RTO ${rto}, expected RPO ${rpo}`);
  }
}

type Say = (line: string) => void;

async function waitFor(
  what: string,
  done: () => boolean,
  timeoutMs: number,
  stopping: () => boolean,
) {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (stopping()) throw new Error("stopped");
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export interface DrillOptions {
  readonly health: string;
  readonly grpc: Omit<GrpcClientOptions, "address">;
  readonly pair: InventoryPair;
  readonly say: Say;
  readonly stopping: () => boolean;
}

/** The guided drill; resolves with whether every record was read exactly once. */
export async function runDrill(options: DrillOptions): Promise<boolean> {
  const { say, pair } = options;
  const health = createGrpcClient(ReplicationHealthService, {
    ...options.grpc,
    address: options.health,
    defaultTimeoutMs: 120_000,
  });
  const move = async (step: string, targetRegion: string, dryRun: boolean) => {
    const { state } = await health.getRegionState({ flowGroup: INVENTORY.flowGroup });
    say(
      `\ndrill ${step}: ${dryRun ? "dry run of a switchover" : "switchover"} of flow group "${INVENTORY.flowGroup}" from ${state?.activeRegion} to ${targetRegion}…`,
    );
    const answer = await health.switchover({
      flowGroup: INVENTORY.flowGroup,
      targetRegion,
      expectedEpoch: state?.epoch ?? "0",
      dryRun,
      actor: "demo-drill",
      reason: "npm start -- --drill",
    });
    describeTransition(answer.transition, say);
    const failed = answer.transition?.error || answer.transition?.steps.some((s) => !s.ok);
    if (failed) throw new Error(`the ${dryRun ? "dry run" : "switchover"} did not pass`);
  };
  try {
    await waitFor(
      "the consumer to read 100 records",
      () => pair.stats().readOnce >= 100,
      120_000,
      options.stopping,
    );
    await move("1/4", INVENTORY.passive, true);
    await move("2/4", INVENTORY.passive, false);
    say(
      `    producer writes to ${pair.stats().producerRegion ?? "(switching)"}, consumer reads in ${pair.stats().consumerRegion ?? "(switching)"}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    await move("3/4", INVENTORY.active, false);
    say("\ndrill 4/4: the consumer reads everything the producer wrote…");
    const written = pair.stats().written;
    await waitFor(
      "the consumer to catch up",
      () => pair.missingBelow(written) === 0,
      60_000,
      options.stopping,
    ).catch(() => undefined);
    const stats = pair.stats();
    const missing = pair.missingBelow(written);
    say(
      `    of the first ${written} records written: ${missing} missing; ${stats.duplicates} read twice in all`,
    );
    for (const example of stats.duplicateExamples) say(`    read twice: ${example}`);
    return missing === 0 && stats.duplicates === 0;
  } catch (error) {
    if (!options.stopping()) say(`drill stopped: ${GeoError.from(error).message}`);
    return false;
  } finally {
    health.close();
  }
}
