// kafkajs producers and consumers that follow a flow group's active region (geo.health.v1
// WatchRegionState): drain, switch bootstrap servers, resume from translated offsets.

export type { FollowingClient, FollowingClientOptions } from "./following-client";
export {
  type CommitTranslated,
  createFollowingConsumer,
  type FollowingConsumer,
  type FollowingConsumerOptions,
  type TranslateRequest,
} from "./following-consumer";
export {
  createFollowingProducer,
  type FollowingProducer,
  type FollowingProducerOptions,
  PRODUCER_CLOSED,
  PRODUCER_CLOSED_OUTCOME_UNKNOWN,
  REGION_SWITCHED_OUTCOME_UNKNOWN,
} from "./following-producer";
export { type OffsetsCommitterOptions, offsetsServiceCommitter } from "./offsets-committer";
export {
  createRegionFollower,
  type RegionEndpoint,
  type RegionFollower,
  type RegionFollowerOptions,
  type RegionView,
  type RegionViewListener,
  toView,
} from "./region-follower";
export type { KafkaConfigForRegion } from "./region-switch";
