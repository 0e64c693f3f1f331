// The fault suite's yardsticks, independent of the services: a producer writing per-partition
// sequence numbers to the source, a checker reading the source and target partitions and
// counting what is lost, duplicated and reordered, and a sampler of the remote partitions' end
// offsets that tells when every partition advanced again and how long the longest pause was.
import type { Admin, Kafka } from "@geo/kafka";
import { createPartitionFetcher, createWireClient, type KafkaWireClient } from "@geo/kafka-wire";

export interface SequencedLoad {
  stop(): Promise<void>;
  failedSends(): number;
}

/** Every 100 ms, `perPartition` records to each partition; values `<topic>/<partition>/<seq>`. */
export async function startSequencedLoad(
  kafka: Kafka,
  topics: readonly string[],
  partitions: number,
  perPartition = 2,
): Promise<SequencedLoad> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const next = new Map<string, number>();
  let stopping = false;
  let failed = 0;
  const loop = (async () => {
    while (!stopping) {
      const started = Date.now();
      const topicMessages = topics.map((topic) => ({
        topic,
        messages: Array.from({ length: partitions * perPartition }, (_, i) => {
          const partition = i % partitions;
          const key = `${topic}/${partition}`;
          const seq = next.get(key) ?? 0;
          next.set(key, seq + 1);
          return { partition, key: `k${seq}`, value: `${key}/${seq}` };
        }),
      }));
      try {
        await producer.sendBatch({ acks: -1, topicMessages, timeout: 5000 });
      } catch {
        // The source is the reference of what must arrive: a failed send is simply not there.
        failed += 1;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
    }
  })();
  return {
    failedSends: () => failed,
    stop: async () => {
      stopping = true;
      await loop;
      await producer.disconnect().catch(() => {});
    },
  };
}

export interface Counts {
  sourceRecords: number;
  lost: number;
  duplicates: number;
  reordered: number;
}

export interface ReplicaChecker {
  /** Waits (up to timeoutMs) until the target holds every source record, then counts. */
  check(timeoutMs: number): Promise<Counts & { perPartition: Map<string, Counts> }>;
  close(): Promise<void>;
}

export function createReplicaChecker(
  sourceServers: readonly string[],
  targetServers: readonly string[],
  topics: readonly string[],
  partitions: number,
  remoteOf: (topic: string) => string,
): ReplicaChecker {
  const client = (brokers: readonly string[]) =>
    createWireClient({ clientId: "chaos-checker", brokers: [...brokers], logLevel: 0 });
  const source = client(sourceServers);
  const target = client(targetServers);
  const read = async (wire: KafkaWireClient, topic: string, partition: number) => {
    const fetcher = createPartitionFetcher(wire, { isolationLevel: "read_committed" });
    const [end] = await wire.listOffsets(topic, [partition], "latest", { timeoutMs: 10_000 });
    const values: string[] = [];
    let offset = 0n;
    while (offset < end!.offset) {
      const [r] = await fetcher.fetch([{ topic, partition, offset, maxBytes: 8 << 20 }]);
      if (r!.error !== null) throw r!.error;
      for (const batch of r!.batches) {
        for (const record of batch.records()) {
          if (record.offset >= offset && record.control === null) {
            values.push(record.value?.toString() ?? "");
          }
        }
      }
      if (r!.nextOffset <= offset) break;
      offset = r!.nextOffset;
    }
    await fetcher.close();
    return values;
  };
  const countPartition = async (topic: string, partition: number): Promise<Counts> => {
    const sourceValues = await read(source, topic, partition);
    const targetValues = await read(target, remoteOf(topic), partition);
    const position = new Map(sourceValues.map((value, i) => [value, i]));
    const seen = new Set<string>();
    let duplicates = 0;
    let reordered = 0;
    let last = -1;
    for (const value of targetValues) {
      if (seen.has(value)) {
        duplicates += 1;
        continue;
      }
      const at = position.get(value);
      // Copied after the source was read: the next check sees it.
      if (at === undefined) continue;
      seen.add(value);
      if (at !== last + 1) reordered += 1;
      last = at;
    }
    const lost = sourceValues.filter((value) => !seen.has(value)).length;
    return { sourceRecords: sourceValues.length, lost, duplicates, reordered };
  };
  const countAll = async () => {
    const perPartition = new Map<string, Counts>();
    const total: Counts = { sourceRecords: 0, lost: 0, duplicates: 0, reordered: 0 };
    for (const topic of topics) {
      for (let partition = 0; partition < partitions; partition++) {
        const counts = await countPartition(topic, partition);
        perPartition.set(`${topic}/${partition}`, counts);
        total.sourceRecords += counts.sourceRecords;
        total.lost += counts.lost;
        total.duplicates += counts.duplicates;
        total.reordered += counts.reordered;
      }
    }
    return { ...total, perPartition };
  };
  return {
    async check(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          const counts = await countAll();
          if (counts.lost === 0 || Date.now() > deadline) return counts;
        } catch (error) {
          if (Date.now() > deadline) throw error;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    },
    async close() {
      await Promise.all([source.close(), target.close()]);
    },
  };
}

export interface EndSampler {
  /** Ms from `from` (Date.now()) until every partition's end passed its end at `from`. */
  advanceAfter(from: number, timeoutMs: number): Promise<number | undefined>;
  /**
   * When the last partition resumed after a pause of at least `gapMs` that overlaps `from`..`to`
   * (a killed owner's partitions may take one in-flight write after the kill, then pause until
   * their takeover); undefined when none paused that long.
   */
  lastResumption(from: number, to: number, gapMs: number): number | undefined;
  /** The longest time any partition's end did not grow between `from` and `to`. */
  longestStall(from: number, to: number): number;
  stop(): Promise<void>;
}

/** Samples the remote partitions' end offsets every `intervalMs`. */
export function sampleRemoteEnds(
  targetAdmin: Admin,
  topics: readonly string[],
  partitions: number,
  remoteOf: (topic: string) => string,
  intervalMs = 200,
): EndSampler {
  /** Per partition: (time, end) pairs in time order. */
  const samples = new Map<string, [number, bigint][]>();
  let stopping = false;
  const take = async () => {
    for (const topic of topics) {
      const offsets = await targetAdmin.fetchTopicOffsets(remoteOf(topic)).catch(() => []);
      const at = Date.now();
      for (const { partition, high } of offsets) {
        if (partition >= partitions) continue;
        const key = `${topic}/${partition}`;
        const list = samples.get(key) ?? [];
        list.push([at, BigInt(high)]);
        samples.set(key, list);
      }
    }
  };
  const loop = (async () => {
    while (!stopping) {
      await take();
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  const endAt = (list: [number, bigint][], at: number) => {
    let end = -1n;
    for (const [time, value] of list) if (time <= at) end = value;
    return end;
  };
  return {
    async advanceAfter(from, timeoutMs) {
      const deadline = from + timeoutMs;
      for (;;) {
        let last = 0;
        let all = samples.size === topics.length * partitions;
        for (const list of samples.values()) {
          const base = endAt(list, from);
          const grew = list.find(([time, value]) => time > from && value > base);
          if (grew === undefined) all = false;
          else last = Math.max(last, grew[0]);
        }
        if (all) return last - from;
        if (Date.now() > deadline) return undefined;
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    },
    lastResumption(from, to, gapMs) {
      let latest: number | undefined;
      for (const list of samples.values()) {
        let lastGrowth: number | undefined;
        let previous: bigint | undefined;
        for (const [time, value] of list) {
          if (time > to) break;
          if (previous !== undefined && value > previous) {
            const paused = lastGrowth !== undefined && time - lastGrowth >= gapMs;
            if (paused && time >= from) latest = Math.max(latest ?? time, time);
            lastGrowth = time;
          }
          if (previous === undefined) lastGrowth = time;
          previous = value;
        }
      }
      return latest;
    },
    longestStall(from, to) {
      let longest = 0;
      for (const list of samples.values()) {
        let lastGrowth = from;
        let previous = endAt(list, from);
        for (const [time, value] of list) {
          if (time <= from || time > to) continue;
          if (value > previous) {
            longest = Math.max(longest, time - lastGrowth);
            lastGrowth = time;
            previous = value;
          }
        }
        longest = Math.max(longest, to - lastGrowth);
      }
      return longest;
    },
    async stop() {
      stopping = true;
      await loop;
    },
  };
}
