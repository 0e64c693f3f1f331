import { WireReader } from "./wire-reader";
import { WireWriter } from "./wire-writer";

// Metadata v4-v8 (v7 adds leader epochs, v9 is flexible). Topics are always listed by
// name: an empty list asks for no topics, never "all topics", and auto-creation is off,
// so looking a topic up can never create it.

export const METADATA_MIN_VERSION = 4;
export const METADATA_MAX_VERSION = 8;

/** The schema's default of an authorized-operations field: not computed. */
export const UNKNOWN_AUTHORIZED_OPERATIONS = -2147483648;

export interface MetadataRequest {
  topics: readonly string[];
  allowAutoTopicCreation?: boolean;
  /** v8+: the broker answers what the caller may do on the cluster (a bitfield, AclOperation codes). */
  includeClusterAuthorizedOperations?: boolean;
}

export function encodeMetadataRequest(version: number, req: MetadataRequest): Buffer {
  const w = new WireWriter(64 + req.topics.length * 32);
  w.array(req.topics, (w, t) => w.string(t));
  w.bool(req.allowAutoTopicCreation ?? false);
  // include_cluster_authorized_operations, include_topic_authorized_operations
  if (version >= 8) w.bool(req.includeClusterAuthorizedOperations ?? false).bool(false);
  return w.finish();
}

export interface MetadataBroker {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface MetadataPartition {
  errorCode: number;
  partition: number;
  leaderId: number;
  /** -1 before v7. */
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
}

export interface MetadataTopic {
  errorCode: number;
  topic: string;
  isInternal: boolean;
  partitions: MetadataPartition[];
}

export interface MetadataResponse {
  throttleTimeMs: number;
  brokers: MetadataBroker[];
  clusterId: string | null;
  controllerId: number;
  topics: MetadataTopic[];
  /** v8+, when asked for: bit n set when operation code n is allowed; -2^31 when not asked. */
  clusterAuthorizedOperations: number;
}

export function decodeMetadataResponse(version: number, buf: Buffer): MetadataResponse {
  const r = new WireReader(buf, `Metadata v${version} response`);
  const throttleTimeMs = r.int32();
  const brokers = r.array(
    (r): MetadataBroker => ({
      nodeId: r.int32(),
      host: r.string(),
      port: r.int32(),
      rack: r.nullableString(),
    }),
  );
  const clusterId = r.nullableString();
  const controllerId = r.int32();
  const topics = r.array((r): MetadataTopic => {
    const errorCode = r.int16();
    const topic = r.string();
    const isInternal = r.bool();
    const partitions = r.array(
      (r): MetadataPartition => ({
        errorCode: r.int16(),
        partition: r.int32(),
        leaderId: r.int32(),
        leaderEpoch: version >= 7 ? r.int32() : -1,
        replicas: r.array((r) => r.int32()),
        isr: r.array((r) => r.int32()),
        offlineReplicas: version >= 5 ? r.array((r) => r.int32()) : [],
      }),
    );
    if (version >= 8) r.int32(); // topic_authorized_operations
    return { errorCode, topic, isInternal, partitions };
  });
  const clusterAuthorizedOperations = version >= 8 ? r.int32() : UNKNOWN_AUTHORIZED_OPERATIONS;
  return { throttleTimeMs, brokers, clusterId, controllerId, topics, clusterAuthorizedOperations };
}
