export type { Admin, Kafka, KafkaConfig } from "kafkajs";
// ACL enums for admin.createAcls/describeAcls/deleteAcls, so services need not import kafkajs.
export {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  ResourcePatternTypes,
} from "kafkajs";
export { type ClusterAdmin, ClusterUnavailableError, createClusterAdmin } from "./cluster-admin";
export {
  createKafkaClient,
  type KafkaClientOptions,
  kafkaClientOptions,
} from "./create-kafka-client";
export { kafkaErrorType } from "./kafka-error-type";
export { fixKafkajsRequestQueue } from "./request-queue-fix";
