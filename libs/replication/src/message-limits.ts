import type { ClusterConfig } from "@geo/config";
import { type ClusterAdmin, createClusterAdmin } from "@geo/kafka";
import type { Logger } from "@geo/logging";
import { describeMaxMessageBytes, TopicLimits } from "./topic-limits";
import type { Unit } from "./unit";

interface ClusterLimits {
  admin: ClusterAdmin;
  limits: TopicLimits;
}

/**
 * Compares each unit's source and remote topic max.message.bytes, tells the unit, and logs a
 * mismatch once per flow and topic (and when it is gone). Reads topic configs through one
 * admin client per cluster, cached (TopicLimits) and refreshed on `refresh`.
 */
export class MessageLimitsCheck {
  private readonly limits = new Map<string, ClusterLimits>();
  /** Flow and source topic → the limits last logged as mismatched, to log each change once. */
  private readonly mismatchLogged = new Map<string, string>();
  /** Cluster and topic whose config could not be read, to log that once until it can. */
  private readonly limitsUnreadable = new Set<string>();

  constructor(
    private readonly cluster: (alias: string) => ClusterConfig,
    private readonly clientId: string,
    private readonly logger: Logger,
  ) {}

  private topicLimits(alias: string): TopicLimits {
    let l = this.limits.get(alias);
    if (l === undefined) {
      const admin = createClusterAdmin(this.cluster(alias), {
        clientId: this.clientId,
        logger: this.logger.child({ cluster: alias }),
      });
      l = { admin, limits: new TopicLimits(describeMaxMessageBytes(admin, 10_000)) };
      this.limits.set(alias, l);
    }
    return l.limits;
  }

  /** A topic's effective max.message.bytes; undefined (logged once) when it cannot be read. */
  private async read(flow: string, alias: string, topic: string): Promise<number | undefined> {
    const key = `${alias}\u0000${topic}`;
    try {
      const bytes = await this.topicLimits(alias).maxMessageBytes(topic);
      this.limitsUnreadable.delete(key);
      return bytes;
    } catch (e) {
      if (!this.limitsUnreadable.has(key)) {
        this.limitsUnreadable.add(key);
        this.logger.warn(
          { flow, cluster: alias, topic, err: (e as Error).message },
          "replication: cannot read the topic's max.message.bytes; a mismatch between source and remote topic goes unreported until it can",
        );
      }
      return undefined;
    }
  }

  /**
   * Compares the source topic's and the remote topic's effective max.message.bytes and tells
   * the unit: a source that accepts larger batches than the target is reported before a batch
   * is refused. Never rejects: a config that cannot be read leaves the unit as it is.
   */
  async check(unit: Unit): Promise<void> {
    const flow = unit.assignment.flow;
    const [source, target] = await Promise.all([
      this.read(flow.name, flow.sourceCluster, unit.topic),
      this.read(flow.name, flow.targetCluster, unit.remoteTopic),
    ]);
    if (source === undefined || target === undefined) return;
    const mismatch = unit.setMessageLimits(source, target);
    this.logChange(unit, mismatch, source, target);
  }

  /** The limits belong to topics: one line per flow and topic, not per partition. */
  private logChange(unit: Unit, mismatch: boolean, source: number, target: number): void {
    const flow = unit.assignment.flow;
    const key = `${flow.name}\u0000${unit.topic}`;
    const logged = this.mismatchLogged.get(key);
    const context = {
      flow: flow.name,
      topic: unit.topic,
      remoteTopic: unit.remoteTopic,
      sourceMaxMessageBytes: source,
      targetMaxMessageBytes: target,
    };
    if (mismatch && logged !== `${source}/${target}`) {
      this.mismatchLogged.set(key, `${source}/${target}`);
      this.logger.warn(
        context,
        "replication: the source topic accepts larger batches than its remote topic; the first one above the target's max.message.bytes will be refused and stop its unit",
      );
    } else if (!mismatch && logged !== undefined) {
      this.mismatchLogged.delete(key);
      this.logger.info(context, "replication: the remote topic's max.message.bytes now suffices");
    }
  }

  /** Reads every cached topic config again, then checks `units` again. */
  refresh(units: Iterable<Unit>): void {
    for (const l of this.limits.values()) l.limits.refresh();
    for (const unit of units) if (unit.isActive) void this.check(unit);
  }

  async close(): Promise<void> {
    await Promise.all([...this.limits.values()].map((l) => l.admin.close()));
  }
}
