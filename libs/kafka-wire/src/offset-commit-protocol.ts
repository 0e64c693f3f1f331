import { BrokerError } from "./kafka-wire-error";
import type { KafkaWireClient } from "./wire-client";
import { WireReader } from "./wire-reader";
import { WireWriter } from "./wire-writer";

// FindCoordinator v1 and OffsetCommit v5 (the last versions before flexible encoding that need
// nothing v6+ adds), for committing a group's offsets from outside the group, as Java's
// Admin.alterConsumerGroupOffsets does: generation -1, no member id. The broker accepts such a
// commit only while the group has no members, so it can never overwrite an active consumer.

const FIND_COORDINATOR = 10;
const OFFSET_COMMIT = 8;

/** One partition's offset to commit, with the metadata string consumers stored beside it. */
export interface GroupOffsetCommit {
  topic: string;
  partition: number;
  offset: bigint;
  metadata: string | null;
}

/** What the broker answered per partition (0 = committed). */
export interface GroupOffsetCommitResult {
  topic: string;
  partition: number;
  errorCode: number;
}

export function encodeOffsetCommitRequest(
  groupId: string,
  offsets: readonly GroupOffsetCommit[],
): Buffer {
  const byTopic = new Map<string, GroupOffsetCommit[]>();
  for (const o of offsets) {
    const list = byTopic.get(o.topic) ?? [];
    list.push(o);
    byTopic.set(o.topic, list);
  }
  const w = new WireWriter(128);
  w.string(groupId).int32(-1).string("");
  w.array([...byTopic], (w, [topic, partitions]) => {
    w.string(topic).array(partitions, (w, p) => {
      w.int32(p.partition).int64(p.offset).string(p.metadata);
    });
  });
  return w.finish();
}

export function decodeOffsetCommitResponse(buf: Buffer): GroupOffsetCommitResult[] {
  const r = new WireReader(buf, "OffsetCommit v5 response");
  r.int32();
  const out: GroupOffsetCommitResult[] = [];
  r.array((r) => {
    const topic = r.string();
    r.array((r) => {
      out.push({ topic, partition: r.int32(), errorCode: r.int16() });
    });
  });
  return out;
}

async function findGroupCoordinator(client: KafkaWireClient, groupId: string): Promise<number> {
  const answer = await client.transport.send(null, {
    apiKey: FIND_COORDINATOR,
    apiName: "FindCoordinator",
    minVersion: 1,
    maxVersion: 1,
    encode: () => new WireWriter(64).string(groupId).int8(0).finish(),
    decode: (_v, buf) => {
      const r = new WireReader(buf, "FindCoordinator v1 response");
      r.int32();
      const errorCode = r.int16();
      r.nullableString();
      return { errorCode, nodeId: r.int32() };
    },
  });
  if (answer.errorCode !== 0) {
    throw new BrokerError(answer.errorCode, {}, { brokerMessage: `FindCoordinator "${groupId}"` });
  }
  return answer.nodeId;
}

/**
 * Commits `offsets` for `groupId` without joining the group. Per-partition errors are returned,
 * not thrown (an active group answers UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION); a failure to
 * reach the group coordinator throws.
 */
export async function commitGroupOffsets(
  client: KafkaWireClient,
  groupId: string,
  offsets: readonly GroupOffsetCommit[],
): Promise<GroupOffsetCommitResult[]> {
  if (offsets.length === 0) return [];
  await client.metadata.refresh([...new Set(offsets.map((o) => o.topic))]);
  const nodeId = await findGroupCoordinator(client, groupId);
  return client.transport.send(nodeId, {
    apiKey: OFFSET_COMMIT,
    apiName: "OffsetCommit",
    minVersion: 5,
    maxVersion: 5,
    encode: () => encodeOffsetCommitRequest(groupId, offsets),
    decode: (_v, buf) => decodeOffsetCommitResponse(buf),
  });
}
