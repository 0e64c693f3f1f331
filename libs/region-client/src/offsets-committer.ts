// The default way a following consumer gets its offsets into the new region: the offsets
// service's CommitTranslatedOffsets over the flow from the old region's cluster to the new one,
// and, with to_origin over the flow back, the group's positions on remote topics home.
import { Code, createGrpcClient, GeoError, type GrpcClientOptions } from "@geo/grpc";
import { OffsetTranslationService, type offsetsV1 } from "@geo/proto";
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
  const actor = (groupId: string) => options.actor ?? `region-client:${groupId}`;
  const commit: CommitTranslated = async ({ groupId, from, to }) => {
    const answer = await client.commitTranslatedOffsets({
      flow: flowName(from.cluster, to.cluster),
      group: groupId,
      actor: actor(groupId),
    });
    requireTranslated(groupId, answer.offsets);
    // What the group read in `from` of `to`'s topics (remote copies over the flow `to`->`from`)
    // goes home to those topics in `to`, so it is neither read twice nor skipped.
    const home = await client
      .commitTranslatedOffsets({
        flow: flowName(to.cluster, from.cluster),
        group: groupId,
        actor: actor(groupId),
        toOrigin: true,
      })
      .catch((error: unknown) => {
        // No such flow, or the group never read its remote topics: nothing to bring home.
        if (GeoError.from(error).code === Code.NOT_FOUND) return { offsets: [] };
        throw error;
      });
    requireTranslated(groupId, home.offsets);
  };
  return Object.assign(commit, { close: () => client.close() });
}

/**
 * A partition whose commit is already ahead (the orchestrator committed it) is fine; one that
 * cannot be translated is not.
 */
function requireTranslated(groupId: string, offsets: readonly offsetsV1.CommittedOffset[]): void {
  const untranslated = offsets.filter((o) => !o.committed && o.translation?.exact === false);
  if (untranslated.length > 0) {
    throw new Error(
      `offsets of group ${groupId} not translatable: ${untranslated.map((o) => `${o.translation?.sourceTopic}/${o.translation?.partition}: ${o.reason}`).join("; ")}`,
    );
  }
}
