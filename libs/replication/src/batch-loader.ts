/**
 * Coalesces the calls made within one turn of the event loop into one batched call (one scan of
 * the progress topic for every unit started by an assignment, one ListOffsets per topic, one
 * DescribeConfigs per cluster).
 */
export class BatchLoader<K, V> {
  private queue: { key: K; resolve: (v: V) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;

  constructor(private readonly fn: (keys: K[]) => Promise<V[]>) {}

  load(key: K): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      this.queue.push({ key, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.run());
      }
    });
  }

  private async run(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    this.scheduled = false;
    try {
      const values = await this.fn(batch.map((b) => b.key));
      batch.forEach((b, i) => {
        b.resolve(values[i]!);
      });
    } catch (e) {
      for (const b of batch) b.reject(e);
    }
  }
}
