import { WakeTimer } from "@geo/backoff";
import {
  type FetchPosition,
  failedFetchResult,
  KafkaWireError,
  type PartitionFetcher,
  type PartitionFetchResult,
} from "@geo/kafka-wire";

/** What the reader needs of a unit. */
export interface Fetchable {
  readonly topic: string;
  readonly partition: number;
  /** Whether the unit wants data now; `throttled` when only its buffer budget holds it back. */
  fetchReadiness(now: number): "ready" | "throttled" | "idle";
  /** Earliest time (performance.now()) a backed-off unit becomes ready, or Infinity. */
  readonly backoffUntil: number;
  position(): FetchPosition;
  fetching: boolean;
  /** A token that changes when the unit restarts its position: older results are dropped. */
  readonly gen: number;
  onFetchResult(result: PartitionFetchResult, gen: number): void;
}

const UNKNOWN_LEADER = -1;

/**
 * Fetch scheduling for one source cluster: at most one fetch in flight per leader broker (a
 * broker's fetches share one connection, so more would only queue), each for every unit of that
 * leader that wants data. Leaders answer independently: a slow broker holds back only its own
 * units. Units with no known leader go in a fetch of their own, which refreshes metadata.
 */
export class SourceReader {
  private readonly units = new Set<Fetchable>();
  private readonly inflight = new Set<number>();
  private scheduled = false;
  private readonly wakeTimer = new WakeTimer(() => this.run());
  private closed = false;
  private round = 0;
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly fetcher: PartitionFetcher,
    private readonly options: {
      maxWaitMs: number;
      /** Request size for the next fetch, from the engine's remaining buffer budget. */
      requestMaxBytes: () => number;
      onUnexpected: (e: unknown) => void;
    },
  ) {}

  add(u: Fetchable): void {
    this.units.add(u);
    this.schedule();
  }

  remove(u: Fetchable): void {
    this.units.delete(u);
  }

  get size(): number {
    return this.units.size;
  }

  /** Something changed (data acknowledged, a unit resumed): look again soon. */
  schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.run();
    });
  }

  private wake(at: number): void {
    if (!this.closed) this.wakeTimer.wakeAt(at);
  }

  private run(): void {
    if (this.closed) return;
    const now = performance.now();
    const groups = new Map<number, Fetchable[]>();
    // Two flows may read the same source partition; a Fetch lists a partition once, so the
    // second waits for the next round.
    const listed = new Set<string>();
    const throttledNodes = new Set<number>();
    let nextWake = Infinity;
    // Rotate the starting unit so that a partition two flows read is taken by each in turn.
    const all = [...this.units];
    const shift = all.length === 0 ? 0 : this.round++ % all.length;
    for (let k = 0; k < all.length; k++) {
      const u = all[(k + shift) % all.length]!;
      if (u.fetching) continue;
      const readiness = u.fetchReadiness(now);
      const node = this.fetcher.leaderOf(u.topic, u.partition) ?? UNKNOWN_LEADER;
      if (readiness === "throttled") throttledNodes.add(node);
      if (readiness !== "ready") {
        if (u.backoffUntil > now) nextWake = Math.min(nextWake, u.backoffUntil);
        continue;
      }
      if (this.inflight.has(node)) continue;
      const tp = `${u.topic}\u0000${u.partition}`;
      if (listed.has(tp)) continue;
      listed.add(tp);
      let g = groups.get(node);
      if (g === undefined) {
        g = [];
        groups.set(node, g);
      }
      g.push(u);
    }
    this.wake(nextWake);
    for (const [node, units] of groups) {
      // Units held back by their buffers become ready as acknowledgements come in: do not
      // make them wait behind a long poll of their idle neighbours.
      const maxWaitMs = throttledNodes.has(node) ? 5 : this.options.maxWaitMs;
      const p = this.fetchGroup(node, units, maxWaitMs);
      this.running.add(p);
      void p.finally(() => this.running.delete(p));
    }
  }

  private async fetchGroup(node: number, units: Fetchable[], maxWaitMs: number): Promise<void> {
    this.inflight.add(node);
    const gens = units.map((u) => u.gen);
    for (const u of units) u.fetching = true;
    let results: PartitionFetchResult[] | undefined;
    let failure: unknown;
    try {
      results = await this.fetcher.fetch(
        units.map((u) => u.position()),
        { maxWaitMs, maxBytes: this.options.requestMaxBytes() },
      );
    } catch (e) {
      failure = e;
    } finally {
      this.inflight.delete(node);
      for (const u of units) u.fetching = false;
    }
    if (this.closed) return;
    units.forEach((u, i) => {
      if (!this.units.has(u)) return;
      try {
        const r =
          results?.[i] ??
          failedFetchResult(
            u.position(),
            failure instanceof KafkaWireError
              ? failure
              : new KafkaWireError("UNKNOWN", String((failure as Error)?.message ?? failure), {
                  retriable: true,
                  cause: failure,
                }),
          );
        u.onFetchResult(r, gens[i]!);
      } catch (e) {
        this.options.onUnexpected(e);
      }
    });
    this.schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeTimer.cancel();
    await Promise.allSettled([...this.running]);
  }
}
