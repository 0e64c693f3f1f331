export type { Admin, Kafka, KafkaConfig } from "kafkajs";
export { type ClusterAdmin, ClusterUnavailableError, createClusterAdmin } from "./cluster-admin";
export {
  createKafkaClient,
  type KafkaClientOptions,
  kafkaClientOptions,
} from "./create-kafka-client";
export { fixKafkajsRequestQueue } from "./request-queue-fix";
