import { createBackoff } from "@geo/backoff";
import { createPartitionFetcher } from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import type { UnitProgress } from "@geo/progress";
import {
  type ClusterContexts,
  type SourceContext,
  type TargetContext,
  UnknownClusterError,
} from "./cluster-contexts";
import { countResumeDuplicates } from "./resume-duplicates";
import { originatedIn } from "./transform";
import type { UnitAssignment } from "./types";
import { Unit } from "./unit";
import type { UnitContext } from "./unit-context";

/** How long a start waits for the max.message.bytes check before the unit runs without it. */
const LIMITS_CHECK_WAIT_MS = 5000;

/** A unit and its start procedure. */
export interface UnitEntry {
  unit: Unit;
  /** The start procedure (resolves when it began the unit or gave up). */
  starting: Promise<void>;
  /** Resolves after the first start attempt. */
  firstAttempt: Promise<void>;
  cancelStart: () => void;
}

/** What starting a unit uses of the engine. */
export interface UnitStartDeps {
  clusters: ClusterContexts;
  ctx: UnitContext;
  logger: Logger;
  isClosed: () => boolean;
  /** See MessageLimitsCheck.check; resolves at once when the check is off. */
  checkMessageLimits: (unit: Unit) => Promise<void>;
}

/**
 * Creates the unit and starts it in the background: its clusters' contexts, the internal topics,
 * its previous progress, its start position, then `Unit.begin`. A failed attempt is retried with
 * backoff until it begins, is stopped, or the engine closes; an unknown cluster is an error state.
 */
export function startUnit(deps: UnitStartDeps, a: UnitAssignment): UnitEntry {
  const unit = new Unit({ ...a, unit: { ...a.unit }, flow: { ...a.flow } }, deps.ctx);
  let cancel = () => {};
  let firstDone!: () => void;
  const firstAttempt = new Promise<void>((resolve) => {
    firstDone = resolve;
  });
  const entry: UnitEntry = {
    unit,
    firstAttempt,
    starting: Promise.resolve(),
    cancelStart: () => cancel(),
  };
  entry.starting = (async () => {
    const backoff = createBackoff({
      initialMs: Math.max(1, deps.ctx.retryBackoffMs),
      maxMs: Math.max(1, deps.ctx.retryBackoffMs, deps.ctx.maxRetryBackoffMs),
    });
    for (let attempt = 0; !unit.isStopping && !deps.isClosed(); attempt++) {
      try {
        await attemptStart(deps, unit);
        return;
      } catch (e) {
        if (e instanceof UnknownClusterError) {
          unit.state = "error";
          unit.reason = e.message;
          return;
        }
        unit.reason = `starting: ${(e as Error)?.message ?? String(e)}`;
        deps.logger.warn(
          { unit: unit.id, err: unit.reason, attempt },
          "replication: unit start failed; will retry",
        );
      } finally {
        firstDone();
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoff.next());
        cancel = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();
  return entry;
}

/** One start attempt; throws what should be retried. */
async function attemptStart(deps: UnitStartDeps, unit: Unit): Promise<void> {
  const flow = unit.assignment.flow;
  const src = deps.clusters.source(flow.sourceCluster);
  const tgt = deps.clusters.target(flow.targetCluster);
  const limitsChecked = deps.checkMessageLimits(unit);
  await deps.clusters.ensureTopics(tgt);
  const previous = await tgt.progress.load(unit.key);
  const top = previous[previous.length - 1];
  const position =
    top !== undefined
      ? top.nextSourceOffset
      : await src.offsets.load({
          topic: unit.topic,
          partition: unit.partition,
          spec: flow.startFrom,
        });
  const remoteEnd = await readRemoteEnd(deps.logger, tgt, unit, top);
  await settledWithin(limitsChecked, LIMITS_CHECK_WAIT_MS);
  const began = await unit.begin(
    {
      reader: src.reader,
      producer: deps.clusters.producer(tgt, flow.name),
      checkpointer: tgt.checkpointer,
    },
    position,
    previous,
    remoteEnd,
  );
  if (began && top !== undefined && remoteEnd >= 0n && flow.naming !== "prefix") {
    void countWrittenAgain(deps.logger, unit, src, tgt, top, remoteEnd);
  }
}

/**
 * The remote partition's end offset before a resumed unit writes, to measure what it writes
 * again. A prefix-named remote partition has this unit as its one writer: the records past the
 * last progress are the duplicates. An identity-named one may hold other producers' records:
 * its tail is matched against the source (countWrittenAgain). -1n when not read.
 */
async function readRemoteEnd(
  logger: Logger,
  tgt: TargetContext,
  unit: Unit,
  top: UnitProgress | undefined,
): Promise<bigint> {
  if (top === undefined || top.lastTargetOffset < 0n) return -1n;
  try {
    return await tgt.ends.load({
      topic: unit.remoteTopic,
      partition: unit.partition,
      spec: "latest",
    });
  } catch (e) {
    logger.debug(
      { unit: unit.id, err: (e as Error).message },
      "replication: could not read the remote partition's end; resume duplicates not measured",
    );
    return -1n;
  }
}

/** Counts, in the background, the copies a resumed unit writes again (see resume-duplicates). */
async function countWrittenAgain(
  logger: Logger,
  unit: Unit,
  src: SourceContext,
  tgt: TargetContext,
  top: UnitProgress,
  remoteEnd: bigint,
): Promise<void> {
  tgt.tailFetcher ??= createPartitionFetcher(tgt.client, {
    isolationLevel: "read_uncommitted",
    maxWaitMs: 0,
  });
  const target = Buffer.from(unit.assignment.flow.targetCluster, "utf8");
  const loopCheck =
    unit.assignment.flow.provenanceHeader || unit.assignment.flow.naming !== "prefix";
  try {
    const counted = await countResumeDuplicates({
      target: {
        fetcher: tgt.tailFetcher,
        topic: unit.remoteTopic,
        from: top.lastTargetOffset + 1n,
        end: remoteEnd,
      },
      source: { fetcher: src.fetcher, topic: unit.topic, from: top.nextSourceOffset },
      partition: unit.partition,
      copied: (record) => !loopCheck || !originatedIn(record, target),
    });
    if (counted === undefined) {
      logger.info(
        { unit: unit.id, tail: String(remoteEnd - top.lastTargetOffset - 1n) },
        "replication: the remote tail after the last progress is too long to count what is written again; resumeDuplicates stays unknown (-1)",
      );
      return;
    }
    unit.recordResumeDuplicates(top, counted, remoteEnd);
  } catch (e) {
    logger.warn(
      { unit: unit.id, err: (e as Error).message },
      "replication: could not count the records written again on resume; resumeDuplicates stays unknown (-1)",
    );
  }
}

/** Waits for `p`, but no longer than `ms`. */
async function settledWithin(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
