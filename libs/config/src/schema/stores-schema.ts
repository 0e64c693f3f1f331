// `flowStore:` and `regionStore:`, where API-created flows and region states persist.
import { GEO_TOPICS } from "../topic-names";
import { clusterRef, type SchemaContext } from "./context";
import { requiredText, section } from "./fields";

// flowStore and regionStore: where API-created flows and region states persist

export function flowStoreSchema(context: SchemaContext) {
  const first = context.clusters === undefined ? undefined : [...context.clusters.keys()][0];
  return section({
    cluster: clusterRef(context)
      .optional()
      .describe("cluster of the flow history topic; default: the first cluster (name one)"),
    topic: requiredText().default(GEO_TOPICS.flows),
  })
    .transform((store) => ({ ...store, cluster: store.cluster ?? first ?? "" }))
    .prefault({});
}

export const regionStoreSchema = section({
  topic: requiredText()
    .default(GEO_TOPICS.regions)
    .describe("compacted topic in both clusters of each flow group"),
}).prefault({});
