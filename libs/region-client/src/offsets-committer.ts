// The default way a following consumer gets its offsets into the new region: the offsets
// service's CommitTranslatedOffsets over the flow from the old region's cluster to the new one.
import { createGrpcClient, type GrpcClientOptions } from "@geo/grpc";
import { OffsetTranslationService } from "@geo/proto";
import type { CommitTranslated } from "./following-consumer";

export interface OffsetsCommitterOptions {
  /** `host:port` of the offsets service. */
  readonly offsetsAddress: string;
  /** The flow replicating `from` into `to`; default the config's default name `<from>-><to>`. */
  readonly flowName?: (fromCluster: string, toCluster: string) => string;
  readonly grpc?: Omit<GrpcClientOptions, "address">;
  /** Recorded as the actor of the commit. */
  readonly actor?: string;
}

export function offsetsServiceCommitter(
  options: OffsetsCommitterOptions,
): CommitTranslated & { close(): void } {
  const client = createGrpcClient(OffsetTranslationService, {
    ...options.grpc,
    address: options.offsetsAddress,
  });
  const flowName = options.flowName ?? ((from, to) => `${from}->${to}`);
  const commit: CommitTranslated = async ({ groupId, from, to }) => {
    const answer = await client.commitTranslatedOffsets({
      flow: flowName(from.cluster, to.cluster),
      group: groupId,
      actor: options.actor ?? `region-client:${groupId}`,
    });
    // A partition whose target commit is already ahead (the orchestrator committed it) is fine;
    // one that cannot be translated is not.
    const untranslated = answer.offsets.filter(
      (o) => !o.committed && o.translation?.exact === false,
    );
    if (untranslated.length > 0) {
      throw new Error(
        `offsets of group ${groupId} not translatable: ${untranslated.map((o) => `${o.translation?.sourceTopic}/${o.translation?.partition}: ${o.reason}`).join("; ")}`,
      );
    }
  };
  return Object.assign(commit, { close: () => client.close() });
}
