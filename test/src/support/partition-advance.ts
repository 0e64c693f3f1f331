// "Every partition advances again": after a fault, each remote partition must grow past where it
// stood when the fault ended. A stuck partition (its unit never restarted) never does, however
// much the others copy, which summed end offsets would hide.
import { remoteOf } from "./replica-check";
import { endOffset, type Side } from "./replication-fixtures";

/** `topic/partition` of every partition of `topics`. */
export function partitionsOf(topics: readonly string[], partitions: number): string[] {
  return topics.flatMap((topic) =>
    Array.from({ length: partitions }, (_, partition) => `${topic}/${partition}`),
  );
}

async function remoteEnds(target: Side, names: readonly string[]): Promise<Map<string, bigint>> {
  const ends = new Map<string, bigint>();
  for (const name of names) {
    const slash = name.lastIndexOf("/");
    const topic = name.slice(0, slash);
    ends.set(name, await endOffset(target, remoteOf(topic), Number(name.slice(slash + 1))));
  }
  return ends;
}

export interface AdvanceResult {
  /** Milliseconds from the call until the last partition grew; undefined if one never did. */
  ms: number | undefined;
  /** Partitions that had not grown by the deadline. */
  stuck: string[];
}

/**
 * Polls the remote partitions' end offsets until every one has grown past its value at the call,
 * or `timeoutMs` passed; returns how long that took and which partitions never grew.
 */
export async function timeUntilEveryPartitionAdvances(
  target: Side,
  topics: readonly string[],
  partitions: number,
  { timeoutMs, intervalMs = 200 }: { timeoutMs: number; intervalMs?: number },
): Promise<AdvanceResult> {
  const started = Date.now();
  const names = partitionsOf(topics, partitions);
  const from = await remoteEnds(target, names).catch(() => new Map<string, bigint>());
  const waiting = new Set(names);
  while (waiting.size > 0 && Date.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const now = await remoteEnds(target, [...waiting]).catch(() => new Map<string, bigint>());
    for (const [name, end] of now) {
      if (end > (from.get(name) ?? -1n)) waiting.delete(name);
    }
  }
  return {
    ms: waiting.size === 0 ? Date.now() - started : undefined,
    stuck: [...waiting],
  };
}
