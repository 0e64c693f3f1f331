// A producer that keeps writing sequence-numbered records to every partition of some topics while
// a test injects faults, so that takeovers happen mid-stream rather than on an idle partition.
import type { Kafka } from "kafkajs";

export interface SteadyLoad {
  /** Records acknowledged so far, over all partitions. */
  sent(): number;
  /** Sends that failed (the source itself is the reference of what must arrive, not these). */
  failures(): number;
  /** Stops after the send under way; resolves with the records acknowledged. */
  stop(): Promise<number>;
}

export interface SteadyLoadOptions {
  /** Records per partition per tick. Default 2. */
  perPartition?: number;
  /** Time between the starts of two sends. Default 100 ms. */
  tickMs?: number;
}

/**
 * Every tick, one batch with `perPartition` records for each partition of each topic; the values
 * are `<topic>/<partition>/<sequence>`. Sends never overlap, so a partition's records are in
 * sequence order in the source.
 */
export async function startSteadyLoad(
  kafka: Kafka,
  topics: readonly string[],
  partitions: number,
  { perPartition = 2, tickMs = 100 }: SteadyLoadOptions = {},
): Promise<SteadyLoad> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const next = new Map<string, number>();
  let sent = 0;
  let failures = 0;
  let stopping = false;
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
        await producer.sendBatch({ acks: -1, topicMessages });
        sent += topics.length * partitions * perPartition;
      } catch {
        failures += 1;
      }
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, tickMs - (Date.now() - started))),
      );
    }
  })();
  return {
    sent: () => sent,
    failures: () => failures,
    stop: async () => {
      stopping = true;
      await loop;
      await producer.disconnect();
      return sent;
    },
  };
}
