// Sample traffic for the demo: an "orders" topic in us-east and a "payments" topic in eu-west
// (created beforehand), each written a few records a second, so both flows have something to carry.
import { fixKafkajsRequestQueue } from "@geo/kafka";
import { Kafka, logLevel } from "kafkajs";

export interface DemoTraffic {
  /** Records written per source topic so far. */
  written(): Record<string, number>;
  stop(): Promise<void>;
}

export async function startDemoTraffic(
  sources: { region: string; topic: string; bootstrapServers: string[] }[],
  recordsPerSecond = 20,
): Promise<DemoTraffic> {
  fixKafkajsRequestQueue();
  const counts: Record<string, number> = {};
  const producers = await Promise.all(
    sources.map(async ({ region, topic, bootstrapServers }) => {
      const kafka = new Kafka({
        clientId: "geo-demo",
        brokers: bootstrapServers,
        logLevel: logLevel.NOTHING,
      });
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({
        topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      await admin.disconnect();
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      counts[`${region}/${topic}`] = 0;
      return { region, topic, producer };
    }),
  );
  let sending = false;
  const timer = setInterval(() => {
    if (sending) return;
    sending = true;
    void Promise.all(
      producers.map(async ({ region, topic, producer }) => {
        const key = `${region}/${topic}`;
        const start = counts[key] ?? 0;
        const messages = Array.from({ length: recordsPerSecond }, (_, i) => ({
          key: `${topic}-${(start + i) % 100}`,
          value: JSON.stringify({ seq: start + i, region, at: new Date().toISOString() }),
          headers: { "demo-origin": region },
        }));
        await producer.send({ topic, acks: -1, messages });
        counts[key] = start + messages.length;
      }),
    )
      .catch(() => {})
      .finally(() => {
        sending = false;
      });
  }, 1000);
  return {
    written: () => ({ ...counts }),
    stop: async () => {
      clearInterval(timer);
      await Promise.all(producers.map(({ producer }) => producer.disconnect().catch(() => {})));
    },
  };
}
