import type { IsolationLevelName, KafkaWireClient } from "@geo/kafka-wire";
import { BatchLoader } from "./batch-loader";

/** A partition's earliest or latest offset. */
export interface OffsetQuery {
  topic: string;
  partition: number;
  spec: "earliest" | "latest";
}

export type OffsetsLoader = BatchLoader<OffsetQuery, bigint>;

/** ListOffsets of the partitions asked for in one turn of the event loop: one request per topic. */
export function offsetsLoader(
  client: KafkaWireClient,
  isolationLevel: IsolationLevelName,
): OffsetsLoader {
  return new BatchLoader(async (keys) => {
    const groups = new Map<
      string,
      { topic: string; spec: "earliest" | "latest"; partitions: number[] }
    >();
    for (const k of keys) {
      const g = `${k.spec}\u0000${k.topic}`;
      let e = groups.get(g);
      if (e === undefined) {
        e = { topic: k.topic, spec: k.spec, partitions: [] };
        groups.set(g, e);
      }
      if (!e.partitions.includes(k.partition)) e.partitions.push(k.partition);
    }
    const found = new Map<string, bigint>();
    await Promise.all(
      [...groups.values()].map(async (g) => {
        const listed = await client.listOffsets(g.topic, g.partitions, g.spec, {
          timeoutMs: 10_000,
          isolationLevel,
        });
        for (const o of listed) {
          found.set(`${g.spec}\u0000${g.topic}\u0000${o.partition}`, o.offset);
        }
      }),
    );
    return keys.map((k) => found.get(`${k.spec}\u0000${k.topic}\u0000${k.partition}`)!);
  });
}
