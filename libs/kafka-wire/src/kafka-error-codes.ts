/**
 * Kafka protocol error codes this package meets, with the retriability Kafka's own
 * `Errors.java` gives them (a `RetriableException` subclass or not). Codes outside the
 * table are named `KAFKA_ERROR_<code>` and treated as not retriable.
 */
export const KafkaErrorCode = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_FETCH_SIZE: 4,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  BROKER_NOT_AVAILABLE: 8,
  REPLICA_NOT_AVAILABLE: 9,
  MESSAGE_TOO_LARGE: 10,
  NETWORK_EXCEPTION: 13,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  NOT_ENOUGH_REPLICAS: 19,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  INVALID_REQUIRED_ACKS: 21,
  TOPIC_AUTHORIZATION_FAILED: 29,
  CLUSTER_AUTHORIZATION_FAILED: 31,
  INVALID_TIMESTAMP: 32,
  UNSUPPORTED_VERSION: 35,
  NOT_CONTROLLER: 41,
  INVALID_REQUEST: 42,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  POLICY_VIOLATION: 44,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_TXN_STATE: 48,
  INVALID_PRODUCER_ID_MAPPING: 49,
  CONCURRENT_TRANSACTIONS: 51,
  KAFKA_STORAGE_ERROR: 56,
  SASL_AUTHENTICATION_FAILED: 58,
  UNKNOWN_PRODUCER_ID: 59,
  FETCH_SESSION_ID_NOT_FOUND: 70,
  INVALID_FETCH_SESSION_EPOCH: 71,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  OFFSET_NOT_AVAILABLE: 78,
  PREFERRED_LEADER_NOT_AVAILABLE: 80,
  INVALID_RECORD: 87,
  THROTTLING_QUOTA_EXCEEDED: 89,
  PRODUCER_FENCED: 90,
  UNKNOWN_TOPIC_ID: 100,
} as const;

const RETRIABLE = new Set<number>([
  KafkaErrorCode.CORRUPT_MESSAGE,
  KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  KafkaErrorCode.LEADER_NOT_AVAILABLE,
  KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
  KafkaErrorCode.REQUEST_TIMED_OUT,
  KafkaErrorCode.REPLICA_NOT_AVAILABLE,
  KafkaErrorCode.NETWORK_EXCEPTION,
  KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  KafkaErrorCode.COORDINATOR_NOT_AVAILABLE,
  KafkaErrorCode.NOT_COORDINATOR,
  KafkaErrorCode.NOT_ENOUGH_REPLICAS,
  KafkaErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  KafkaErrorCode.NOT_CONTROLLER,
  KafkaErrorCode.CONCURRENT_TRANSACTIONS,
  KafkaErrorCode.KAFKA_STORAGE_ERROR,
  KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND,
  KafkaErrorCode.INVALID_FETCH_SESSION_EPOCH,
  KafkaErrorCode.FENCED_LEADER_EPOCH,
  KafkaErrorCode.UNKNOWN_LEADER_EPOCH,
  KafkaErrorCode.OFFSET_NOT_AVAILABLE,
  KafkaErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
  KafkaErrorCode.THROTTLING_QUOTA_EXCEEDED,
  KafkaErrorCode.UNKNOWN_TOPIC_ID,
]);

const NAMES = new Map<number, string>(
  Object.entries(KafkaErrorCode).map(([name, code]) => [code, name]),
);

/** Kafka's name for a protocol error code, e.g. 6 → `NOT_LEADER_OR_FOLLOWER`. */
export function kafkaErrorName(code: number): string {
  return NAMES.get(code) ?? `KAFKA_ERROR_${code}`;
}

/** Whether Kafka marks the error retriable. */
export function isRetriableKafkaError(code: number): boolean {
  return RETRIABLE.has(code);
}

/**
 * Errors after which the client's view of partition leadership is likely stale, so
 * metadata for the topic is refreshed before the next request.
 */
export function isStaleMetadataError(code: number): boolean {
  return (
    code === KafkaErrorCode.NOT_LEADER_OR_FOLLOWER ||
    code === KafkaErrorCode.LEADER_NOT_AVAILABLE ||
    code === KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION ||
    code === KafkaErrorCode.FENCED_LEADER_EPOCH ||
    code === KafkaErrorCode.UNKNOWN_LEADER_EPOCH ||
    code === KafkaErrorCode.REPLICA_NOT_AVAILABLE ||
    code === KafkaErrorCode.KAFKA_STORAGE_ERROR ||
    code === KafkaErrorCode.UNKNOWN_TOPIC_ID ||
    code === KafkaErrorCode.OFFSET_NOT_AVAILABLE
  );
}
