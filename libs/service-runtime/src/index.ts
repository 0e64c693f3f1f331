export * from "./boot";
export {
  type ClusterAdminLike,
  type DependencyProbe,
  kafkaClusterProbe,
  type RedisLike,
  redisProbe,
} from "./dependency-probes";
export { grpcClientOptions, grpcServerSecurity } from "./grpc-security";
export { reachableAddress } from "./reachable-address";
export { type ServedService, type ServeServiceOptions, serveService } from "./serve-service";
