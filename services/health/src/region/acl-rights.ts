// Whether the health service may change a cluster's ACLs (ALTER on the cluster resource, which
// CreateAcls and DeleteAcls need), asked without changing anything: the broker's authorizer
// answers the operations the principal is allowed on the cluster (Metadata v8's
// include_cluster_authorized_operations). A drill asks before a transition would need it.
import type { ClusterConfig } from "@geo/config";
import { kafkaClientOptions } from "@geo/kafka";
import { clusterAuthorizedOperations, createWireClient } from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import type { AclRights } from "./dependencies";

/** A fresh connection per question: drills are rare, and a kept one would hold a socket open. */
export function createAclRights(
  clusterOf: (alias: string) => ClusterConfig,
  logger: Logger,
  timeoutMs = 10_000,
): (cluster: string) => Promise<AclRights | undefined> {
  return async (alias) => {
    const cluster = clusterOf(alias);
    const wire = createWireClient(
      kafkaClientOptions(cluster, {
        clientId: "geo-health-acl-rights",
        logger,
        connectionTimeoutMs: Math.min(timeoutMs, 3000),
        requestTimeoutMs: timeoutMs,
      }),
      { logger, requestTimeoutMs: timeoutMs },
    );
    try {
      const operations = await clusterAuthorizedOperations(wire.transport, timeoutMs);
      if (operations === undefined) return undefined;
      return {
        alter: operations.includes("ALTER"),
        principal: cluster.sasl === undefined ? undefined : `User:${cluster.sasl.username}`,
        bootstrapServers: cluster.bootstrapServers,
      };
    } finally {
      await wire.close();
    }
  };
}
