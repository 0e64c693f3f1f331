// Passive protection against real Kafka: one cluster with KRaft's StandardAuthorizer plays the
// passive side (an application user and the agents' super user on a SASL/PLAIN listener), one
// without an authorizer shows the step saying so. Two non-super principals show what a drill
// learns of the right to change ACLs (ALTER on the cluster) without changing any.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type ClusterConfig, parseConfig } from "@geo/config";
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  type ClusterAdmin,
  createClusterAdmin,
  createKafkaClient,
  kafkaErrorType,
  ResourcePatternTypes,
} from "@geo/kafka";
import { type KafkaCluster, startKafkaClusters, waitFor } from "@geo/local-runtime";
import { createLogger } from "@geo/logging";
import { createAclRights } from "./acl-rights";
import { createKafkaWriteGuard, denyWriteAcl, remoteTopicSelector } from "./passive-acls";

const logger = createLogger({ service: "passive-acls-test", level: "silent" });
const PASSWORDS = {
  "geo-agent": "agent-Password-71c2",
  app: "app-Password-93fe",
  "health-ro": "ro-Password-5d21",
  "health-rw": "rw-Password-0b7c",
};
const REPLICATED = "orders";
const LOCAL = "local-only";

let guarded: KafkaCluster;
let open: KafkaCluster;
const admins: ClusterAdmin[] = [];

/** The guarded cluster's SECURE listener as `user`, or the open cluster's PLAINTEXT one. */
function clusterConfig(cluster: KafkaCluster, user?: keyof typeof PASSWORDS): ClusterConfig {
  const servers = user === undefined ? cluster.bootstrapServers : cluster.secureBootstrapServers;
  const sasl =
    user === undefined
      ? ""
      : `\n    sasl: { mechanism: plain, username: ${user}, password: "\${PW}" }`;
  const yaml = `clusters:\n  c:\n    bootstrapServers: [${servers.join(", ")}]${sasl}\n`;
  const env = { PW: user === undefined ? "" : PASSWORDS[user] };
  return parseConfig(yaml, { source: "passive-acls-test", env }).clusters.c!;
}

before(async () => {
  [guarded, open] = (await startKafkaClusters([
    { name: "guarded", authorizer: { users: PASSWORDS, superUsers: ["geo-agent"] } },
    { name: "open" },
  ])) as [KafkaCluster, KafkaCluster];
  for (const cluster of [guarded, open]) {
    const admin = createKafkaClient(clusterConfig(cluster), { clientId: "setup", logger }).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [REPLICATED, LOCAL].map((topic) => ({ topic, numPartitions: 1 })),
    });
    // Produces below run without retries: wait until every partition has a leader.
    for (;;) {
      const { topics } = await admin.fetchTopicMetadata({ topics: [REPLICATED, LOCAL] });
      if (topics.every((t) => t.partitions.every((p) => p.leader >= 0))) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await admin.disconnect();
  }
});

after(async () => {
  await Promise.all(admins.map((admin) => admin.close()));
  await Promise.all([guarded?.stop(), open?.stop()]);
});

/** Produces one record as `user`; resolves to the Kafka error type when refused. */
async function produceAs(user: keyof typeof PASSWORDS, topic: string): Promise<string> {
  const kafka = createKafkaClient(clusterConfig(guarded, user), {
    clientId: `passive-acls-${user}`,
    logger,
    retry: { retries: 0 },
  });
  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ value: `from ${user}` }], acks: -1 });
    return "ok";
  } catch (error) {
    return kafkaErrorType(error);
  } finally {
    await producer.disconnect();
  }
}

async function consumeAs(user: keyof typeof PASSWORDS, topic: string): Promise<number> {
  const admin = createKafkaClient(clusterConfig(guarded, user), {
    clientId: "reader",
    logger,
  }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

const ANY_BINDING = {
  principal: undefined,
  host: undefined,
  operation: AclOperationTypes.ANY,
  permissionType: AclPermissionTypes.ANY,
};

const flowsInto = (target: string) => [
  {
    name: `active->${target}`,
    source: "active",
    target,
    paused: false,
    topics: { include: [REPLICATED], exclude: [] },
    naming: "identity" as const,
  },
];

test("the passive side's replicated topics refuse applications' writes until its promotion", async () => {
  const admin = createClusterAdmin(clusterConfig(guarded, "geo-agent"), { clientId: "g", logger });
  admins.push(admin);
  const guard = createKafkaWriteGuard(() => admin);
  const select = remoteTopicSelector(flowsInto("guarded"), "guarded");
  assert.equal(await produceAs("app", REPLICATED), "ok", "no ACL yet: everyone writes");

  assert.deepEqual(await guard.deny("guarded", select), {
    authorizer: true,
    topics: [REPLICATED],
    changed: [REPLICATED],
  });
  assert.equal(await produceAs("app", REPLICATED), "TOPIC_AUTHORIZATION_FAILED");
  assert.equal(await produceAs("geo-agent", REPLICATED), "ok", "the agents are super users");
  assert.equal(await produceAs("app", LOCAL), "ok", "topics no flow writes stay open");
  assert.equal(await consumeAs("app", REPLICATED), 2, "applications still read and describe it");
  assert.deepEqual(
    await guard.deny("guarded", select),
    { authorizer: true, topics: [REPLICATED], changed: [] },
    "already denied: nothing changes",
  );

  assert.deepEqual(await guard.allow("guarded", select), {
    authorizer: true,
    topics: [REPLICATED],
    changed: [REPLICATED],
  });
  assert.equal(await produceAs("app", REPLICATED), "ok", "promoted: applications write again");
  const left = await admin.use((a) =>
    a.describeAcls({
      resourceType: AclResourceTypes.ANY,
      resourcePatternType: ResourcePatternTypes.ANY,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    }),
  );
  assert.deepEqual(left.resources, [], "no ACL left behind: the topic is as it was");
});

test("a replicated topic with the operator's own ACLs keeps them and gets only the deny", async () => {
  const admin = createClusterAdmin(clusterConfig(guarded, "geo-agent"), { clientId: "a", logger });
  admins.push(admin);
  const guard = createKafkaWriteGuard(() => admin);
  const audited = "audited";
  await admin.use((a) => a.createTopics({ topics: [{ topic: audited, numPartitions: 1 }] }));
  const operatorAcl = {
    ...denyWriteAcl(audited),
    principal: "User:auditor",
    operation: AclOperationTypes.READ,
    permissionType: AclPermissionTypes.ALLOW,
  };
  await admin.use((a) => a.createAcls({ acl: [operatorAcl] }));
  const select = (topic: string) => topic === audited;
  const bindings = async () => {
    const { resources } = await admin.use((a) =>
      a.describeAcls({ ...denyWriteAcl(audited), ...ANY_BINDING }),
    );
    return resources
      .flatMap((r) => r.acls)
      .map((acl) => `${acl.principal} ${acl.operation} ${acl.permissionType}`)
      .sort();
  };
  const operators = `User:auditor ${AclOperationTypes.READ} ${AclPermissionTypes.ALLOW}`;
  await guard.deny("guarded", select);
  assert.deepEqual(await bindings(), [
    `User:* ${AclOperationTypes.WRITE} ${AclPermissionTypes.DENY}`,
    operators,
  ]);
  await guard.allow("guarded", select);
  assert.deepEqual(await bindings(), [operators]);
});

test("a cluster without an authorizer is reported, not failed", async () => {
  const admin = createClusterAdmin(clusterConfig(open), { clientId: "o", logger });
  admins.push(admin);
  const guard = createKafkaWriteGuard(() => admin);
  const select = remoteTopicSelector(flowsInto("open"), "open");
  assert.deepEqual(await guard.deny("open", select), { authorizer: false });
  assert.deepEqual(await guard.allow("open", select), { authorizer: false });
});

test("a drill learns, changing nothing, whether the service may change ACLs (ALTER on the cluster)", async () => {
  const agent = createClusterAdmin(clusterConfig(guarded, "geo-agent"), { clientId: "r", logger });
  admins.push(agent);
  // Any ACL on the cluster resource ends allow.everyone.if.no.acl.found for it.
  const clusterAcl = (user: string, operation: number) => ({
    resourceType: AclResourceTypes.CLUSTER,
    resourceName: "kafka-cluster",
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: `User:${user}`,
    host: "*",
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  });
  const granted = [
    clusterAcl("health-ro", AclOperationTypes.DESCRIBE),
    clusterAcl("health-rw", AclOperationTypes.ALTER),
  ];
  await agent.use((a) => a.createAcls({ acl: granted }));
  try {
    const rightsOf = (user?: keyof typeof PASSWORDS, cluster = guarded) =>
      createAclRights(() => clusterConfig(cluster, user), logger)("c");
    const servers = guarded.secureBootstrapServers;
    assert.deepEqual(await rightsOf("health-ro"), {
      alter: false,
      principal: "User:health-ro",
      bootstrapServers: servers,
    });
    assert.equal((await rightsOf("health-rw"))?.alter, true);
    assert.equal((await rightsOf("geo-agent"))?.alter, true, "a super user may do anything");
    assert.equal((await rightsOf(undefined, open))?.alter, true, "no authorizer: nothing refused");

    // What the answer predicts: the read-only principal reads ACLs but may not create one.
    const probe = denyWriteAcl("probe-topic");
    const attempt = async (user: keyof typeof PASSWORDS) => {
      const admin = createClusterAdmin(clusterConfig(guarded, user), { clientId: user, logger });
      admins.push(admin);
      assert.equal(
        (await createKafkaWriteGuard(() => admin).read("c", () => true)).authorizer,
        true,
      );
      return admin.use((a) => a.createAcls({ acl: [probe] })).then(() => "ok", kafkaErrorType);
    };
    assert.equal(await attempt("health-ro"), "CLUSTER_AUTHORIZATION_FAILED");
    assert.equal(await attempt("health-rw"), "ok");
    await agent.use((a) => a.deleteAcls({ filters: [probe] }));
  } finally {
    await agent.use((a) => a.deleteAcls({ filters: granted }));
  }
});

/** The agent's admin, counting the Kafka requests (by API) each guard call sends. */
function countingAdmin(clientId: string) {
  const admin = createClusterAdmin(clusterConfig(guarded, "geo-agent"), { clientId, logger });
  admins.push(admin);
  let counts: Record<string, number> = {};
  const counted: ClusterAdmin = {
    alias: admin.alias,
    close: () => admin.close(),
    use: (action, timeoutMs) =>
      admin.use(async (a) => {
        const stop = a.on(a.events.REQUEST, ({ payload }) => {
          counts[payload.apiName] = (counts[payload.apiName] ?? 0) + 1;
        });
        try {
          return await action(a);
        } finally {
          stop();
        }
      }, timeoutMs),
  };
  /** Runs `call`: its result, duration and requests. */
  const timed = async <T>(call: () => Promise<T>) => {
    counts = {};
    const started = performance.now();
    const value = await call();
    return { value, ms: Math.round(performance.now() - started), requests: { ...counts } };
  };
  return { admin: counted, timed };
}

const readsTopic = (resourceName: string, resourcePatternType: ResourcePatternTypes) => ({
  ...denyWriteAcl(resourceName),
  resourcePatternType,
  principal: "User:team-a",
  operation: AclOperationTypes.READ,
  permissionType: AclPermissionTypes.ALLOW,
});

const shown = (acl: ReturnType<typeof readsTopic>) =>
  `${acl.resourcePatternType} ${acl.resourceName} ${acl.principal} ${acl.operation} ${acl.permissionType}`;

/**
 * Waits until the topic ACLs starting with `prefix` are `expected`: a broker's authorizer applies
 * ACL changes some time after answering them (seconds after creating hundreds of topics).
 */
async function aclsBecome(admin: ClusterAdmin, prefix: string, expected: string[], what: string) {
  let acls: string[] = [];
  const read = async () => {
    const { resources } = await admin.use((a) =>
      a.describeAcls({
        resourceType: AclResourceTypes.TOPIC,
        resourcePatternType: ResourcePatternTypes.ANY,
        ...ANY_BINDING,
      }),
    );
    acls = resources
      .filter((r) => r.resourceName.startsWith(prefix))
      .flatMap((r) => r.acls.map((acl) => shown({ ...r, ...acl })))
      .sort();
    return acls.join() === [...expected].sort().join() || undefined;
  };
  await waitFor(what, read, 30_000, 100).catch(() => assert.deepEqual(acls, expected.sort(), what));
}

test("hundreds of replicated topics: the same ACLs, in a few requests whatever their number", async () => {
  const { admin, timed } = countingAdmin("bulk");
  const guard = createKafkaWriteGuard(() => admin);
  const bulk = Array.from({ length: 400 }, (_, i) => `bulk.${String(i).padStart(3, "0")}`);
  const prefixedOwn = "bulk.team-a.orders"; // matched by the operator's prefixed ACL
  const literalOwn = "bulk.audited";
  const topics = [...bulk, prefixedOwn, literalOwn].sort();
  await admin.use(
    (a) => a.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 1 })) }),
    120_000,
  );
  const operatorAcls = [
    readsTopic("bulk.team-a.", ResourcePatternTypes.PREFIXED),
    readsTopic(literalOwn, ResourcePatternTypes.LITERAL),
  ];
  const operators = operatorAcls.map(shown);
  await admin.use((a) => a.createAcls({ acl: operatorAcls }));
  await aclsBecome(admin, "bulk.", operators, "the operator's ACLs");
  const keepReadable = (topic: string) =>
    [AclOperationTypes.READ, AclOperationTypes.DESCRIBE].map((operation) => ({
      ...denyWriteAcl(topic),
      operation,
      permissionType: AclPermissionTypes.ALLOW,
    }));
  const denied = [
    ...operators,
    ...[...topics.map(denyWriteAcl), ...bulk.flatMap(keepReadable)].map(shown),
  ];
  const select = (topic: string) => topic.startsWith("bulk.");

  const deny = await timed(() => guard.deny("guarded", select));
  assert.deepEqual(deny.value, { authorizer: true, topics, changed: topics });
  await aclsBecome(admin, "bulk.", denied, "topics with ACLs of their own get only the deny");
  const again = await timed(() => guard.deny("guarded", select));
  assert.deepEqual(again.value, { authorizer: true, topics, changed: [] });
  const allow = await timed(() => guard.allow("guarded", select));
  assert.deepEqual(allow.value, { authorizer: true, topics, changed: topics });
  await aclsBecome(admin, "bulk.", operators, "only the operator's ACLs are left");
  for (const [name, call] of Object.entries({ deny, "deny again": again, allow })) {
    console.log(`${topics.length} topics, ${name}: ${call.ms} ms ${JSON.stringify(call.requests)}`);
  }

  // One DescribeAcls, a ListTopics (Metadata), one CreateAcls or DeleteAcls per 1,000 bindings
  // (1,202 here: a deny per topic, two allows per topic with no ACL of its own).
  const acls = ({ Metadata: _refreshes, ...rest }: Record<string, number>) => rest;
  assert.deepEqual(acls(deny.requests), { DescribeAcls: 1, CreateAcls: 2 });
  assert.deepEqual(acls(again.requests), { DescribeAcls: 1 }, "nothing to change: only a read");
  assert.deepEqual(acls(allow.requests), { DescribeAcls: 1, DeleteAcls: 2 });
  for (const call of [deny, again, allow]) {
    assert.ok((call.requests.Metadata ?? 0) <= 5, JSON.stringify(call.requests));
    assert.ok(call.ms < 5000, `${call.ms} ms: beyond the keeper's 5 s bound`);
  }

  // A literal ACL on "*" is every topic's own too: one more topic gets only the deny.
  const wildcard = { ...readsTopic("*", ResourcePatternTypes.LITERAL), principal: "User:team-b" };
  await admin.use((a) => a.createAcls({ acl: [wildcard] }));
  try {
    await aclsBecome(admin, "*", [shown(wildcard)], "the wildcard ACL");
    const first = (topic: string) => topic === "bulk.000";
    await guard.deny("guarded", first);
    const deniedFirst = [...operators, shown(denyWriteAcl("bulk.000"))];
    await aclsBecome(admin, "bulk.", deniedFirst, "a topic under a wildcard ACL: only the deny");
    await guard.allow("guarded", first);
    await aclsBecome(admin, "bulk.", operators, "the deny lifted");
  } finally {
    await admin.use((a) => a.deleteAcls({ filters: [wildcard, ...operatorAcls] }));
  }
});
