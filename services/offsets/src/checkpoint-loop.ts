import { runLoop, sleep } from "@geo/backoff";
import { Code, GeoError } from "@geo/grpc";
import type { OffsetsFlow } from "./flows";
import { commitTranslations } from "./group-commit";
import type { OffsetsCore } from "./offsets-core";
import type { OffsetsMetrics } from "./offsets-metrics";
import { isCommittable, type Translation } from "./translate";

export interface CheckpointLoopOptions {
  /** Period of a round; default 4 s, so that checkpoints are never older than 5 s plus a round. */
  intervalMs?: number;
  /** How often partitions are pruned below their source's log start. Default 60 s. */
  pruneIntervalMs?: number;
  /** Groups read from a source at the same time. Default 32. */
  concurrency?: number;
}

/**
 * Every round, for every flow whose target index is built: lists the source's groups that the
 * flow's group filter selects, reads their committed offsets, writes MirrorMaker 2 checkpoints
 * of the translations into the target and, with `syncGroupOffsets`, commits translations that
 * changed into target groups that are empty or absent there (never an active group, never
 * backwards). A source that does not answer leaves the checkpoints already written in place.
 */
export class CheckpointLoop {
  /** `${flow}\0${group}` → when its checkpoints were last written. */
  readonly times = new Map<string, { flow: string; group: string; time: number }>();
  private readonly synced = new Map<string, string>();
  private readonly lastPrune = new Map<string, number>();
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly intervalMs: number;

  constructor(
    private readonly core: OffsetsCore,
    private readonly metrics: OffsetsMetrics,
    private readonly options: CheckpointLoopOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 4000;
  }

  start(): void {
    let due = performance.now();
    this.loop ??= runLoop(
      async (signal) => {
        await sleep(Math.max(0, due - performance.now()), signal);
        due = performance.now() + this.intervalMs;
        // A target index still being read (at start) is retried soon, not a whole period later:
        // the round is what repairs the commits made while this service was down.
        if (!signal.aborted && !(await this.round())) {
          due = Math.min(due, performance.now() + 500);
        }
      },
      { intervalMs: 0, signal: this.abort.signal, initialMs: 500, maxMs: 5000 },
    );
  }

  /** One round over every flow; flows fail independently. False if a target index was not built. */
  async round(): Promise<boolean> {
    let built = true;
    await Promise.all(
      this.core.flows.list().map(async (flow) => {
        if (!this.core.targets.isBuilt(flow.target)) {
          built = false;
          return;
        }
        const end = this.metrics.checkpointRoundSeconds.startTimer({ flow: flow.name });
        try {
          await this.flowRound(flow);
          end();
          this.metrics.checkpointRounds.inc({ flow: flow.name, outcome: "ok" });
        } catch (error) {
          this.metrics.checkpointRounds.inc({ flow: flow.name, outcome: "failed" });
          this.core.logger.warn(
            { flow: flow.name, source: flow.source, err: (error as Error).message },
            "offsets: checkpoint round failed; checkpoints already written stay",
          );
        }
      }),
    );
    return built;
  }

  private async flowRound(flow: OffsetsFlow): Promise<void> {
    const core = this.core;
    const readAt = Date.now();
    const groups = (await core.loopGroups.listGroups(flow.source)).filter(flow.checkpointsGroup);
    const entries = await mapLimit(groups, this.options.concurrency ?? 32, async (group) => {
      try {
        const positions = await core.loopGroups.committedOffsets(flow.source, group);
        const own = positions.filter((p) => flow.replicates(p.topic));
        return { group, translations: core.translate(flow, own), read: true };
      } catch (error) {
        core.logger.debug({ flow: flow.name, group, err: (error as Error).message }, "skip");
        return { group, translations: [] as Translation[], read: false };
      }
    });
    // A group whose offsets could not be read is not known to have none.
    const withOffsets = entries.filter((e) => !e.read || e.translations.length > 0);
    core.lastGroupRead.set(flow.name, {
      time: Date.now(),
      withOffsets: new Set(withOffsets.map((e) => e.group)),
    });
    const written = entries.filter((e) => e.translations.length > 0);
    await core.writer.writeMany(flow, written, readAt);
    const now = Date.now();
    for (const e of written) {
      this.times.set(`${flow.name}\u0000${e.group}`, {
        flow: flow.name,
        group: e.group,
        time: now,
      });
    }
    if (flow.syncGroupOffsets) await this.syncGroups(flow, written);
    await this.pruneIfDue(flow);
  }

  /** Commits changed translations into idle target groups. */
  private async syncGroups(
    flow: OffsetsFlow,
    entries: readonly { group: string; translations: Translation[] }[],
  ): Promise<void> {
    for (const { group, translations } of entries) {
      const committable = translations.filter(isCommittable);
      const fingerprint = committable
        .map((t) => `${t.targetTopic}:${t.partition}:${t.targetOffset}`)
        .join(",");
      const key = `${flow.name}\u0000${group}`;
      if (committable.length === 0 || this.synced.get(key) === fingerprint) continue;
      try {
        const outcomes = await commitTranslations(
          flow,
          group,
          committable,
          { groups: this.core.loopGroups, targets: this.core.targets },
          false,
        );
        const committed = outcomes.filter((o) => o.committed).length;
        if (committed > 0) {
          this.metrics.groupCommits.inc({ flow: flow.name, trigger: "sync" }, committed);
          this.core.logger.info(
            { flow: flow.name, group, cluster: flow.target, partitions: committed },
            "offsets: synced translated offsets into the target group",
          );
        }
        this.synced.set(key, fingerprint);
      } catch (error) {
        const active = error instanceof GeoError && error.code === Code.FAILED_PRECONDITION;
        this.metrics.groupSyncSkipped.inc({
          flow: flow.name,
          reason: active ? "active" : "failed",
        });
        if (!active) throw error;
      }
    }
  }

  private async pruneIfDue(flow: OffsetsFlow): Promise<void> {
    const now = performance.now();
    if (
      now - (this.lastPrune.get(flow.name) ?? -Infinity) <
      (this.options.pruneIntervalMs ?? 60_000)
    )
      return;
    this.lastPrune.set(flow.name, now);
    for (const topic of this.core.index.topicsOf(flow.name)) {
      const starts = await this.core.loopGroups
        .logStarts(flow.source, topic)
        .catch(() => undefined);
      for (const [partition, start] of starts ?? []) {
        this.core.index.prune({ flow: flow.name, sourceTopic: topic, partition }, start);
      }
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>) {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
