// Writes region states and transition records to the region topic of each group's clusters.
// A cluster that does not answer keeps its pending entries, retried with the shared backoff, so
// a region that is down when a transition happens learns it when it comes back.
import { runLoop } from "@geo/backoff";
import type { Logger } from "@geo/logging";
import { entryKey, type RegionLog, type RegionLogEntry } from "./region-log";

export interface Persister {
  /** Queues entries for the clusters; newer entries with the same key replace queued ones. */
  enqueue(clusters: readonly string[], entries: readonly RegionLogEntry[]): void;
  /**
   * Tries to write what is queued for `clusters` (default: all) now; true when nothing is left
   * there. Each cluster is written on its own, so one that does not answer delays only itself.
   */
  flush(clusters?: readonly string[]): Promise<boolean>;
  /** Entries waiting, by cluster. */
  pending(): ReadonlyMap<string, number>;
  close(): Promise<void>;
}

export function createPersister(log: RegionLog, logger: Logger, intervalMs = 1000): Persister {
  const queued = new Map<string, Map<string, RegionLogEntry>>();
  const abort = new AbortController();
  /** Per cluster: the write under way, and one more queued behind it for entries added since. */
  const writes = new Map<string, { running?: Promise<boolean>; next?: Promise<boolean> }>();

  const writeCluster = async (cluster: string): Promise<boolean> => {
    const entries = queued.get(cluster);
    if (entries === undefined || entries.size === 0) return true;
    const batch = [...entries];
    try {
      await log.append(
        cluster,
        batch.map(([, entry]) => entry),
      );
      // Only what was written leaves the queue; a newer entry queued meanwhile stays.
      for (const [key, entry] of batch) if (entries.get(key) === entry) entries.delete(key);
      return entries.size === 0;
    } catch (error) {
      logger.warn(
        { cluster, pending: entries.size, err: (error as Error).message },
        `could not write region state to ${log.describe(cluster)}; retrying`,
      );
      return false;
    }
  };
  // A flush asked while a write runs waits for it, then writes what was queued meanwhile (one
  // such follow-up per cluster, however many ask): the caller's entries are in it.
  const flushCluster = (cluster: string): Promise<boolean> => {
    let slot = writes.get(cluster);
    if (slot === undefined) {
      slot = {};
      writes.set(cluster, slot);
    }
    const current = slot;
    if (current.running === undefined) {
      current.running = writeCluster(cluster).finally(() => {
        current.running = undefined;
      });
      return current.running;
    }
    current.next ??= current.running.then(() => {
      current.next = undefined;
      return flushCluster(cluster);
    });
    return current.next;
  };
  const flush = async (clusters: readonly string[] = [...queued.keys()]) =>
    (await Promise.all(clusters.map(flushCluster))).every(Boolean);
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
