// The configuration file's schema, declared once: it validates the file (with the messages and
// field paths operators see), gives the TypeScript types (../geo-config.ts) and the JSON Schema
// editors use (config/geo.schema.json). One file per config area (*-schema.ts beside this one);
// rules that relate one area to another (overlapping flows, duplicate names, flow group pairs) are
// the named checks of ../flow-checks.ts and ../flow-groups.ts, and references to clusters and
// flows are checked through SchemaContext.
import { z } from "zod";
import { FLOW_LIMITS } from "../limits";
import { clustersSchema } from "./clusters-schema";
import type { SchemaContext } from "./context";
import { section } from "./fields";
import { flowGroupSchema } from "./flow-groups-schema";
import { flowSchema } from "./flows-schema";
import { grpcSchema } from "./grpc-schema";
import { redisSchema } from "./redis-schema";
import {
  discoverySchema,
  leasesSchema,
  loggingSchema,
  monitoringSchema,
  telemetrySchema,
} from "./runtime-schema";
import { servicesSchema } from "./services-schema";
import { flowStoreSchema, regionStoreSchema } from "./stores-schema";

export { DEFAULT_GROUP_EXCLUDES, flowListSchema, flowSchema } from "./flows-schema";
export { DEFAULT_PORTS } from "./services-schema";
export { flowGroupSchema };

/** Every top-level section, in the file's order. */
export function configSections(context: SchemaContext = {}) {
  return {
    clusters: clustersSchema(context),
    flows: z.array(flowSchema(context)).max(FLOW_LIMITS.maxFlows).default([]),
    flowStore: flowStoreSchema(context),
    flowGroups: z.array(flowGroupSchema(context)).default([]),
    regionStore: regionStoreSchema,
    redis: redisSchema(context),
    services: servicesSchema(context),
    leases: leasesSchema,
    discovery: discoverySchema,
    monitoring: monitoringSchema,
    logging: loggingSchema,
    telemetry: telemetrySchema,
    grpc: grpcSchema(context),
  };
}

/** The whole file (for the JSON Schema and the types; parseConfig checks it section by section). */
export function configSchema(context: SchemaContext = {}) {
  return section(configSections(context), { what: "the file" });
}
