import type { EngineMetrics, UnitLabels } from "./engine-metrics";
import type { PlannedBatch } from "./transform";
import { LatencySamples, RateWindow, SourceGrowth } from "./unit-stats";

export interface UnitLag {
  records: bigint;
  seconds: number;
}

/**
 * A unit's measurements: copy rate, end-to-end latency, source growth (its load) and lag, kept
 * for its status and exported as its metric series.
 */
export class UnitMeters {
  private readonly rate = new RateWindow();
  private readonly sourceGrowth = new SourceGrowth();
  /** Since the unit started here: the mean record size that turns source growth into bytes/s. */
  private copiedRecords = 0;
  private copiedBytes = 0;
  private readonly latencies = new LatencySamples();
  /** Newest timestamp (ms) of the last acknowledged batch: lag-in-time reference when nothing is pending. */
  private lastAckedTimestamp = -1;

  constructor(
    private readonly metrics: EngineMetrics,
    readonly labels: UnitLabels,
  ) {}

  /** The source partition's high watermark, as a fetch reported it. */
  observeSourceEnd(highWatermark: bigint): void {
    this.sourceGrowth.observe(highWatermark);
  }

  /** A batch the target acknowledged. */
  acknowledged(pb: PlannedBatch): void {
    this.metrics.records.inc(this.labels, pb.recordCount);
    this.metrics.bytes.inc(this.labels, pb.bytes);
    this.rate.add(pb.recordCount, pb.bytes);
    this.copiedRecords += pb.recordCount;
    this.copiedBytes += pb.bytes;
    const ts = Number(pb.maxTimestamp);
    const latencyMs = Math.max(0, Date.now() - ts);
    this.latencies.add(latencyMs);
    this.metrics.latency.observe(this.labels, latencyMs / 1000);
    this.lastAckedTimestamp = ts;
  }

  /**
   * Records between the acknowledged position and the source's end, and how old the oldest of
   * them is: the first pending batch's oldest record, else the last acknowledged one's newest.
   */
  lag(highWatermark: bigint, ackedNext: bigint, pendingHead: PlannedBatch | undefined): UnitLag {
    if (highWatermark < 0n || ackedNext < 0n) return { records: 0n, seconds: 0 };
    const records = highWatermark > ackedNext ? highWatermark - ackedNext : 0n;
    if (records === 0n) return { records, seconds: 0 };
    const ts =
      pendingHead?.firstTimestamp !== undefined
        ? Number(pendingHead.firstTimestamp)
        : this.lastAckedTimestamp;
    return { records, seconds: ts < 0 ? 0 : Math.max(0, (Date.now() - ts) / 1000) };
  }

  setLagGauges(lag: UnitLag): void {
    this.metrics.lagRecords.set(this.labels, Number(lag.records));
    this.metrics.lagSeconds.set(this.labels, lag.seconds);
  }

  clearGauges(): void {
    this.metrics.lagRecords.remove(this.labels);
    this.metrics.lagSeconds.remove(this.labels);
    this.metrics.maxMessageBytesMismatch.remove(this.labels);
  }

  /** Bytes/s the source appends (see {@link SourceGrowth}); undefined until measured. */
  loadBytesPerSecond(): number | undefined {
    const growth = this.sourceGrowth.recordsPerSecond();
    if (growth === undefined) return undefined;
    if (growth === 0) return 0;
    if (this.copiedRecords === 0) return undefined;
    return (growth * this.copiedBytes) / this.copiedRecords;
  }

  rates(): { recordsPerSecond: number; bytesPerSecond: number } {
    return this.rate.rates();
  }

  latencyQuantiles(): { p50: number; p99: number } {
    return this.latencies.quantiles();
  }
}
