export type { Redis } from "ioredis";
export {
  createRedisClient,
  describeRedisTarget,
  type RedisClientOptions,
  redisClientOptions,
} from "./create-redis-client";
export { defineScripts, type ScriptRunner } from "./define-scripts";
