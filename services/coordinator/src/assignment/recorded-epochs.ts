// The grant's minEpoch: the highest epoch each unit's progress records in its target cluster carry.
// Redis keeps nothing on disk on these machines; without this, a Redis that came back empty would
// hand out epochs an earlier owner already used, and a late write of that owner could not be told
// from the new owner's.
import type { FlowConfig, GeoConfig } from "@geo/config";
import { kafkaClientOptions } from "@geo/kafka";
import { createWireClient, type KafkaWireClient } from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import type { Epoch } from "@geo/positions";
import { highestEpochs } from "@geo/progress";
import type { DesiredUnit } from "../discovery";
import type { MinEpochOf } from "./assignment-loop";

export interface RecordedEpochs {
  readonly minEpochOf: MinEpochOf;
  close(): Promise<void>;
}

export function createRecordedEpochs(
  config: GeoConfig,
  logger: Logger,
  flows: () => readonly FlowConfig[] = () => config.flows,
): RecordedEpochs {
  const clients = new Map<string, KafkaWireClient>();
  const clientOf = (alias: string) => {
    let client = clients.get(alias);
    if (client === undefined) {
      const cluster = config.clusters[alias];
      if (cluster === undefined) throw new Error(`no cluster "${alias}" in the configuration`);
      client = createWireClient(
        kafkaClientOptions(cluster, { clientId: "geo-coordinator-epochs", logger }),
        { logger },
      );
      clients.set(alias, client);
    }
    return client;
  };
  return {
    minEpochOf: async (units: readonly DesiredUnit[]) => {
      const byTarget = new Map<string, DesiredUnit[]>();
      const targetOf = new Map(flows().map((flow) => [flow.name, flow.target]));
      for (const unit of units) {
        const target = targetOf.get(unit.flow);
        if (target === undefined) continue;
        byTarget.set(target, [...(byTarget.get(target) ?? []), unit]);
      }
      const epochs = new Map<string, Epoch>();
      for (const [target, list] of byTarget) {
        const found = await highestEpochs(
          clientOf(target),
          list.map(({ flow, sourceTopic, partition }) => ({ flow, sourceTopic, partition })),
          { loadTimeoutMs: 10_000, logger },
        );
        for (const [id, epoch] of found) epochs.set(id, epoch);
      }
      return epochs;
    },
    close: async () => {
      await Promise.all([...clients.values()].map((client) => client.close()));
      clients.clear();
    },
  };
}
