import { WireReader } from "./wire-reader";
import { WireWriter } from "./wire-writer";

// ListOffsets v2-v5 (v2 adds the isolation level, v4 leader epochs; v6 is flexible).

export const LIST_OFFSETS_MIN_VERSION = 2;
export const LIST_OFFSETS_MAX_VERSION = 5;

/** Special timestamps of a ListOffsets query. */
export const EARLIEST_TIMESTAMP = -2n;
export const LATEST_TIMESTAMP = -1n;

export interface ListOffsetsRequest {
  isolationLevel: number;
  topics: readonly {
    topic: string;
    partitions: readonly { partition: number; currentLeaderEpoch: number; timestamp: bigint }[];
  }[];
}

export function encodeListOffsetsRequest(version: number, req: ListOffsetsRequest): Buffer {
  const w = new WireWriter(64);
  w.int32(-1).int8(req.isolationLevel);
  w.array(req.topics, (w, t) => {
    w.string(t.topic).array(t.partitions, (w, p) => {
      w.int32(p.partition);
      if (version >= 4) w.int32(p.currentLeaderEpoch);
      w.int64(p.timestamp);
    });
  });
  return w.finish();
}

export interface ListOffsetsResponsePartition {
  partition: number;
  errorCode: number;
  timestamp: bigint;
  offset: bigint;
  leaderEpoch: number;
}

export interface ListOffsetsResponse {
  throttleTimeMs: number;
  topics: { topic: string; partitions: ListOffsetsResponsePartition[] }[];
}

export function decodeListOffsetsResponse(version: number, buf: Buffer): ListOffsetsResponse {
  const r = new WireReader(buf, `ListOffsets v${version} response`);
  const throttleTimeMs = r.int32();
  const topics = r.array((r) => ({
    topic: r.string(),
    partitions: r.array(
      (r): ListOffsetsResponsePartition => ({
        partition: r.int32(),
        errorCode: r.int16(),
        timestamp: r.int64(),
        offset: r.int64(),
        leaderEpoch: version >= 4 ? r.int32() : -1,
      }),
    ),
  }));
  return { throttleTimeMs, topics };
}
