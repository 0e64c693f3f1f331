/** Kafka API keys of the requests this package sends. */
export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  InitProducerId: 22,
} as const;

/** Fetch/ListOffsets isolation level field. */
export const IsolationLevel = {
  ReadUncommitted: 0,
  ReadCommitted: 1,
} as const;
export type IsolationLevel = (typeof IsolationLevel)[keyof typeof IsolationLevel];
