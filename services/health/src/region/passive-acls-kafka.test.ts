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
import { type KafkaCluster, startKafkaClusters } from "@geo/local-runtime";
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
