import type { Admin, ITopicConfig } from "kafkajs";

/**
 * Creates topics and waits until every partition has a leader. kafkajs's own wait gives up after
 * a few seconds with a retriable UNKNOWN_TOPIC_OR_PARTITION when the machine is busy (several
 * brokers and services on two cores, as in CI), so this retries and then polls the metadata.
 */
export async function createTopicsAndWaitForLeaders(
  admin: Admin,
  topics: ITopicConfig[],
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.createTopics({ topics, waitForLeaders: true });
      break;
    } catch (error) {
      if ((error as { retriable?: boolean }).retriable !== true || Date.now() > deadline)
        throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 250 * attempt)));
    }
  }
  // A retried create finds the topics existing and returns without waiting for their leaders.
  const names = topics.map((topic) => topic.topic);
  for (;;) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics: names });
      if (found.every((topic) => topic.partitions.every((partition) => partition.leader >= 0)))
        return;
    } catch (error) {
      if ((error as { retriable?: boolean }).retriable !== true) throw error;
    }
    if (Date.now() > deadline)
      throw new Error(`topics ${names.join(", ")} have no leaders after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
