// What the replication benchmarks share: two local clusters, topics pre-loaded by Kafka's own
// producer, the replicating engine in a process of its own (bench/src/replication-agent.ts), and a
// live phase that measures latency record by record.
import { type ChildProcess, fork, spawnSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import type { ClusterConfig } from "@geo/config";
import {
  createIdempotentProducer,
  createPartitionFetcher,
  createWireClient,
  type FetchPosition,
  type KafkaWireClient,
  type PartitionFetcher,
} from "@geo/kafka-wire";
import { type KafkaCluster, runKafkaTool, startKafkaClusters } from "@geo/local-runtime";
import { CompressionType } from "@geo/record-batch";
import type { ReplicationEngineOptions } from "@geo/replication";

const RECORD_BYTES = 1024;

/** The source and target cluster, one broker each, as `npm run bench -- replication` uses them. */
export function startClusters(): Promise<KafkaCluster[]> {
  return startKafkaClusters(["bench-src", "bench-dst"], { heapMb: 768 });
}

export async function createTopic(
  cluster: KafkaCluster,
  topic: string,
  partitions: number,
): Promise<void> {
  const r = await runKafkaTool(cluster, "topics", [
    "--create",
    "--topic",
    topic,
    "--partitions",
    String(partitions),
  ]);
  if (r.code !== 0) throw new Error(r.stderr);
}

export async function deleteTopic(cluster: KafkaCluster, topic: string): Promise<void> {
  const r = await runKafkaTool(cluster, "topics", ["--delete", "--topic", topic]);
  if (r.code !== 0) throw new Error(r.stderr);
}

export interface PreloadOptions {
  records: number;
  compression: string;
  /** The Java producer's batch.size: the source batches are what the agent forwards. */
  batchBytes: number;
}

/** Fills `topic` with 1 KiB records from Kafka's ProducerPerformance (acks=all, as fast as it goes). */
export async function preload(
  cluster: KafkaCluster,
  topic: string,
  options: PreloadOptions,
): Promise<{ seconds: number }> {
  const t0 = performance.now();
  const perf = await runKafkaTool(
    cluster,
    "producer-perf",
    [
      "--topic",
      topic,
      "--num-records",
      String(options.records),
      "--record-size",
      String(RECORD_BYTES),
      "--throughput",
      "-1",
      "--producer-props",
      `bootstrap.servers=${cluster.bootstrapServers.join(",")}`,
      "acks=all",
      `batch.size=${options.batchBytes}`,
      "linger.ms=5",
      `compression.type=${options.compression}`,
    ],
    { timeoutMs: 900_000 },
  );
  if (perf.code !== 0) throw new Error(perf.stderr);
  return { seconds: (performance.now() - t0) / 1000 };
}

/** Latest offset of each partition (a batch that producer-perf gave up on is not there). */
export async function endOffsets(
  cluster: KafkaCluster,
  topic: string,
  partitions: number,
): Promise<bigint[]> {
  const client = createWireClient({
    clientId: "bench",
    brokers: cluster.bootstrapServers,
    logLevel: 0,
  });
  try {
    const ends = await client.listOffsets(topic, [...Array(partitions).keys()], "latest");
    const byPartition = new Map(ends.map((o) => [o.partition, o.offset]));
    return [...Array(partitions).keys()].map((p) => byPartition.get(p) ?? 0n);
  } finally {
    await client.close();
  }
}

/** Every source record once in the target, no more: figures of a run that lost or repeated are void. */
export async function checkCopied(
  source: KafkaCluster,
  topic: string,
  target: KafkaCluster,
  remoteTopic: string,
  partitions: number,
): Promise<void> {
  const [from, to] = await Promise.all([
    endOffsets(source, topic, partitions),
    endOffsets(target, remoteTopic, partitions),
  ]);
  const p = from.findIndex((o, i) => o !== to[i]);
  if (p >= 0) {
    throw new Error(`${remoteTopic} partition ${p} holds ${to[p]} records, the source ${from[p]}`);
  }
}

function clusterConfig(alias: string, cluster: KafkaCluster): ClusterConfig {
  return { alias, region: alias, bootstrapServers: cluster.bootstrapServers };
}

/** The engine's knobs the benchmarks vary (everything else stays at the engine's defaults). */
export type EngineTuning = Pick<
  ReplicationEngineOptions,
  | "maxBufferedBytes"
  | "maxUnitBufferedBytes"
  | "partitionMaxBytes"
  | "maxInFlightPerPartition"
  | "maxProduceRequestBytes"
>;

/** What the parent tells a replication-agent process to do. */
export interface AgentInit {
  type: "init";
  agentId: string;
  clusters: Record<string, ClusterConfig>;
  flowName: string;
  sourceTopic: string;
  remoteTopic: string;
  provenanceHeader: boolean;
  /** Source partition -> offset the agent has caught up at. */
  until: Array<[partition: number, offset: bigint]>;
  tuning: EngineTuning;
  /** Sample the process's memory and the engine's buffered bytes this often while it copies. */
  sampleMemoryMs?: number;
  /** Write a heap snapshot (into the temp folder) once this share of the backlog is copied. */
  heapSnapshotAt?: number;
}

/** The agent process's memory while it copied the backlog (sampled), and when it caught up. */
export interface MemorySummary {
  samples: number;
  rssMedianBytes: number;
  rssMaxBytes: number;
  heapUsedMedianBytes: number;
  heapUsedMaxBytes: number;
  /** Buffers outside the V8 heap (fetched and produced batches). */
  arrayBuffersMaxBytes: number;
  /** The engine's own count: fetched and not yet acknowledged by the target. */
  bufferedMaxBytes: number;
  /** 2 s after caught-up, after a full garbage collection when the process runs with --expose-gc. */
  rssAfterBytes: number;
  heapUsedAfterBytes: number;
  arrayBuffersAfterBytes: number;
  /** Where the heap snapshot went, when one was asked for. */
  heapSnapshot?: string;
}

/** Where an agent process stands; CPU and RSS are its own, from the moment it got `init`. */
export interface AgentSnapshot {
  cpuSeconds: number;
  peakRssBytes: number;
}

export type AgentMessage =
  | ({
      type: "caught-up";
      /** From assign to the last acknowledgement. */
      seconds: number;
      /** Of which until assign resolved: progress read, limits checked, first progress written. */
      startSeconds: number;
      /** When init asked for samples. */
      memory?: MemorySummary;
    } & AgentSnapshot)
  | ({ type: "snapshot" } & AgentSnapshot)
  | ({ type: "stopped" } & AgentSnapshot)
  | { type: "error"; message: string };

export type AgentRequest = AgentInit | { type: "snapshot" } | { type: "stop" };

/** A replication-agent process and the next messages it sends. */
export class AgentProcess {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<string, (m: AgentMessage) => void>();
  private readonly arrived = new Map<string, AgentMessage>();
  private failure: Error | null = null;
  private failed: (e: Error) => void = () => {};
  private readonly failedPromise: Promise<never>;

  constructor(init: AgentInit, execArgv: readonly string[] = []) {
    this.failedPromise = new Promise<never>((_, reject) => {
      this.failed = reject;
    });
    this.failedPromise.catch(() => {});
    // Advanced serialization: offsets are bigints.
    this.child = fork(join(__dirname, "replication-agent.js"), [], {
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      execArgv: [...process.execArgv, ...execArgv],
    });
    this.child.on("message", (m: AgentMessage) => {
      if (m.type === "error") {
        this.fail(new Error(`replication agent ${init.agentId}: ${m.message}`));
        return;
      }
      const w = this.waiting.get(m.type);
      this.waiting.delete(m.type);
      if (w === undefined) this.arrived.set(m.type, m);
      else w(m);
    });
    this.child.on("exit", (code, signal) => {
      this.fail(new Error(`replication agent ${init.agentId} exited (${signal ?? code})`));
    });
    this.send(init);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.failed(this.failure);
  }

  private send(m: AgentRequest): void {
    this.child.send(m);
  }

  next<T extends AgentMessage["type"]>(type: T): Promise<Extract<AgentMessage, { type: T }>> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const early = this.arrived.get(type);
    this.arrived.delete(type);
    const message = new Promise<Extract<AgentMessage, { type: T }>>((resolve) => {
      if (early !== undefined) resolve(early as Extract<AgentMessage, { type: T }>);
      else this.waiting.set(type, resolve as (m: AgentMessage) => void);
    });
    return Promise.race([message, this.failedPromise]);
  }

  snapshot(): Promise<AgentSnapshot> {
    const reply = this.next("snapshot");
    this.send({ type: "snapshot" });
    return reply;
  }

  /** Closes the engine gracefully and waits for the process to exit. */
  async stop(): Promise<AgentSnapshot> {
    const reply = this.next("stopped");
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.send({ type: "stop" });
    const last = await reply;
    await exited;
    return last;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

export interface AgentsOptions {
  source: KafkaCluster;
  target: KafkaCluster;
  sourceTopic: string;
  remoteTopic: string;
  flowName: string;
  /** End offset of every source partition: where the agents have caught up. */
  until: bigint[];
  provenanceHeader: boolean;
  tuning: EngineTuning;
  /** Agent processes; partitions are dealt to them in turn. */
  count: number;
  sampleMemoryMs?: number;
  heapSnapshotAt?: number;
  /** Node flags of the agent processes (e.g. --expose-gc). */
  execArgv?: readonly string[];
}

export type CaughtUp = Extract<AgentMessage, { type: "caught-up" }>;

/** Starts agent processes on a backlog and waits until each has caught up (killed on failure). */
/** Kafka's producer default: the batches the agent forwards are what a default producer writes. */
export const SOURCE_BATCH_BYTES = 16_384;
/** The topic replicated once before measuring: freshly started brokers copy at half speed. */
export const WARMUP_TOPIC = "warmup";

export async function startAgents(
  options: AgentsOptions,
): Promise<{ agents: AgentProcess[]; caughtUp: CaughtUp[] }> {
  const clusters = {
    src: clusterConfig("src", options.source),
    dst: clusterConfig("dst", options.target),
  };
  const agents = Array.from(
    { length: options.count },
    (_, k) =>
      new AgentProcess(
        {
          type: "init",
          agentId: `${options.flowName}-${k}`,
          clusters,
          flowName: options.flowName,
          sourceTopic: options.sourceTopic,
          remoteTopic: options.remoteTopic,
          provenanceHeader: options.provenanceHeader,
          until: options.until
            .map((offset, partition): [number, bigint] => [partition, offset])
            .filter(([partition]) => partition % options.count === k),
          tuning: options.tuning,
          ...(options.sampleMemoryMs === undefined
            ? {}
            : { sampleMemoryMs: options.sampleMemoryMs }),
          ...(options.heapSnapshotAt === undefined
            ? {}
            : { heapSnapshotAt: options.heapSnapshotAt }),
        },
        options.execArgv,
      ),
  );
  try {
    return { agents, caughtUp: await Promise.all(agents.map((a) => a.next("caught-up"))) };
  } catch (e) {
    for (const a of agents) a.kill();
    throw e;
  }
}

/** Writes dirty pages out, so that a run does not pay for the previous one's writeback. */
export function flushPageCache(): void {
  spawnSync("sync");
}

export interface LiveOptions {
  source: KafkaCluster;
  target: KafkaCluster;
  sourceTopic: string;
  remoteTopic: string;
  partitions: number;
  recordsPerSecond: number;
  seconds: number;
  /** Records produced in the first seconds are replicated but not counted (connections, JIT). */
  warmupSeconds: number;
  compression: string;
}

export interface LiveResult {
  produced: number;
  /** Records counted (produced after the warm-up). */
  measured: number;
  /** Readable in the source → readable in the target. */
  replication: Quantiles;
  /** CreateTime → readable in the target. */
  endToEnd: Quantiles;
}

export interface Quantiles {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const LIVE_TICK_MS = 10;
/** What fits a 16 KiB batch (Kafka's default batch.size) of 1 KiB records. */
const LIVE_BATCH_RECORDS = 15;
const CODECS: Record<string, number> = {
  none: CompressionType.None,
  gzip: CompressionType.Gzip,
  snappy: CompressionType.Snappy,
  lz4: CompressionType.Lz4,
  zstd: CompressionType.Zstd,
};

/** A consumer that notes when each new record of a topic became readable to it. */
class Follower {
  /** Per partition: offset → [time the fetch that brought it returned, CreateTime]. */
  readonly seen: Map<number, [number, number]>[];
  received = 0;
  private readonly positions: FetchPosition[];

  private constructor(
    private readonly client: KafkaWireClient,
    private readonly fetcher: PartitionFetcher,
    readonly starts: bigint[],
    topic: string,
  ) {
    this.seen = starts.map(() => new Map());
    this.positions = starts.map((offset, partition) => ({ topic, partition, offset }));
  }

  static async open(cluster: KafkaCluster, topic: string, partitions: number): Promise<Follower> {
    const client = createWireClient({
      clientId: `bench-follow-${topic}`,
      brokers: cluster.bootstrapServers,
      logLevel: 0,
    });
    // Long polls end as soon as a record arrives (minBytes 1); the wait only bounds idle fetches.
    const fetcher = createPartitionFetcher(client, { maxWaitMs: 100 });
    const ends = await fetcher.listOffsets(topic, [...Array(partitions).keys()], "latest");
    const starts = ends.sort((a, b) => a.partition - b.partition).map((e) => e.offset);
    return new Follower(client, fetcher, starts, topic);
  }

  async run(more: () => boolean): Promise<void> {
    while (more()) {
      const results = await this.fetcher.fetch(this.positions);
      const now = Date.now();
      results.forEach((r, i) => {
        if (r.error !== null) throw r.error;
        this.positions[i]!.offset = r.nextOffset;
        const seen = this.seen[r.partition]!;
        for (const batch of r.batches) {
          for (const record of batch.records()) {
            seen.set(Number(record.offset), [now, Number(record.timestamp)]);
            this.received++;
          }
        }
      });
    }
  }

  async close(): Promise<void> {
    await this.fetcher.close();
    await this.client.close();
  }
}

/**
 * Steady-state latency while an agent replicates: records produced into the source at a fixed
 * rate, each stamped (CreateTime) just before its Produce request, in batches of a default
 * producer's size, and read back by one consumer of the source topic and one of the target topic.
 * A record's replication latency is the time it became readable in the target minus the time it
 * became readable in the source (consumer overheads cancel out); its end-to-end latency is the
 * time it became readable in the target minus its CreateTime.
 */
export async function measureLiveLatency(options: LiveOptions): Promise<LiveResult> {
  const codec = CODECS[options.compression];
  if (codec === undefined) throw new Error(`unknown compression "${options.compression}"`);
  const client = createWireClient({
    clientId: "bench-live-producer",
    brokers: options.source.bootstrapServers,
    logLevel: 0,
  });
  const producer = createIdempotentProducer(client);
  const followers: Follower[] = [];
  try {
    await producer.init();
    followers.push(await Follower.open(options.source, options.sourceTopic, options.partitions));
    followers.push(await Follower.open(options.target, options.remoteTopic, options.partitions));
    const [source, target] = followers as [Follower, Follower];
    // Target offsets are then source offsets: the agent wrote every earlier record exactly once.
    if (source.starts.some((o, p) => o !== target.starts[p])) {
      throw new Error(
        `live phase: the target is not caught up (${target.starts} vs ${source.starts})`,
      );
    }
    const value = Buffer.alloc(RECORD_BYTES, "x");
    const t0 = Date.now();
    const measureFrom = t0 + options.warmupSeconds * 1000;
    const produceUntil = t0 + options.seconds * 1000;
    let produced = 0;
    let nextPartition = 0;
    const sends: Promise<unknown>[] = [];
    let producing = true;
    const producing$ = (async () => {
      while (Date.now() < produceUntil) {
        const now = Date.now();
        let due = Math.floor(((now - t0) / 1000) * options.recordsPerSecond) - produced;
        produced += due;
        const timestamp = BigInt(now);
        // As Kafka's producer does with keyless records: fill a batch for one partition, then
        // move to the next.
        while (due > 0) {
          const count = Math.min(due, LIVE_BATCH_RECORDS);
          due -= count;
          const records = Array.from({ length: count }, () => ({ timestamp, key: null, value }));
          sends.push(
            producer.send(options.sourceTopic, nextPartition, { records, compression: codec }),
          );
          nextPartition = (nextPartition + 1) % options.partitions;
        }
        await new Promise((r) => setTimeout(r, LIVE_TICK_MS));
      }
      producing = false;
      await Promise.all(sends);
    })();
    producing$.catch(() => {});
    const deadline = produceUntil + 60_000;
    await Promise.all(
      followers.map((f) =>
        f.run(() => (producing || f.received < produced) && Date.now() < deadline),
      ),
    );
    await producing$;
    if (target.received < produced) {
      throw new Error(`live phase: ${target.received} of ${produced} records reached the target`);
    }
    const replication: number[] = [];
    const endToEnd: number[] = [];
    target.seen.forEach((seen, partition) => {
      for (const [offset, [inTarget, createTime]] of seen) {
        const inSource = source.seen[partition]!.get(offset);
        if (inSource === undefined || inSource[1] !== createTime) {
          throw new Error(`live phase: target record ${partition}/${offset} is not the source's`);
        }
        if (createTime < measureFrom) continue;
        replication.push(inTarget - inSource[0]);
        endToEnd.push(inTarget - createTime);
      }
    });
    return {
      produced,
      measured: replication.length,
      replication: quantiles(replication),
      endToEnd: quantiles(endToEnd),
    };
  } finally {
    await producer.close();
    await Promise.all(followers.map((f) => f.close()));
    await client.close();
  }
}

function quantiles(samples: number[]): Quantiles {
  samples.sort((a, b) => a - b);
  return {
    p50Ms: quantile(samples, 0.5),
    p99Ms: quantile(samples, 0.99),
    maxMs: samples[samples.length - 1] ?? 0,
  };
}

/** The q-quantile of ascending `sorted` (nearest rank); 0 when empty. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** The machine the figures come from: other work on it shows in the load average. */
export function machineLoad(): { cpus: number; loadAvg1m: number; loadAvg5m: number } {
  const [one, five] = loadavg();
  return {
    cpus: cpus().length,
    loadAvg1m: Number(one!.toFixed(2)),
    loadAvg5m: Number(five!.toFixed(2)),
  };
}

export function mib(bytes: number): number {
  return Math.round(bytes / 1048576);
}

/** Decimal megabytes per second of record values. */
export function mbPerSecond(records: number, seconds: number): number {
  return Number(((records * RECORD_BYTES) / seconds / 1e6).toFixed(1));
}
