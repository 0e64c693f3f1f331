// The part of the runtime a service's entry point loads first: it must not load grpc-js, kafkajs or
// ioredis (directly or through another lib), so that telemetry can instrument them afterwards.
export {
  type BootServiceOptions,
  bootService,
  type RunningService,
  type ServiceContext,
  type ServiceName,
} from "./boot-service";
export { parseServiceArgs, type ServiceArgs, UsageError, usage } from "./parse-service-args";
