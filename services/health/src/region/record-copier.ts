// Copies a partition's records between clusters, for a failback's divergence report: what the
// returning region holds that the other never received goes into a side topic there, same
// partition, key, value, headers (in wire order) and timestamp. Reads with the project's own
// Fetch (explicit partition and offsets, no consumer group) and writes with its idempotent
// producer, so a retried request cannot duplicate a batch.
import { sleep } from "@geo/backoff";
import type { GeoConfig } from "@geo/config";
import { type ClusterAdmin, createClusterAdmin, kafkaClientOptions } from "@geo/kafka";
import {
  createIdempotentProducer,
  createPartitionFetcher,
  createWireClient,
  type IdempotentProducer,
  type KafkaWireClient,
  OffsetOutOfRangeError,
  type PartitionFetcher,
} from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import type { KafkaRecord } from "@geo/record-batch";
import { CopyInterruptedError, type RecordCopier } from "./dependencies";

type CopyRequest = Parameters<RecordCopier["copy"]>[0];

/** A range that cannot be copied within this long fails the step (it is reported, not copied). */
const COPY_TIMEOUT_MS = 120_000;
/** Records per produced batch: re-encoded uncompressed, so kept well under a broker's 1 MiB. */
const RECORDS_PER_BATCH = 200;

interface ClusterClients {
  readonly wire: KafkaWireClient;
  readonly admin: ClusterAdmin;
  fetcher?: PartitionFetcher;
  producer?: IdempotentProducer;
}

export function createRecordCopier(
  config: Pick<GeoConfig, "clusters">,
  logger: Logger,
): RecordCopier & { close(): Promise<void> } {
  const clients = new Map<string, ClusterClients>();
  const clientsOf = (alias: string): ClusterClients => {
    let found = clients.get(alias);
    if (found === undefined) {
      found = createClusterClients(config, alias, logger);
      clients.set(alias, found);
    }
    return found;
  };

  return {
    async copy(request) {
      await ensureTopic(clientsOf, request);
      const at = { offset: request.startOffset, copied: 0n };
      try {
        await copyRange(clientsOf, request, at);
      } catch (error) {
        const { fromCluster, topic, partition, startOffset, endOffset } = request;
        throw new CopyInterruptedError(
          `copying ${fromCluster}:${topic}/${partition} [${startOffset}, ${endOffset}) stopped at offset ${at.offset} after ${at.copied} records: ${(error as Error).message}`,
          at.offset,
          at.copied,
          error,
        );
      }
      return at.copied;
    },
    async close() {
      for (const handles of clients.values()) {
        await handles.producer?.close().catch(() => undefined);
        await handles.fetcher?.close().catch(() => undefined);
        await handles.wire.close().catch(() => undefined);
        await handles.admin.close();
      }
    },
  };
}

type ClientsOf = (alias: string) => ClusterClients;

function createClusterClients(
  config: Pick<GeoConfig, "clusters">,
  alias: string,
  logger: Logger,
): ClusterClients {
  const cluster = config.clusters[alias];
  if (cluster === undefined) throw new Error(`unknown cluster "${alias}"`);
  const wire = createWireClient(
    kafkaClientOptions(cluster, { clientId: "geo-health-divergence", logger }),
    { logger, requestTimeoutMs: 10_000 },
  );
  return { wire, admin: createClusterAdmin(cluster, { clientId: "geo-health", logger }) };
}

/** Creates `toTopic` in the target with the source topic's partition count, unless it exists. */
async function ensureTopic(clientsOf: ClientsOf, request: CopyRequest): Promise<void> {
  const { fromCluster: from, toCluster: to, topic, toTopic } = request;
  const metadata = await clientsOf(from).admin.use((admin) =>
    admin.fetchTopicMetadata({ topics: [topic] }),
  );
  const numPartitions = metadata.topics[0]?.partitions.length ?? 0;
  if (numPartitions === 0) throw new Error(`topic ${topic} not found in ${from}`);
  await clientsOf(to).admin.use((admin) =>
    // Not kafkajs's waitForLeaders (it can give up early on a loaded broker): the producer
    // waits for the new partitions itself (unknownPartitionGraceMs).
    admin.createTopics({ topics: [{ topic: toTopic, numPartitions }], waitForLeaders: false }),
  );
}

/** Where a copy stands: the next source offset to copy, and the records copied so far. */
interface CopyPosition {
  offset: bigint;
  copied: bigint;
}

/** Copies from `at.offset` on, moving `at` past every chunk the target acknowledged. */
async function copyRange(clientsOf: ClientsOf, request: CopyRequest, at: CopyPosition) {
  const { topic, partition, endOffset } = request;
  const source = clientsOf(request.fromCluster);
  const target = clientsOf(request.toCluster);
  source.fetcher ??= createPartitionFetcher(source.wire, { maxWaitMs: 500 });
  target.producer ??= createIdempotentProducer(target.wire, { unknownPartitionGraceMs: 30_000 });
  const deadline = performance.now() + COPY_TIMEOUT_MS;
  while (at.offset < endOffset) {
    if (performance.now() > deadline) {
      throw new Error(`copying took over ${COPY_TIMEOUT_MS} ms`);
    }
    const [result] = await source.fetcher.fetch(
      [{ topic, partition, offset: at.offset, maxBytes: 1024 * 1024 }],
      { maxWaitMs: 500 },
    );
    if (result!.error instanceof OffsetOutOfRangeError) {
      throw new Error(
        `${request.fromCluster}:${topic}/${partition} no longer holds offset ${at.offset} (log start ${result!.error.logStartOffset}): retention removed diverged records before they were copied`,
      );
    }
    if (result!.error !== null) {
      await sleep(200);
      continue;
    }
    const records = result!.batches
      .flatMap((batch) => batch.records())
      .filter((r) => r.offset >= at.offset && r.offset < endOffset);
    await produceInChunks(target.producer, request, records, at);
    if (records.length > 0) continue;
    // Past a gap (compaction, transaction markers), or nothing readable yet (a leader moving).
    if (result!.nextOffset > at.offset) at.offset = result!.nextOffset;
    else await sleep(200);
  }
}

/** Writes the records to the side topic in chunks, moving `at` past each acknowledged chunk. */
async function produceInChunks(
  producer: IdempotentProducer,
  request: CopyRequest,
  records: readonly KafkaRecord[],
  at: CopyPosition,
): Promise<void> {
  for (let i = 0; i < records.length; i += RECORDS_PER_BATCH) {
    const chunk = records.slice(i, i + RECORDS_PER_BATCH);
    await producer.send(request.toTopic, request.partition, {
      records: chunk.map((r) => ({
        timestamp: r.timestamp,
        key: r.key,
        value: r.value,
        headers: r.headers.map((h) => ({ key: h.key, value: h.value })),
      })),
    });
    // Per chunk, so that an interrupted copy knows exactly what is in the side topic.
    at.offset = chunk.at(-1)!.offset + 1n;
    at.copied += BigInt(chunk.length);
  }
}
