// Conflicts of an active-active pair: the same key written by applications in both regions
// within a window. Each region's writes to the pair's topics are read as they come (replicated
// copies, which carry the provenance header, are skipped), and the last write of every key is
// remembered for the window. Memory is bounded: past `maxKeys` keys, only a sample of the keys
// (those whose hash falls in 1/rate of the hash space; rate doubles as needed) is followed, so
// the counts become a sample of the conflicts and say so (`sampleRate`).
import { createHash } from "node:crypto";

export interface KeyWrite {
  readonly cluster: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  /** Record timestamp, ms. */
  readonly timestamp: number;
}

export interface KeyConflict {
  readonly topic: string;
  readonly key: Buffer;
  /** The earlier write (by record timestamp) and the later one, in two different clusters. */
  readonly first: KeyWrite;
  readonly second: KeyWrite;
}

export interface KeyConflictOptions {
  readonly windowMs: number;
  readonly maxKeys: number;
  /** Recent conflicts kept as examples. Default 20. */
  readonly maxExamples?: number;
}

/** Key bytes kept in an example at most. */
const MAX_EXAMPLE_KEY_BYTES = 256;

export class KeyConflictTracker {
  /** topic + key hash -> last write; insertion order = order of arrival, refreshed on write. */
  private readonly last = new Map<string, KeyWrite>();
  private readonly examples: KeyConflict[] = [];
  /** Conflicts counted per topic (among the sampled keys). */
  readonly counts = new Map<string, number>();
  /** One key in `sampleRate` is followed (1: every key). */
  sampleRate = 1;

  constructor(private readonly options: KeyConflictOptions) {}

  /** Records one application write; returns the conflict it makes, if any. */
  observe(key: Buffer, write: KeyWrite): KeyConflict | undefined {
    const digest = createHash("sha1").update(key).digest();
    if (digest.readUInt32BE(0) % this.sampleRate !== 0) return undefined;
    const id = `${write.topic}\u0000${digest.toString("base64")}`;
    const before = this.last.get(id);
    this.last.delete(id);
    this.last.set(id, write);
    this.expire(write.timestamp);
    if (
      before === undefined ||
      before.cluster === write.cluster ||
      Math.abs(write.timestamp - before.timestamp) > this.options.windowMs
    ) {
      return undefined;
    }
    const [first, second] = before.timestamp <= write.timestamp ? [before, write] : [write, before];
    const conflict = {
      topic: write.topic,
      key: key.subarray(0, MAX_EXAMPLE_KEY_BYTES),
      first,
      second,
    };
    this.counts.set(write.topic, (this.counts.get(write.topic) ?? 0) + 1);
    this.examples.unshift(conflict);
    if (this.examples.length > (this.options.maxExamples ?? 20)) this.examples.pop();
    return conflict;
  }

  /** Recent conflicts, newest first. */
  recent(): readonly KeyConflict[] {
    return this.examples;
  }

  get keys(): number {
    return this.last.size;
  }

  /** Drops writes older than the window, then samples harder while over the key limit. */
  private expire(now: number): void {
    for (const [id, write] of this.last) {
      if (now - write.timestamp <= this.options.windowMs) break;
      this.last.delete(id);
    }
    while (this.last.size > this.options.maxKeys) {
      this.sampleRate *= 2;
      for (const id of this.last.keys()) {
        const hash = Buffer.from(id.slice(id.indexOf("\u0000") + 1), "base64");
        if (hash.readUInt32BE(0) % this.sampleRate !== 0) this.last.delete(id);
      }
    }
  }
}
