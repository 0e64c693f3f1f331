interface Stoppable {
  stop(): Promise<void>;
}

const live = new Set<Stoppable>();

/** Remember a running cluster or Redis so stopAll() can reach it; returns the "forget" function. */
export function registerStoppable(resource: Stoppable): () => void {
  live.add(resource);
  return () => {
    live.delete(resource);
  };
}

/** Stop every Kafka cluster and Redis this process started and has not stopped yet. */
export async function stopAll(): Promise<void> {
  const resources = [...live];
  live.clear();
  const results = await Promise.allSettled(resources.map((resource) => resource.stop()));
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failures.length > 0) {
    throw new AggregateError(
      failures.map((f) => f.reason),
      `stopAll: ${failures.length} of ${resources.length} resources failed to stop`,
    );
  }
}
