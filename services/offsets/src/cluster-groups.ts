import type { ClusterConfig } from "@geo/config";
import {
  type ClusterAdmin,
  ClusterUnavailableError,
  createClusterAdmin,
  kafkaClientOptions,
} from "@geo/kafka";
import { createWireClient, fetchGroupOffsets, type KafkaWireClient } from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import { type Offset, parseOffset, toOffset } from "@geo/positions";
import { compareStrings } from "./checkpoint-cache";
import type { SourcePosition } from "./translate";

/** A group's state in a cluster, as far as offset sync cares. */
export interface GroupState {
  exists: boolean;
  members: number;
  state: string;
}

/**
 * Consumer-group reads (and the log starts used for pruning) through one short-timeout admin
 * connection per cluster: a cluster that does not answer fails the call quickly with a
 * retriable error, and the next call reconnects.
 */
export class ClusterGroups {
  private readonly admins = new Map<string, ClusterAdmin>();
  private readonly wires = new Map<string, KafkaWireClient>();

  constructor(
    private readonly clusters: Readonly<Record<string, ClusterConfig>>,
    private readonly logger: Logger,
  ) {}

  private admin(alias: string): ClusterAdmin {
    let admin = this.admins.get(alias);
    if (admin === undefined) {
      const cluster = this.clusters[alias];
      if (cluster === undefined) throw new Error(`unknown cluster "${alias}"`);
      admin = createClusterAdmin(cluster, { clientId: "geo-offsets", logger: this.logger });
      this.admins.set(alias, admin);
    }
    return admin;
  }

  /**
   * Every committed offset of `group` (offset >= 0), ordered by topic and partition: one
   * OffsetFetch to the group's coordinator (kafkajs's admin adds a FindCoordinator each time,
   * which doubles the requests of a checkpoint round).
   */
  async committedOffsets(alias: string, group: string, timeoutMs = 5000) {
    const offsets = await withTimeout(
      fetchGroupOffsets(this.wire(alias), group),
      timeoutMs,
      `cluster "${alias}" did not answer within ${timeoutMs} ms`,
    );
    const out: SourcePosition[] = [];
    for (const p of offsets) {
      if (p.offset < 0n || p.errorCode !== 0) continue;
      out.push({
        topic: p.topic,
        partition: p.partition,
        // The Kafka edge of committed offsets (negative ones, "none", are skipped above).
        offset: toOffset(p.offset, `committed offset of ${p.topic}-${p.partition}`),
        metadata: p.metadata ?? "",
      });
    }
    return out.sort((a, b) => compareStrings(a.topic, b.topic) || a.partition - b.partition);
  }

  /** The connection to `alias` (for commits into a cluster no tailer reads). */
  wire(alias: string): KafkaWireClient {
    let client = this.wires.get(alias);
    if (client === undefined) {
      const cluster = this.clusters[alias];
      if (cluster === undefined) throw new Error(`unknown cluster "${alias}"`);
      const options = kafkaClientOptions(cluster, {
        clientId: "geo-offsets",
        logger: this.logger.child({}, { level: "fatal" }),
        connectionTimeoutMs: 3000,
        requestTimeoutMs: 5000,
      });
      client = createWireClient(options, { logger: this.logger });
      this.wires.set(alias, client);
    }
    return client;
  }

  /** Ids of the consumer groups of a cluster (consumer protocol, or simple commits). */
  async listGroups(alias: string, timeoutMs = 5000): Promise<string[]> {
    const { groups } = await this.admin(alias).use((admin) => admin.listGroups(), timeoutMs);
    return groups
      .filter((g) => g.protocolType === "consumer" || g.protocolType === "")
      .map((g) => g.groupId);
  }

  async describe(alias: string, groups: string[], timeoutMs = 5000) {
    const answer = await this.admin(alias).use((admin) => admin.describeGroups(groups), timeoutMs);
    const out = new Map<string, GroupState>();
    for (const g of answer.groups) {
      out.set(g.groupId, {
        exists: g.state !== "Dead",
        members: g.members.length,
        state: g.state,
      });
    }
    return out;
  }

  /** Log start offset per partition of a topic. */
  async logStarts(alias: string, topic: string, timeoutMs = 5000): Promise<Map<number, Offset>> {
    const offsets = await this.admin(alias).use(
      (admin) => admin.fetchTopicOffsets(topic),
      timeoutMs,
    );
    return new Map(
      offsets.map((o) => [o.partition, parseOffset(o.low, `log start of ${topic}-${o.partition}`)]),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.admins.values()].map((a) => a.close()));
    await Promise.all([...this.wires.values()].map((w) => w.close()));
  }
}

/** Rejects with a retriable ClusterUnavailableError when `promise` takes longer than `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClusterUnavailableError(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
