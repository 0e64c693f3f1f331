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
// Each call reads all topic ACLs at once and changes them in batches: a few requests whatever
// the number of topics (a transition's RTO and a keeper pass's bound do not grow with it).
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

/** One ACL binding on a topic resource, as DescribeAcls answers it. */
interface TopicBinding {
  readonly resourceName: string;
  readonly resourcePatternType: ResourcePatternTypes;
  readonly principal: string;
  readonly host: string;
  readonly operation: AclOperationTypes;
  readonly permissionType: AclPermissionTypes;
}

/** Every topic ACL: literal and prefixed, any name (one DescribeAcls, whatever the topic count). */
const ALL_TOPIC_ACLS = {
  resourceType: AclResourceTypes.TOPIC,
  resourcePatternType: ResourcePatternTypes.ANY,
  operation: AclOperationTypes.ANY,
  permissionType: AclPermissionTypes.ANY,
};

/** The bindings `filter` matches; undefined when the cluster has no authorizer (SECURITY_DISABLED). */
async function describe(
  admin: Admin,
  filter: Parameters<Admin["describeAcls"]>[0],
): Promise<TopicBinding[] | undefined> {
  try {
    const answer = await admin.describeAcls(filter);
    return answer.resources.flatMap(({ acls, ...resource }) =>
      acls.map((acl) => ({ ...acl, ...resource })),
    );
  } catch (error) {
    if ((error as { type?: string }).type === "SECURITY_DISABLED") return undefined;
    throw error;
  }
}

const sameBinding = (a: TopicBinding, b: TopicBinding) =>
  a.resourceName === b.resourceName &&
  a.resourcePatternType === b.resourcePatternType &&
  a.principal === b.principal &&
  a.host === b.host &&
  a.operation === b.operation &&
  a.permissionType === b.permissionType;

/** Topics holding the deny. */
const deniedIn = (bindings: readonly TopicBinding[]) =>
  new Set(
    bindings.filter((b) => sameBinding(b, denyWriteAcl(b.resourceName))).map((b) => b.resourceName),
  );

/**
 * A topic's own ACLs as a MATCH filter on its name finds them: literal ones on its name or on
 * "*", prefixed ones whose prefix its name starts with.
 */
function ownAcls(bindings: readonly TopicBinding[]): (topic: string) => TopicBinding[] {
  const literal = new Map<string, TopicBinding[]>();
  const general: TopicBinding[] = [];
  for (const binding of bindings) {
    const named = binding.resourcePatternType === ResourcePatternTypes.LITERAL;
    if (!named || binding.resourceName === "*") general.push(binding);
    else if (literal.has(binding.resourceName)) literal.get(binding.resourceName)!.push(binding);
    else literal.set(binding.resourceName, [binding]);
  }
  const matches = (topic: string) => (b: TopicBinding) =>
    b.resourcePatternType === ResourcePatternTypes.LITERAL ||
    (b.resourcePatternType === ResourcePatternTypes.PREFIXED && topic.startsWith(b.resourceName));
  return (topic) => [...(literal.get(topic) ?? []), ...general.filter(matches(topic))];
}

/** At most this many bindings (filters) per CreateAcls (DeleteAcls) request. */
const ACLS_PER_REQUEST = 1000;

/** Requests of up to ACLS_PER_REQUEST items; a topic's items always go in the same one. */
function requests<T>(perTopic: readonly (readonly T[])[]): T[][] {
  const batches: T[][] = [];
  for (const items of perTopic) {
    const last = batches.at(-1);
    if (last !== undefined && last.length + items.length <= ACLS_PER_REQUEST) last.push(...items);
    else batches.push([...items]);
  }
  return batches;
}

/**
 * Protects the selected topics not denied yet: the deny, plus the allows that keep a topic with
 * no ACL of its own readable. The allows come first: a failure between the two leaves a topic
 * with only them, which the next pass sees as having ACLs and completes with the deny.
 */
async function denyAll(admin: Admin, select: (topic: string) => boolean) {
  const bindings = await describe(admin, ALL_TOPIC_ACLS);
  if (bindings === undefined) return { authorizer: false } as const;
  const denied = deniedIn(bindings);
  const own = ownAcls(bindings);
  const topics = (await admin.listTopics()).filter(select).sort();
  const changed = topics.filter((t) => !denied.has(t));
  const perTopic = changed.map((t) => [
    ...(own(t).length === 0 ? keepReadable(t) : []),
    denyWriteAcl(t),
  ]);
  for (const acl of requests(perTopic)) await admin.createAcls({ acl });
  return { authorizer: true, topics, changed } as const;
}

/**
 * Lifts the selected topics' deny, and the allows when nothing else is on the topic. What is
 * left is judged from the ACLs read before the delete, not read again after it: a broker's
 * authorizer applies a delete asynchronously, and a stale read would leave the allows behind
 * (the topic then refusing every application's writes). The allows go before the deny: a
 * failure between them leaves the deny, which the next call lifts.
 */
async function allowAll(admin: Admin, select: (topic: string) => boolean) {
  const bindings = await describe(admin, ALL_TOPIC_ACLS);
  if (bindings === undefined) return { authorizer: false } as const;
  const own = ownAcls(bindings);
  const topics = [...deniedIn(bindings)].filter(select).sort();
  const perTopic = topics.map((topic) => {
    const ours = keepReadable(topic);
    const left = own(topic).filter((acl) => !sameBinding(acl, denyWriteAcl(topic)));
    const onlyOurs =
      left.length === ours.length && ours.every((o) => left.some((acl) => sameBinding(acl, o)));
    return [...(onlyOurs ? ours : []), denyWriteAcl(topic)];
  });
  for (const filters of requests(perTopic)) await admin.deleteAcls({ filters });
  return { authorizer: true, topics, changed: topics } as const;
}

/** How long one call of the Kafka write guard may take on a cluster (it is cut off then). */
export const WRITE_GUARD_TIMEOUT_MS = 15_000;

/**
 * The write guard over each cluster's Kafka admin API. Each call takes a few requests whatever
 * the topic count: one DescribeAcls of every topic ACL, a ListTopics, and one CreateAcls or
 * DeleteAcls per ACLS_PER_REQUEST bindings.
 */
export function createKafkaWriteGuard(
  adminOf: (cluster: string) => ClusterAdmin,
  timeoutMs = WRITE_GUARD_TIMEOUT_MS,
): TopicWriteGuard {
  return {
    deny: (cluster, select, boundMs = timeoutMs) =>
      adminOf(cluster).use((admin): Promise<WriteGuardOutcome> => denyAll(admin, select), boundMs),
    allow: (cluster, select, boundMs = timeoutMs) =>
      adminOf(cluster).use((admin): Promise<WriteGuardOutcome> => allowAll(admin, select), boundMs),
    read: (cluster, select, boundMs = timeoutMs) =>
      adminOf(cluster).use(async (admin): Promise<WriteGuardReading> => {
        const { resourceName: _anyTopic, ...everyDeny } = denyWriteAcl("");
        const bindings = await describe(admin, everyDeny);
        if (bindings === undefined) return { authorizer: false };
        const denied = deniedIn(bindings);
        const topics = (await admin.listTopics()).filter(select).sort();
        return {
          authorizer: true,
          denied: topics.filter((t) => denied.has(t)),
          open: topics.filter((t) => !denied.has(t)),
        };
      }, boundMs),
  };
}
