import { BrokerError } from "./kafka-wire-error";
import type { KafkaWireClient } from "./wire-client";
import { WireReader } from "./wire-reader";
import { WireWriter } from "./wire-writer";

// FindCoordinator v1, OffsetCommit v5 and OffsetFetch v5 (the last versions before flexible
// encoding; nothing later ones add is needed), for reading and committing a group's offsets from
// outside the group. Commits are made as Java's Admin.alterConsumerGroupOffsets makes them:
// generation -1, no member id; the broker accepts such a commit only while the group has no
// members, so it can never overwrite an active consumer.

const FIND_COORDINATOR = 10;
const OFFSET_COMMIT = 8;
const OFFSET_FETCH = 9;
const COORDINATOR_MOVED = new Set([14, 15, 16]);

/** One committed offset of a group (offset -1: none). */
export interface GroupCommittedOffset {
  topic: string;
  partition: number;
  offset: bigint;
  metadata: string | null;
  errorCode: number;
}

/** Per client: the coordinator of each group asked about, until it moves. */
const coordinators = new WeakMap<KafkaWireClient, Map<string, number>>();

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
  let known = coordinators.get(client);
  if (known === undefined) {
    known = new Map();
    coordinators.set(client, known);
  }
  const cached = known.get(groupId);
  if (cached !== undefined) return cached;
  // The transport sends to node ids the latest metadata lists: the group coordinator's must be.
  await client.metadata.ensure(["__consumer_offsets"]);
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
  known.set(groupId, answer.nodeId);
  return answer.nodeId;
}

function forgetCoordinator(client: KafkaWireClient, groupId: string): void {
  coordinators.get(client)?.delete(groupId);
}

/** A request to a coordinator that failed (connection lost, broker gone): look it up again next time. */
async function forgettingOnError<T>(
  client: KafkaWireClient,
  groupId: string,
  request: () => Promise<T>,
): Promise<T> {
  try {
    return await request();
  } catch (error) {
    forgetCoordinator(client, groupId);
    throw error;
  }
}

export function encodeOffsetFetchRequest(groupId: string): Buffer {
  return new WireWriter(64)
    .string(groupId)
    .array(null, () => {})
    .finish();
}

export function decodeOffsetFetchResponse(buf: Buffer): {
  offsets: GroupCommittedOffset[];
  errorCode: number;
} {
  const r = new WireReader(buf, "OffsetFetch v5 response");
  r.int32();
  const offsets: GroupCommittedOffset[] = [];
  r.array((r) => {
    const topic = r.string();
    r.array((r) => {
      const partition = r.int32();
      const offset = r.int64();
      r.int32();
      const metadata = r.nullableString();
      offsets.push({ topic, partition, offset, metadata, errorCode: r.int16() });
    });
  });
  return { offsets, errorCode: r.int16() };
}

/**
 * Every offset `groupId` committed (all topics), in one request to its coordinator (cached per
 * group until it moves). A group without commits, or unknown, has none.
 */
export async function fetchGroupOffsets(
  client: KafkaWireClient,
  groupId: string,
): Promise<GroupCommittedOffset[]> {
  const nodeId = await findGroupCoordinator(client, groupId);
  const answer = await forgettingOnError(client, groupId, () =>
    client.transport.send(nodeId, {
      apiKey: OFFSET_FETCH,
      apiName: "OffsetFetch",
      minVersion: 5,
      maxVersion: 5,
      encode: () => encodeOffsetFetchRequest(groupId),
      decode: (_v, buf) => decodeOffsetFetchResponse(buf),
    }),
  );
  if (answer.errorCode !== 0) {
    if (COORDINATOR_MOVED.has(answer.errorCode)) forgetCoordinator(client, groupId);
    throw new BrokerError(answer.errorCode, {}, { brokerMessage: `OffsetFetch "${groupId}"` });
  }
  return answer.offsets;
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
  const results = await forgettingOnError(client, groupId, () =>
    client.transport.send(nodeId, {
      apiKey: OFFSET_COMMIT,
      apiName: "OffsetCommit",
      minVersion: 5,
      maxVersion: 5,
      encode: () => encodeOffsetCommitRequest(groupId, offsets),
      decode: (_v, buf) => decodeOffsetCommitResponse(buf),
    }),
  );
  if (results.some((r) => COORDINATOR_MOVED.has(r.errorCode))) forgetCoordinator(client, groupId);
  return results;
}
