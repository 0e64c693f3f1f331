// Writes region states and transition records to the region topic of each group's clusters.
// A cluster that does not answer keeps its pending entries, retried with the shared backoff, so
// a region that is down when a transition happens learns it when it comes back.
import { runLoop } from "@geo/backoff";
import type { Logger } from "@geo/logging";
import { entryKey, type RegionLog, type RegionLogEntry } from "./region-log";

export interface Persister {
  /** Queues entries for the clusters; newer entries with the same key replace queued ones. */
  enqueue(clusters: readonly string[], entries: readonly RegionLogEntry[]): void;
  /** Tries to write everything queued now; true when nothing is left. */
  flush(): Promise<boolean>;
  /** Entries waiting, by cluster. */
  pending(): ReadonlyMap<string, number>;
  close(): Promise<void>;
}

export function createPersister(log: RegionLog, logger: Logger, intervalMs = 1000): Persister {
  const queued = new Map<string, Map<string, RegionLogEntry>>();
  const abort = new AbortController();
  let flushing: Promise<boolean> | undefined;

  const flushOnce = async (): Promise<boolean> => {
    let ok = true;
    await Promise.all(
      [...queued].map(async ([cluster, entries]) => {
        if (entries.size === 0) return;
        const batch = [...entries];
        try {
          await log.append(
            cluster,
            batch.map(([, entry]) => entry),
          );
          // Only what was written leaves the queue; a newer entry queued meanwhile stays.
          for (const [key, entry] of batch) if (entries.get(key) === entry) entries.delete(key);
        } catch (error) {
          ok = false;
          logger.warn(
            { cluster, pending: entries.size, err: (error as Error).message },
            `could not write region state to ${log.describe(cluster)}; retrying`,
          );
        }
      }),
    );
    return ok;
  };
  const flush = () => {
    flushing ??= flushOnce().finally(() => {
      flushing = undefined;
    });
    return flushing;
  };
  const loop = runLoop(
    async () => {
      if (!(await flush())) throw new Error("region state not yet written everywhere");
    },
    { intervalMs, signal: abort.signal, initialMs: 500, maxMs: 10_000 },
  );

  return {
    enqueue(clusters, entries) {
      for (const cluster of clusters) {
        let map = queued.get(cluster);
        if (map === undefined) {
          map = new Map();
          queued.set(cluster, map);
        }
        for (const entry of entries) map.set(entryKey(entry), entry);
      }
    },
    flush,
    pending: () => new Map([...queued].map(([cluster, map]) => [cluster, map.size])),
    async close() {
      abort.abort();
      await loop;
      await flush().catch(() => false);
    },
  };
}
