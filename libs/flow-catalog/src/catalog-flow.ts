import {
  createTopicFilter,
  type FlowConfig,
  type NamingPolicy,
  remoteTopicName,
  type TopicFilterConfig,
} from "@geo/config";
import { type coordinatorV1, replicationV1 } from "@geo/proto";

/** A flow as services other than the coordinator need it: what it copies, from where to where. */
export interface CatalogFlow {
  readonly name: string;
  /** Alias of the source cluster. */
  readonly source: string;
  /** Alias of the target cluster. */
  readonly target: string;
  readonly topics: TopicFilterConfig;
  readonly naming: NamingPolicy;
  readonly provenanceHeader: boolean;
  readonly paused: boolean;
  /** The coordinator's version of the flow; 0 for a flow known only from the config file. */
  readonly version: bigint;
  /** Name of the copy of `sourceTopic` in the target cluster. */
  remoteTopic(sourceTopic: string): string;
  /** Whether the flow copies `sourceTopic` (filters, internal topics, loop prevention). */
  replicates(sourceTopic: string): boolean;
}

type FlowShape = Pick<
  FlowConfig,
  "name" | "source" | "target" | "topics" | "naming" | "provenanceHeader" | "paused"
>;

function catalogFlow(shape: FlowShape, version: bigint): CatalogFlow {
  const filter = createTopicFilter(shape);
  return {
    name: shape.name,
    source: shape.source,
    target: shape.target,
    topics: { include: [...shape.topics.include], exclude: [...shape.topics.exclude] },
    naming: shape.naming,
    provenanceHeader: shape.provenanceHeader,
    paused: shape.paused,
    version,
    remoteTopic: (sourceTopic) => remoteTopicName(shape, shape.source, sourceTopic),
    replicates: filter,
  };
}

/** A flow of the config file, before the coordinator has been heard from. */
export function flowFromConfig(flow: FlowConfig): CatalogFlow {
  return catalogFlow(flow, 0n);
}

/** A flow as the coordinator's ListFlows returns it. */
export function flowFromMessage(flow: coordinatorV1.Flow): CatalogFlow {
  return catalogFlow(
    {
      name: flow.name,
      source: flow.sourceCluster,
      target: flow.targetCluster,
      topics: { include: flow.topics?.include ?? [".*"], exclude: flow.topics?.exclude ?? [] },
      naming: flow.namingPolicy === replicationV1.NamingPolicy.IDENTITY ? "identity" : "prefix",
      provenanceHeader: flow.provenanceHeader,
      paused: flow.paused,
    },
    BigInt(flow.version || "0"),
  );
}
