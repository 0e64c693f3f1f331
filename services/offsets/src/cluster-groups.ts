import type { ClusterConfig } from "@geo/config";
import { type ClusterAdmin, createClusterAdmin } from "@geo/kafka";
import type { Logger } from "@geo/logging";
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

  /** Every committed offset of `group` (offset >= 0), ordered by topic and partition. */
  async committedOffsets(alias: string, group: string, timeoutMs = 5000) {
    const topics = await this.admin(alias).use(
      (admin) => admin.fetchOffsets({ groupId: group }),
      timeoutMs,
    );
    const out: SourcePosition[] = [];
    for (const t of topics) {
      for (const p of t.partitions) {
        const offset = BigInt(p.offset);
        if (offset < 0n) continue;
        out.push({
          topic: t.topic,
          partition: p.partition,
          offset,
          metadata: p.metadata ?? "",
        });
      }
    }
    return out.sort((a, b) => compareStrings(a.topic, b.topic) || a.partition - b.partition);
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
  async logStarts(alias: string, topic: string, timeoutMs = 5000): Promise<Map<number, bigint>> {
    const offsets = await this.admin(alias).use(
      (admin) => admin.fetchTopicOffsets(topic),
      timeoutMs,
    );
    return new Map(offsets.map((o) => [o.partition, BigInt(o.low)]));
  }

  async close(): Promise<void> {
    await Promise.all([...this.admins.values()].map((a) => a.close()));
  }
}
