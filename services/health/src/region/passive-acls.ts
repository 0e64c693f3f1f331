// Passive protection: the passive region's replicated topics are read-only for applications.
//
// Scheme (one ACL binding per protected topic): resource TOPIC, pattern LITERAL, the topic's
// name; principal "User:*", host "*", operation WRITE, permission DENY. A DENY wins over every
// ALLOW, so no application principal can produce there (TOPIC_AUTHORIZATION_FAILED). Since any
// ACL on a topic ends allow.everyone.if.no.acl.found for it, a topic that had no ACL also gets
// ALLOW READ and DESCRIBE for "User:*" (readers keep reading); a topic with ACLs of its own keeps
// them and gets only the deny. Promotion deletes the deny, and the two allows when they are all
// that is left on the topic (it is back to no ACL). The agents keep replicating
// because their principal is one of the cluster's super.users, which Kafka never checks against
// ACLs (the health and offsets services' principals write heartbeats and checkpoints the same
// way). Topics without this binding are left as the operator configured them. A promotion
// deletes exactly these bindings from the topics the group's flows replicate into the promoted
// cluster. A cluster without an authorizer answers SECURITY_DISABLED: the step says so and the
// transition goes on (writes to the passive side are then detected, not prevented). Between
// transitions the protection keeper (protection-keeper.ts) keeps the same bindings in place.
import { createTopicFilter, isHeartbeatsTopic } from "@geo/config";
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  type Admin,
  type ClusterAdmin,
  ResourcePatternTypes,
} from "@geo/kafka";
import type { ProtectionLock, TransitionKind } from "@geo/region-state";
import type {
  FlowInfo,
  TopicWriteGuard,
  TransitionDependencies,
  WriteGuardOutcome,
  WriteGuardReading,
} from "./dependencies";
import type { StepRecorder } from "./step-recorder";
import type { Plan } from "./transition-plan";

/** The ACL binding (and the filter matching it) that makes `topic` read-only for applications. */
export function denyWriteAcl(topic: string) {
  return {
    resourceType: AclResourceTypes.TOPIC,
    resourceName: topic,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: "User:*",
    host: "*",
    operation: AclOperationTypes.WRITE,
    permissionType: AclPermissionTypes.DENY,
  };
}

/**
 * Any ACL on a topic ends `allow.everyone.if.no.acl.found` for it, so a topic that had none gets
 * these with the deny: everyone may still read it and see it in metadata.
 */
function keepReadable(topic: string) {
  return [AclOperationTypes.READ, AclOperationTypes.DESCRIBE].map((operation) => ({
    ...denyWriteAcl(topic),
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  }));
}

/**
 * Whether a topic of `cluster` is a copy one of `flows` writes there: "<source>.<topic>" for
 * prefix naming, the source's name for identity, when the flow's filter selects the source
 * topic. Heartbeats are never selected: every service writes its own.
 */
export function remoteTopicSelector(
  flows: readonly FlowInfo[],
  cluster: string,
): (topic: string) => boolean {
  const matchers = flows
    .filter((flow) => flow.target === cluster && flow.topics !== undefined)
    .map((flow) => {
      const naming = flow.naming ?? "prefix";
      const selects = createTopicFilter({ target: flow.target, naming, topics: flow.topics! });
      const prefix = `${flow.source}.`;
      if (naming === "identity") return selects;
      return (topic: string) => topic.startsWith(prefix) && selects(topic.slice(prefix.length));
    });
  return (topic) => !isHeartbeatsTopic(topic) && matchers.some((selects) => selects(topic));
}

const noAuthorizer = (cluster: string) =>
  `cluster ${cluster} has no authorizer; writes to the passive side are detected, not prevented`;

const listed = (topics: readonly string[]) =>
  topics.length === 0 ? "no replicated topic there yet" : topics.join(", ");

/** How a transition takes its group's protection lock (protection-keeper.ts), waiting up to `waitMs`. */
export interface TransitionProtectionLock {
  readonly waitMs: number;
  take(): Promise<ProtectionLock | undefined>;
}

/**
 * Before the flip: lifts the protection of the promoted cluster (its applications write again;
 * a failure fails the transition, since they could not), then protects the new passive one (a
 * failure, e.g. the lost region of a failover, is recorded and the transition goes on; a
 * failover does not even try a cluster that failed its last probe). With `lock`, both steps
 * hold the group's protection lock, taken in the first step (which renews the transition's own
 * lock while it waits), so a keeper pass never changes the group's ACLs meanwhile.
 */
export async function movePassiveProtection(
  p: Pick<Plan, "from" | "to" | "forward" | "reverse"> & {
    readonly request: { readonly kind: TransitionKind };
  },
  steps: StepRecorder,
  deps: Pick<TransitionDependencies, "writeGuard" | "probes">,
  lock?: TransitionProtectionLock,
): Promise<void> {
  let held: ProtectionLock | undefined;
  try {
    await steps.must(
      "unprotect-active",
      `lift the write denial on ${p.to.cluster} (${p.to.region}), the new active side`,
      async () => {
        const waited = lock === undefined ? "" : await takeLock(lock, (taken) => (held = taken));
        return `${await unprotect(p.to.cluster, p.forward, deps.writeGuard)}${waited}`;
      },
    );
    await steps.run(
      "protect-passive",
      `deny application writes to the replicated topics of ${p.from.cluster} (${p.from.region}), the new passive side`,
      () => protect(p, deps),
    );
  } finally {
    await held?.release().catch(() => false);
  }
}

/** Takes the lock (or throws after the wait); says how long it waited, when it did. */
async function takeLock(
  lock: TransitionProtectionLock,
  keep: (held: ProtectionLock) => void,
): Promise<string> {
  const started = performance.now();
  const held = await lock.take();
  if (held === undefined) {
    throw new Error(
      `the group's protection lock stayed held for ${lock.waitMs} ms (a passive-protection pass of a health service); nothing was changed, retry`,
    );
  }
  keep(held);
  const waitedMs = Math.round(performance.now() - started);
  return waitedMs < 1000 ? "" : ` (waited ${waitedMs} ms for a passive-protection pass)`;
}

async function unprotect(
  cluster: string,
  forward: readonly FlowInfo[],
  guard: TopicWriteGuard,
): Promise<string> {
  const outcome = await guard.allow(cluster, remoteTopicSelector(forward, cluster));
  if (!outcome.authorizer) return `cluster ${cluster} has no authorizer: no denial to lift`;
  return `applications may write again to ${listed(outcome.topics)}`;
}

async function protect(
  p: Pick<Plan, "from" | "reverse"> & { readonly request: { readonly kind: TransitionKind } },
  deps: Pick<TransitionDependencies, "writeGuard" | "probes">,
): Promise<string> {
  // A lost cluster would hold the failover for the admin timeout, in its RTO, to fail anyway.
  const failures = deps.probes.consecutiveFailures(p.from.cluster);
  if (p.request.kind === "failover" && failures > 0) {
    throw new Error(
      `not attempted: cluster ${p.from.cluster} failed its last ${failures} probes; the protection keeper protects it once it answers (flowGroups[].passiveProtection), the failback at the latest`,
    );
  }
  const outcome = await deps.writeGuard.deny(
    p.from.cluster,
    remoteTopicSelector(p.reverse, p.from.cluster),
  );
  if (!outcome.authorizer) return noAuthorizer(p.from.cluster);
  return `read-only for applications: ${listed(outcome.topics)}`;
}

/** The ACLs of a topic's own (literal, prefixed and wildcard ones matching it). */
async function aclsOn(admin: Admin, topic: string) {
  const answer = await admin.describeAcls({
    resourceType: AclResourceTypes.TOPIC,
    resourceName: topic,
    resourcePatternType: ResourcePatternTypes.MATCH,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  });
  return answer.resources.flatMap((resource) =>
    resource.acls.map((acl) => ({ ...acl, resourcePatternType: resource.resourcePatternType })),
  );
}

/** Topics holding the deny; undefined when the cluster has no authorizer (SECURITY_DISABLED). */
async function deniedTopics(admin: Admin): Promise<string[] | undefined> {
  const { resourceName: _anyTopic, ...filter } = denyWriteAcl("");
  try {
    const answer = await admin.describeAcls(filter);
    return answer.resources.map((resource) => resource.resourceName);
  } catch (error) {
    if ((error as { type?: string }).type === "SECURITY_DISABLED") return undefined;
    throw error;
  }
}

/** Protects one topic: the deny, plus the allows that keep an ACL-free topic readable. */
async function denyTopic(admin: Admin, topic: string): Promise<void> {
  const own = await aclsOn(admin, topic);
  const open = own.length === 0;
  await admin.createAcls({ acl: [denyWriteAcl(topic), ...(open ? keepReadable(topic) : [])] });
}

/** Lifts one topic's protection; the allows go too when nothing else is left on the topic. */
async function allowTopic(admin: Admin, topic: string): Promise<void> {
  await admin.deleteAcls({ filters: [denyWriteAcl(topic)] });
  const left = await aclsOn(admin, topic);
  const ours = keepReadable(topic);
  const onlyOurs =
    left.length === ours.length &&
    left.every((acl) =>
      ours.some(
        (o) =>
          acl.resourcePatternType === o.resourcePatternType &&
          acl.principal === o.principal &&
          acl.host === o.host &&
          acl.operation === o.operation &&
          acl.permissionType === o.permissionType,
      ),
    );
  if (onlyOurs) await admin.deleteAcls({ filters: ours });
}

/** How long one call of the Kafka write guard may take on a cluster (it is cut off then). */
export const WRITE_GUARD_TIMEOUT_MS = 15_000;

/** The write guard over each cluster's Kafka admin API. */
export function createKafkaWriteGuard(
  adminOf: (cluster: string) => ClusterAdmin,
  timeoutMs = WRITE_GUARD_TIMEOUT_MS,
): TopicWriteGuard {
  return {
    deny: (cluster, select) =>
      adminOf(cluster).use(async (admin): Promise<WriteGuardOutcome> => {
        const denied = await deniedTopics(admin);
        if (denied === undefined) return { authorizer: false };
        const topics = (await admin.listTopics()).filter(select).sort();
        const changed = topics.filter((t) => !denied.includes(t));
        for (const topic of changed) await denyTopic(admin, topic);
        return { authorizer: true, topics, changed };
      }, timeoutMs),
    allow: (cluster, select) =>
      adminOf(cluster).use(async (admin): Promise<WriteGuardOutcome> => {
        const denied = await deniedTopics(admin);
        if (denied === undefined) return { authorizer: false };
        const topics = denied.filter(select).sort();
        for (const topic of topics) await allowTopic(admin, topic);
        return { authorizer: true, topics, changed: topics };
      }, timeoutMs),
    read: (cluster, select) =>
      adminOf(cluster).use(async (admin): Promise<WriteGuardReading> => {
        const denied = await deniedTopics(admin);
        if (denied === undefined) return { authorizer: false };
        const topics = (await admin.listTopics()).filter(select).sort();
        return {
          authorizer: true,
          denied: topics.filter((t) => denied.includes(t)),
          open: topics.filter((t) => !denied.includes(t)),
        };
      }, timeoutMs),
  };
}
