// Config → API views. Secrets stay in the config: a Cluster view names the security protocol and
// SASL mechanism, never credentials.

import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type ClusterConfig,
  DEFAULT_GROUP_EXCLUDES,
  type FlowConfig,
  type GeoConfig,
} from "@geo/config";
import type { coordinatorV1 } from "@geo/proto";
import { coordinatorV1 as api, replicationV1 } from "@geo/proto";

export function clusterView(
  cluster: ClusterConfig,
  flows: readonly FlowConfig[],
): MessageInitShape<typeof coordinatorV1.ClusterSchema> {
  const tls = cluster.tls?.enabled === true;
  const sasl = cluster.sasl !== undefined;
  return {
    alias: cluster.alias,
    region: cluster.region,
    bootstrapServers: [...cluster.bootstrapServers],
    securityProtocol: sasl
      ? tls
        ? api.SecurityProtocol.SASL_SSL
        : api.SecurityProtocol.SASL_PLAINTEXT
      : tls
        ? api.SecurityProtocol.SSL
        : api.SecurityProtocol.PLAINTEXT,
    saslMechanism: {
      none: api.SaslMechanism.UNSPECIFIED,
      plain: api.SaslMechanism.PLAIN,
      "scram-sha-256": api.SaslMechanism.SCRAM_SHA_256,
      "scram-sha-512": api.SaslMechanism.SCRAM_SHA_512,
    }[cluster.sasl?.mechanism ?? "none"],
    sourceFlowCount: flows.filter((flow) => flow.source === cluster.alias).length,
    targetFlowCount: flows.filter((flow) => flow.target === cluster.alias).length,
  };
}

/** A flow defined in the config file; the file owns it, so the view names the file. */
export function fileFlowView(
  flow: FlowConfig,
  configPath: string,
): MessageInitShape<typeof coordinatorV1.FlowSchema> {
  return {
    name: flow.name,
    sourceCluster: flow.source,
    targetCluster: flow.target,
    topics: { include: [...flow.topics.include], exclude: [...flow.topics.exclude] },
    namingPolicy:
      flow.naming === "identity"
        ? replicationV1.NamingPolicy.IDENTITY
        : replicationV1.NamingPolicy.PREFIX,
    provenanceHeader: flow.provenanceHeader,
    startPosition:
      flow.startFrom === "latest"
        ? replicationV1.StartPosition.LATEST
        : replicationV1.StartPosition.EARLIEST,
    onOffsetOutOfRange: {
      fail: replicationV1.OffsetOutOfRangePolicy.FAIL,
      earliest: replicationV1.OffsetOutOfRangePolicy.RESET_EARLIEST,
      latest: replicationV1.OffsetOutOfRangePolicy.RESET_LATEST,
    }[flow.onOffsetOutOfRange],
    paused: flow.paused,
    // Records written before these options existed carry neither: show the defaults they mean.
    groups: {
      include: [...(flow.groups?.include ?? [".*"])],
      exclude: [...(flow.groups?.exclude ?? DEFAULT_GROUP_EXCLUDES)],
    },
    syncGroupOffsets: flow.syncGroupOffsets ?? true,
    owner: { owner: { case: "file", value: { path: configPath } } },
  };
}

export function sortedClusters(config: GeoConfig): ClusterConfig[] {
  return Object.values(config.clusters).sort((a, b) => a.alias.localeCompare(b.alias));
}
