export { createDiscovery, type DiscoveryOptions } from "./discovery";
export { INTERNAL_TOPICS, type InternalTopicSpec } from "./internal-topics";
export { EXCLUDED_TOPIC_CONFIGS } from "./topic-configs";
export {
  compareUnits,
  type DesiredUnit,
  type Discovery,
  type FlowDiscoveryStatus,
} from "./types";
