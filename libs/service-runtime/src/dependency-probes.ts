// Probes of what a service depends on, for its grpc.health.v1 status. They take the clients the
// service already holds (typed structurally), so this module loads neither kafkajs nor ioredis.

export interface DependencyProbe {
  /** Shown in health details and logs, e.g. "kafka:us-east" or "redis". */
  readonly name: string;
  /** Resolves when the dependency answers; rejects with the reason when it does not. */
  check(): Promise<void>;
}

/** What the Kafka probe needs of @geo/kafka's ClusterAdmin. */
export interface ClusterAdminLike {
  readonly alias: string;
  use<T>(
    action: (admin: { describeCluster(): Promise<{ brokers: readonly unknown[] }> }) => Promise<T>,
    timeoutMs?: number,
  ): Promise<T>;
}

export interface RedisLike {
  ping(): Promise<string>;
}

/** Kafka answers when a metadata request lists at least one broker within the timeout. */
export function kafkaClusterProbe(cluster: ClusterAdminLike, timeoutMs = 3000): DependencyProbe {
  return {
    name: `kafka:${cluster.alias}`,
    check: async () => {
      const { brokers } = await cluster.use((admin) => admin.describeCluster(), timeoutMs);
      if (brokers.length === 0) throw new Error(`cluster ${cluster.alias} reports no broker`);
    },
  };
}

/** Redis answers when PING gets PONG within the timeout. */
export function redisProbe(redis: RedisLike, timeoutMs = 2000): DependencyProbe {
  return {
    name: "redis",
    check: async () => {
      const answer = await withTimeout(redis.ping(), timeoutMs, "redis");
      if (answer !== "PONG") throw new Error(`redis answered PING with ${answer}`);
    },
  };
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
