// The demo's active-passive pair: flow group "inventory" of us-east and ap-south. Its flows are
// made through the coordinator's admin API (a switchover pauses and resumes flows, which file
// flows do not allow): us-east->ap-south running, ap-south->us-east paused until a transition
// reverses the pair. A producer and a consumer of group "inventory-reader" follow the active
// region through @geo/region-client, and every record carries a sequence number so the demo can
// show that each one was read exactly once, whichever region it was written to and read from.
import { createBackoff, sleep } from "@geo/backoff";
import { Code, createGrpcClient, GeoError, type GrpcClientOptions } from "@geo/grpc";
import { CoordinatorService } from "@geo/proto";
import {
  createFollowingConsumer,
  createFollowingProducer,
  createRegionFollower,
  offsetsServiceCommitter,
  type RegionFollower,
} from "@geo/region-client";

export const INVENTORY = {
  flowGroup: "inventory",
  topic: "inventory",
  consumerGroup: "inventory-reader",
  active: "us-east",
  passive: "ap-south",
} as const;

const RECORDS_PER_SECOND = 10;

export interface InventoryStats {
  /** Records acknowledged to the producer. */
  readonly written: number;
  /** Distinct records the consumer handled. */
  readonly readOnce: number;
  /** Records the consumer handled a second (or later) time. */
  readonly duplicates: number;
  readonly producerRegion: string | undefined;
  readonly consumerRegion: string | undefined;
  /** Where the first records read twice were read the second time, for the drill's report. */
  readonly duplicateExamples: readonly string[];
}

export interface InventoryPair {
  readonly follower: RegionFollower;
  stats(): InventoryStats;
  /** Sequence numbers below `end` the consumer has not handled. */
  missingBelow(end: number): number;
  stop(): Promise<void>;
}

export interface InventoryOptions {
  readonly coordinator: string;
  readonly health: string;
  readonly offsets: string;
  /** Credentials of the demo's calls (the admin certificate). */
  readonly grpc: Omit<GrpcClientOptions, "address">;
}

/**
 * Retries `call` while the coordinators answer UNAVAILABLE: right after start, none leads yet
 * (its election takes a moment), and only the leader changes flows. Gives up after a minute.
 */
async function whileNoLeader<T>(call: () => Promise<T>): Promise<T> {
  const backoff = createBackoff({ initialMs: 250, maxMs: 2000 });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (GeoError.from(error).code !== Code.UNAVAILABLE || Date.now() > deadline) throw error;
      await sleep(backoff.next());
    }
  }
}

/** Creates the pair's API flows; an existing flow of the same name (a restarted demo) is kept. */
async function createPairFlows(options: InventoryOptions): Promise<void> {
  const coordinator = createGrpcClient(CoordinatorService, {
    ...options.grpc,
    address: options.coordinator,
  });
  const flow = (source: string, target: string) => ({
    name: `${source}->${target}`,
    sourceCluster: source,
    targetCluster: target,
    topics: { include: [INVENTORY.topic] },
  });
  try {
    for (const [definition, paused] of [
      [flow(INVENTORY.active, INVENTORY.passive), false],
      [flow(INVENTORY.passive, INVENTORY.active), true],
    ] as const) {
      await whileNoLeader(() =>
        coordinator
          .createFlow({ flow: definition, actor: "demo" }, { timeoutMs: 15_000 })
          .catch((error: unknown) => {
            if (GeoError.from(error).code !== Code.ALREADY_EXISTS) throw error;
          }),
      );
      // CreateFlow starts a flow running; the passive side's flow waits for a transition.
      if (paused) {
        await whileNoLeader(() =>
          coordinator.pauseFlow(
            { name: definition.name, actor: "demo", reason: "passive until a transition" },
            { timeoutMs: 15_000 },
          ),
        );
      }
    }
  } finally {
    coordinator.close();
  }
}

/** Remote topics with prefix naming: what a region holds of the pair's topic. */
function topicsIn(region: string): string[] {
  const other = region === INVENTORY.active ? INVENTORY.passive : INVENTORY.active;
  return [INVENTORY.topic, `${other}.${INVENTORY.topic}`];
}

export async function startInventoryPair(options: InventoryOptions): Promise<InventoryPair> {
  await createPairFlows(options);
  const follower = createRegionFollower({
    healthAddress: options.health,
    flowGroup: INVENTORY.flowGroup,
    grpc: options.grpc,
  });
  await follower.ready();
  const producer = createFollowingProducer({ follower, clientId: "demo-inventory" });
  /** Where each sequence number was first read. */
  const seen = new Map<number, string>();
  let duplicates = 0;
  const duplicateExamples: string[] = [];
  const committer = offsetsServiceCommitter({
    offsetsAddress: options.offsets,
    grpc: options.grpc,
    actor: "demo",
  });
  const consumer = createFollowingConsumer({
    follower,
    groupId: INVENTORY.consumerGroup,
    topics: topicsIn,
    commitTranslated: committer,
    clientId: "demo-inventory",
    eachMessage: async ({ message, region, topic, partition }) => {
      const seq = Number(JSON.parse(message.value?.toString() ?? "{}").seq);
      const where = `${region} ${topic}/${partition}@${message.offset}`;
      const first = seen.get(seq);
      if (first === undefined) seen.set(seq, where);
      else if (++duplicates <= 5) duplicateExamples.push(`seq ${seq}: ${first}, again ${where}`);
    },
  });
  await Promise.all([producer.start(), consumer.start()]);
  let written = 0;
  let stopped = false;
  // One send at a time: the sequence is the order of acknowledgement, and a send held during a
  // transition holds the rest, as an application waiting on its producer would.
  const writing = (async () => {
    while (!stopped) {
      const batch = Array.from({ length: RECORDS_PER_SECOND / 5 }, (_, i) => written + i);
      await producer
        .send({
          topic: INVENTORY.topic,
          acks: -1,
          messages: batch.map((seq) => ({
            key: `item-${seq % 50}`,
            value: JSON.stringify({ seq, at: new Date().toISOString() }),
          })),
        })
        .then(() => {
          written += batch.length;
        })
        .catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  return {
    follower,
    stats: () => ({
      written,
      readOnce: seen.size,
      duplicates,
      producerRegion: producer.region(),
      consumerRegion: consumer.region(),
      duplicateExamples: [...duplicateExamples],
    }),
    missingBelow: (end) => {
      let missing = 0;
      for (let seq = 0; seq < end; seq++) if (!seen.has(seq)) missing += 1;
      return missing;
    },
    stop: async () => {
      stopped = true;
      await writing;
      await Promise.allSettled([producer.close(), consumer.close()]);
      committer.close();
      await follower.close();
    },
  };
}
