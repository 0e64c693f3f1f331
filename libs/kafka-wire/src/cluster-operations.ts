// What the client's principal may do on the cluster resource, as the broker's authorizer answers
// it (Metadata v8-v10's include_cluster_authorized_operations, KIP-430). Nothing is changed: the
// broker evaluates each operation against its ACLs (a super user, or a cluster without an
// authorizer, gets every one). A principal without DESCRIBE on the cluster gets an empty set.
import { ApiKey } from "./api-keys";
import { UnsupportedVersionError } from "./kafka-wire-error";
import {
  decodeMetadataResponse,
  encodeMetadataRequest,
  type MetadataResponse,
  UNKNOWN_AUTHORIZED_OPERATIONS,
} from "./metadata-protocol";
import type { WireRequest, WireTransport } from "./wire-transport";

/** Kafka's AclOperation codes that can apply to the cluster resource. */
export const ClusterOperation = {
  CREATE: 5,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
} as const;
export type ClusterOperationName = keyof typeof ClusterOperation;

/** The operations set in a cluster_authorized_operations bitfield; undefined when not computed. */
export function decodeClusterOperations(bits: number): ClusterOperationName[] | undefined {
  if (bits === UNKNOWN_AUTHORIZED_OPERATIONS) return undefined;
  return (Object.keys(ClusterOperation) as ClusterOperationName[]).filter(
    (name) => (bits & (1 << ClusterOperation[name])) !== 0,
  );
}

/**
 * The cluster operations the transport's principal is allowed; undefined when the broker does
 * not compute them (Metadata below v8, or v11+ only, which dropped the field).
 */
export async function clusterAuthorizedOperations(
  transport: WireTransport,
  timeoutMs?: number,
): Promise<ClusterOperationName[] | undefined> {
  const response = await transport.send(null, metadataAsking(timeoutMs)).catch((error) => {
    if (error instanceof UnsupportedVersionError) return undefined;
    throw error;
  });
  return response === undefined
    ? undefined
    : decodeClusterOperations(response.clusterAuthorizedOperations);
}

function metadataAsking(timeoutMs: number | undefined): WireRequest<MetadataResponse> {
  return {
    apiKey: ApiKey.Metadata,
    apiName: "Metadata",
    minVersion: 8,
    maxVersion: 8,
    encode: (v) =>
      encodeMetadataRequest(v, { topics: [], includeClusterAuthorizedOperations: true }),
    decode: (v, buf) => decodeMetadataResponse(v, buf),
    throttleTimeMs: (r) => r.throttleTimeMs,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  };
}
