// Data and tools of the offset-translation tests: sequenced topics with gaps, MirrorMaker 2's
// translation rule for comparison, and Java's RemoteClusterUtils run against the target.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createGrpcClient, type GrpcClient } from "@geo/grpc";
import { commitGroupOffsets } from "@geo/kafka-wire";
import { Health, OffsetTranslationService } from "@geo/proto";
import type { KafkaRecord } from "@geo/record-batch";
import type { GeoStack } from "./geo-stack";
import { readPartition, type Side } from "./replication-fixtures";
import type { ServiceProcess } from "./service-process";
import { waitFor } from "./wait-for";

const run = promisify(execFile);

/**
 * Starts an offset-translation service on the stack's config (`checkpoints`: see
 * GeoStack.startOffsets) and waits until it is SERVING; the caller closes the client.
 */
export async function startServingOffsets(
  stack: GeoStack,
  checkpoints?: string,
): Promise<{ service: ServiceProcess; client: GrpcClient<typeof OffsetTranslationService> }> {
  const service = await stack.startOffsets(checkpoints);
  const client: GrpcClient<typeof OffsetTranslationService> = createGrpcClient(
    OffsetTranslationService,
    { address: service.endpoints.grpc!, defaultTimeoutMs: 10_000 },
  );
  const health = createGrpcClient(Health, {
    address: service.endpoints.grpc!,
    defaultTimeoutMs: 2000,
  });
  try {
    await waitFor(
      "the offsets service SERVING",
      async () => (await health.check({ service: "" })).status === 1,
      { timeoutMs: 60_000 },
    );
  } finally {
    health.close();
  }
  return { service, client };
}

/**
 * Commits `positions` (by partition) like a consumer of `group` would, with metadata
 * `meta-<partition>`, once the group coordinator is up.
 */
export async function commitAtSource(
  side: Side,
  group: string,
  topic: string,
  positions: readonly bigint[],
): Promise<void> {
  await waitFor(`${group}'s commit in ${side.alias}`, async () => {
    const results = await commitGroupOffsets(
      side.wire,
      group,
      positions.map((offset, partition) => ({
        topic,
        partition,
        offset,
        metadata: `meta-${partition}`,
      })),
    );
    return results.every((r) => r.errorCode === 0);
  });
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * plain: 5 batches of 10 per partition. compacted: 6 rounds of 10, even keys repeat across
 * rounds (compaction removes all but the last), odd keys are unique. txn: a committed, an
 * aborted and two committed transactions of 10 per partition (markers and aborted records are
 * gaps). Values are unique: `<topic>-<partition>-<batch>-<i>`.
 */
export async function produceTopics(source: Side, partitions: number): Promise<void> {
  const producer = source.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let batch = 0; batch < 6; batch++) {
      for (let p = 0; p < partitions; p++) {
        const messages = (topic: string, key: (i: number) => string) =>
          Array.from({ length: 10 }, (_, i) => ({
            partition: p,
            key: key(i),
            value: `${topic}-${p}-${batch}-${i}`,
          }));
        if (batch < 5)
          await producer.send({ topic: "plain", messages: messages("plain", (i) => `k${i}`) });
        await producer.send({
          topic: "compacted",
          messages: messages("compacted", (i) => (i % 2 === 0 ? `even-${i}` : `odd-${batch}-${i}`)),
        });
      }
      // Roll the compacted topic's segment (segment.ms=100) so the cleaner can compact it.
      await sleep(200);
    }
  } finally {
    await producer.disconnect();
  }
  const tx = source.kafka.producer({
    transactionalId: "offsets-e2e-tx",
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await tx.connect();
  try {
    for (const [batch, commit] of [
      [0, true],
      [1, false],
      [2, true],
      [3, true],
    ] as const) {
      const t = await tx.transaction();
      for (let p = 0; p < partitions; p++) {
        await t.send({
          topic: "txn",
          messages: Array.from({ length: 10 }, (_, i) => ({
            partition: p,
            value: `txn-${p}-${batch}-${i}`,
          })),
        });
      }
      if (commit) await t.commit();
      else await t.abort();
    }
  } finally {
    await tx.disconnect();
  }
}

/** Waits until the log cleaner removed records from every partition of a compacted topic. */
export async function waitForGaps(source: Side, topic: string, partitions: number) {
  await waitFor(
    `the log cleaner compacting ${topic}`,
    async () => {
      for (let p = 0; p < partitions; p++) {
        const records = await readPartition(source, topic, p);
        const hasGap = records.some((r, i) => i > 0 && records[i - 1]!.offset + 1n < r.offset);
        if (!hasGap) return false;
      }
      return true;
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  );
}

/**
 * What MirrorMaker 2 would answer for committed offset `committed`: offset syncs at the first
 * record, at every gap in upstream offsets and every 100 records; the newest sync S with
 * S.up <= committed gives S.down when equal, else S.down + 1. -1 when no sync applies.
 */
export function mm2RuleAnswer(
  source: readonly KafkaRecord[],
  target: readonly KafkaRecord[],
  committed: bigint,
): bigint {
  const targetOffsetOf = new Map(target.map((r) => [r.value!.toString(), r.offset]));
  const syncs: { up: bigint; down: bigint }[] = [];
  let previous: bigint | undefined;
  let sinceSync = 0;
  for (const r of source) {
    const down = targetOffsetOf.get(r.value!.toString());
    if (down === undefined) continue;
    if (previous === undefined || r.offset !== previous + 1n || sinceSync >= 100) {
      syncs.push({ up: r.offset, down });
      sinceSync = 0;
    }
    sinceSync++;
    previous = r.offset;
  }
  const sync = syncs.filter((s) => s.up <= committed).pop();
  if (sync === undefined) return -1n;
  return sync.up === committed ? sync.down : sync.down + 1n;
}

const JAVA_MAIN = `
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.mirror.RemoteClusterUtils;

public class Translate {
  public static void main(String[] args) throws Exception {
    Map<String, Object> props = new HashMap<>();
    props.put("bootstrap.servers", args[0]);
    Map<TopicPartition, OffsetAndMetadata> offsets =
        RemoteClusterUtils.translateOffsets(props, args[1], args[2], Duration.ofSeconds(30));
    for (Map.Entry<TopicPartition, OffsetAndMetadata> e : offsets.entrySet()) {
      System.out.println("OFFSET " + e.getKey().topic() + "-" + e.getKey().partition() + " " + e.getValue().offset());
    }
  }
}
`;

/** Java's RemoteClusterUtils.translateOffsets against `target`: `{ "<topic>-<partition>": "<offset>" }`. */
export async function javaTranslateOffsets(
  target: Side,
  sourceAlias: string,
  group: string,
): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), "geo-java-"));
  try {
    writeFileSync(join(dir, "Translate.java"), JAVA_MAIN);
    const { classpath, javaBin } = target.cluster.distribution;
    const javac = join(javaBin, "..", "javac");
    await run(javaBin === "java" ? "javac" : javac, [
      "-cp",
      classpath,
      "-d",
      dir,
      join(dir, "Translate.java"),
    ]);
    const { stdout } = await run(
      javaBin,
      [
        "-cp",
        `${dir}:${classpath}`,
        "Translate",
        target.cluster.bootstrapServers.join(","),
        sourceAlias,
        group,
      ],
      { timeout: 120_000 },
    );
    const out: Record<string, string> = {};
    for (const line of stdout.split("\n")) {
      const m = /^OFFSET (\S+) (\d+)$/.exec(line.trim());
      if (m !== null) out[m[1]!] = m[2]!;
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
