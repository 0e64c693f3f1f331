// Explicit-partition Fetch and idempotent Produce of raw record batches, with this package's own
// encoding and connections (TLS, SASL, version negotiation) on Node's sockets.
export { ApiKey, IsolationLevel } from "./api-keys";
// What the client's principal may do on the cluster, as the broker's authorizer says.
export {
  type ClusterOperationName,
  clusterAuthorizedOperations,
  decodeClusterOperations,
} from "./cluster-operations";
// Protocol codecs, for tests and tools that speak to brokers directly.
export {
  decodeFetchResponse,
  encodeFetchRequest,
  FETCH_VERSION,
  type FetchRequest,
  type FetchResponse,
  type FetchResponsePartition,
} from "./fetch-protocol";
export { createIdempotentProducer } from "./idempotent-producer";
export {
  isRetriableKafkaError,
  isStaleMetadataError,
  KafkaErrorCode,
  kafkaErrorName,
} from "./kafka-error-codes";
export {
  BrokerError,
  ConnectionError,
  DeliveryTimeoutError,
  type ErrorLocation,
  KafkaWireError,
  MalformedResponseError,
  OffsetOutOfRangeError,
  PartitionFailedError,
  type RecordErrorDetail,
  RecordRejectedError,
  RequestTimeoutError,
  UnsupportedVersionError,
  WireClosedError,
} from "./kafka-wire-error";
export {
  createKafkajsTransport,
  type KafkajsTransportOptions,
  PINNED_KAFKAJS_VERSION,
} from "./kafkajs-transport";
export { type LeaderLookup, MetadataCache, type MetadataCacheOptions } from "./metadata-cache";
export {
  commitGroupOffsets,
  fetchGroupOffsets,
  type GroupCommittedOffset,
  type GroupOffsetCommit,
  type GroupOffsetCommitResult,
} from "./offset-commit-protocol";
export {
  createPartitionFetcher,
  errorResult as failedFetchResult,
  type FetchCallOptions,
  type FetchPosition,
  type PartitionFetcher,
  type PartitionFetcherOptions,
  type PartitionFetchResult,
} from "./partition-fetcher";
export {
  decodeProduceResponse,
  encodeProduceRequest,
  type ProduceRequest,
  type ProduceResponse,
  type ProduceResponsePartition,
} from "./produce-protocol";
// The idempotent producer's types: that file holds nothing else.
export type * from "./produce-types";
export { incrementSequence } from "./producer-partition";
export {
  createSocketTransport,
  type SocketTransportOptions,
} from "./transport/socket-transport";
export {
  createWireClient,
  type IsolationLevelName,
  type KafkaWireClient,
  type ListedOffset,
  type ListOffsetsOptions,
  listOffsetsMany,
  type OffsetSpec,
  type WireClientOptions,
} from "./wire-client";
export { WireReader } from "./wire-reader";
export type { BrokerEndpoint, WireRequest, WireTransport } from "./wire-transport";
