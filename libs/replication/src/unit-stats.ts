/** Records and bytes per second over a sliding window of one-second buckets. */
export class RateWindow {
  private readonly records: Float64Array;
  private readonly bytes: Float64Array;
  private readonly seconds: Float64Array;
  private readonly since: number;

  constructor(
    private readonly windowSeconds = 10,
    private readonly now: () => number = Date.now,
  ) {
    this.records = new Float64Array(windowSeconds);
    this.bytes = new Float64Array(windowSeconds);
    this.seconds = new Float64Array(windowSeconds).fill(-1);
    this.since = now();
  }

  add(records: number, bytes: number): void {
    const second = Math.floor(this.now() / 1000);
    const i = second % this.windowSeconds;
    if (this.seconds[i] !== second) {
      this.seconds[i] = second;
      this.records[i] = 0;
      this.bytes[i] = 0;
    }
    this.records[i]! += records;
    this.bytes[i]! += bytes;
  }

  /**
   * Per-second rates over the last complete `windowSeconds - 1` seconds plus the current one, or
   * over the time since the window was created when that is shorter: a unit that just moved to
   * an agent must not look lighter than it is, or the coordinator's balancing sees its new
   * agent as underloaded, gives it more units, and moves them back once the window has filled.
   */
  rates(): { recordsPerSecond: number; bytesPerSecond: number } {
    const nowMs = this.now();
    const second = Math.floor(nowMs / 1000);
    let records = 0;
    let bytes = 0;
    for (let i = 0; i < this.windowSeconds; i++) {
      const s = this.seconds[i]!;
      if (s > second - this.windowSeconds && s <= second) {
        records += this.records[i]!;
        bytes += this.bytes[i]!;
      }
    }
    const span = Math.min(
      this.windowSeconds - 1 + (nowMs % 1000) / 1000,
      // At least a second, so that the first batch does not read as a burst.
      Math.max(1, (nowMs - this.since) / 1000),
    );
    return { recordsPerSecond: records / span, bytesPerSecond: bytes / span };
  }
}

/** The last `size` latency samples (ms), for p50/p99 in statuses. */
export class LatencySamples {
  private readonly samples: Float64Array;
  private count = 0;
  private next = 0;

  constructor(size = 1024) {
    this.samples = new Float64Array(size);
  }

  add(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    if (this.count < this.samples.length) this.count++;
  }

  quantiles(): { p50: number; p99: number } {
    if (this.count === 0) return { p50: 0, p99: 0 };
    const sorted = Array.from(this.samples.subarray(0, this.count)).sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    return { p50: at(0.5), p99: at(0.99) };
  }
}

/**
 * How fast a source partition grows: its high watermark sampled at most once a second over a
 * sliding window. This is the steady load a unit puts on whoever runs it, whatever its lag: the
 * copy rate instead jumps while a unit catches up, so balancing on it moves a unit, sees its new
 * agent look busy, and moves units again.
 */
export class SourceGrowth {
  private readonly times: number[] = [];
  private readonly offsets: bigint[] = [];

  constructor(
    private readonly windowMs = 10_000,
    private readonly now: () => number = performance.now.bind(performance),
  ) {}

  observe(highWatermark: bigint): void {
    const t = this.now();
    const last = this.offsets.length - 1;
    // The log went back (topic recreated, unclean truncation): earlier samples say nothing.
    if (last >= 0 && highWatermark < this.offsets[last]!) this.clear();
    if (this.times.length > 0 && t - this.times[this.times.length - 1]! < 1000) return;
    this.times.push(t);
    this.offsets.push(highWatermark);
    while (this.times.length > 2 && t - this.times[1]! >= this.windowMs) {
      this.times.shift();
      this.offsets.shift();
    }
  }

  /** Records appended per second; undefined until samples span a second. */
  recordsPerSecond(): number | undefined {
    const n = this.times.length;
    if (n < 2) return undefined;
    const spanMs = this.times[n - 1]! - this.times[0]!;
    if (spanMs < 1000) return undefined;
    return (Number(this.offsets[n - 1]! - this.offsets[0]!) * 1000) / spanMs;
  }

  clear(): void {
    this.times.length = 0;
    this.offsets.length = 0;
  }
}
