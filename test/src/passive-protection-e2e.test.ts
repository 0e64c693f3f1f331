// Passive protection end to end: two KRaft clusters with StandardAuthorizer (a SASL/PLAIN
// listener; the coordinator, agents, offsets and health services connect as `geo`, a super
// user; `app` is an application), Redis, and every service as a process, with the flow group
// `orders` over us-east <-> eu-west (the flow back paused until the switchover, as the demo's
// pair). The health service's protection keeper (a 1 s interval here) makes eu-west's replicated
// topic read-only before any transition: the first passive region is protected by itself.
// Drills report whether the passive region's replicated topics are read-only for applications
// and whether the region a move would make passive can be protected. The switchover lifts the
// denial on eu-west and makes us-east's replicated topic read-only: the application's produce
// there fails with TOPIC_AUTHORIZATION_FAILED while the agents keep replicating into it; a super
// user's write there (not an agent's) shows up as foreign writes in /metrics and GetFlowHealth;
// a remote topic created in us-east after the move is protected by the keeper too.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { kafkaErrorType } from "@geo/kafka";
import { createLogger } from "@geo/logging";
import { healthV1 } from "@geo/proto";
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Kafka,
  logLevel,
  ResourcePatternTypes,
} from "kafkajs";
import { createTopicsEverywhere } from "./support/region-stack";
import {
  REMOTE,
  REVERSE_FLOW_NAME,
  type SwitchoverRig,
  startSwitchoverRig,
  TOPIC,
} from "./support/switchover-rig";
import { waitFor } from "./support/wait-for";

const logger = createLogger({ service: "passive-protection-e2e-test", level: "warn" });
const PASSWORDS = { geo: "geo-Password-5d1e90", app: "app-Password-27c4b3" };
/** What us-east holds of eu-west's `orders`: its replicated topic while it is passive. */
const REMOTE_OF_EU_WEST = `eu-west.${TOPIC}`;
const AT_US_EAST = 200;
const AT_EU_WEST = 60;
const FOREIGN = 5;
/** A topic of eu-west first replicated after the switchover, by a flow made then. */
const LATE = "audit";
const REMOTE_OF_LATE = `eu-west.${LATE}`;
const KEEPER_INTERVAL_MS = 1000;

let rig: SwitchoverRig;
const kafkas: { app: Kafka[] } = { app: [] };

before(async () => {
  rig = await startSwitchoverRig("passive", logger, {
    withReverseFlow: true,
    // No consumer group: the moves here are about the topics' ACLs.
    flowGroups: `  - { name: orders, clusters: [us-east, eu-west], passiveProtection: { reconcileIntervalMs: ${KEEPER_INTERVAL_MS} } }`,
    authorizer: { users: PASSWORDS, superUsers: ["geo"], servicesUser: "geo" },
  });
  kafkas.app = rig.stack.clusters.map(
    (cluster) =>
      new Kafka({
        clientId: "passive-app",
        brokers: [...cluster.secureBootstrapServers],
        sasl: { mechanism: "plain", username: "app", password: PASSWORDS.app },
        logLevel: logLevel.NOTHING,
      }),
  );
  await rig.produce(0, AT_US_EAST);
  await rig.startAgent("agent-eu-1", "eu-west");
  await rig.startAgent("agent-us-1", "us-east");
  // The coordinator creates the remote topics of both flows, the paused one's too.
  await waitFor(
    "the remote topics in both clusters",
    async () =>
      (await rig.admins[0]!.listTopics()).includes(REMOTE_OF_EU_WEST) &&
      (await rig.admins[1]!.listTopics()).includes(REMOTE),
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  await rig.waitForReplicated(AT_US_EAST);
});

after(async () => {
  await rig?.stop();
});

/** `count` records into `topic` of cluster `index` as the application: "ok" or the Kafka error. */
async function produceAsApp(index: number, topic: string, count = 1): Promise<string> {
  const producer = kafkas.app[index]!.producer({ retry: { retries: 5 } });
  await producer.connect();
  try {
    const messages = Array.from({ length: count }, (_, i) => ({ key: String(i), value: "app" }));
    await producer.send({ topic, messages, acks: -1 });
    return "ok";
  } catch (error) {
    return kafkaErrorType(error);
  } finally {
    await producer.disconnect();
  }
}

const records = async (index: number, topic: string) =>
  (await rig.admins[index]!.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);

/** A drill until it passes (the services see the agents and flows first); returns its record. */
async function passingDrill(kind: "switchover" | "failover", targetRegion: string) {
  let record: healthV1.TransitionRecord | undefined;
  await waitFor(
    `a passing ${kind} drill to ${targetRegion}`,
    async () => {
      const request = { flowGroup: "orders", targetRegion, dryRun: true, actor: "drill" };
      const answer = await (kind === "switchover"
        ? rig.client.switchover(request)
        : rig.client.failover(request));
      record = answer.transition;
      return record?.outcome === healthV1.TransitionOutcome.DRILL_PASSED;
    },
    { timeoutMs: 120_000, intervalMs: 2000 },
  );
  console.log(`${kind} drill: ${record!.steps.map((s) => `${s.name}: ${s.detail}`).join(" | ")}`);
  return record!;
}

const detail = (record: healthV1.TransitionRecord, name: string) =>
  record.steps.find((s) => s.name === name)?.detail ?? `no step ${name}`;

const protection = (record: healthV1.TransitionRecord) =>
  record.passiveProtection.map((p) => ({
    region: p.region,
    passiveNow: p.passiveNow,
    authorizer: p.authorizer,
    protectedTopics: p.protectedTopics,
    unprotectedTopics: p.unprotectedTopics,
    error: p.error,
  }));

/**
 * Waits until the broker of cluster `index` holds (or no longer holds) the write denial of
 * `topic`: it answers DescribeAcls from the ACLs its authorizer applies, which follow the
 * controller's a moment later.
 */
async function waitForDenial(index: number, topic: string, present: boolean): Promise<void> {
  await waitFor(
    `the write denial of ${topic} ${present ? "applied" : "lifted"} in cluster ${index}`,
    async () => {
      const { resources } = await rig.admins[index]!.describeAcls({
        resourceType: AclResourceTypes.TOPIC,
        resourceName: topic,
        resourcePatternType: ResourcePatternTypes.LITERAL,
        operation: AclOperationTypes.WRITE,
        permissionType: AclPermissionTypes.DENY,
      });
      return resources.length > 0 === present;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

/** Sum of a labelled series in the health service's /metrics, over the lines `match` accepts. */
async function metricSum(name: string, match: (labels: string) => boolean): Promise<number> {
  const text = await (await fetch(`http://${rig.health.endpoints.metrics}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    const parsed = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (parsed !== null && match(parsed[1]!)) sum += Number(parsed[2]);
  }
  return sum;
}

describe("passive protection with an authorizer (real processes, Kafka, Redis)", () => {
  it("the keeper makes eu-west (the first passive region) read-only before any transition; drills report it", async () => {
    await waitForDenial(1, REMOTE, true);
    assert.equal(await produceAsApp(1, REMOTE), "TOPIC_AUTHORIZATION_FAILED");
    // The application may write to the active region's own topic: only copies are denied, and
    // to the active region's copy of the paused flow back.
    assert.equal(await produceAsApp(0, TOPIC), "ok");
    const ofEuWest = (l: string) => l.includes('cluster="eu-west"');
    await waitFor(
      "the keeper's change in /metrics",
      async () =>
        (await metricSum("geo_passive_protected_topics", ofEuWest)) === 1 &&
        (await metricSum("geo_passive_protection_changes_total", ofEuWest)) === 1,
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    assert.equal(
      await metricSum("geo_passive_protection_changes_total", (l) => l.includes('change="lifted"')),
      0,
      "nothing to lift on the active side",
    );
    const protectedDrill = await passingDrill("switchover", "eu-west");
    assert.deepEqual(protection(protectedDrill), [
      {
        region: "eu-west",
        passiveNow: true,
        authorizer: true,
        protectedTopics: [REMOTE],
        unprotectedTopics: [],
        error: "",
      },
      {
        region: "us-east",
        passiveNow: false,
        authorizer: true,
        protectedTopics: [],
        unprotectedTopics: [REMOTE_OF_EU_WEST],
        error: "",
      },
    ]);
    assert.equal(
      detail(protectedDrill, "check-passive-protection"),
      "read-only for applications: us-east.orders; this service may change its ACLs (ALTER on the cluster)",
    );
    const failoverDrill = await passingDrill("failover", "eu-west");
    assert.equal(
      detail(failoverDrill, "check-protectable"),
      "authorizer present: the failover makes eu-west.orders read-only for applications; this service may change its ACLs (ALTER on the cluster)",
    );
  });

  it("the switchover lifts eu-west's denial and makes us-east's copy read-only; agents keep replicating into it", async () => {
    const state = await rig.stateOf();
    const answer = await rig.client.switchover({
      flowGroup: "orders",
      targetRegion: "eu-west",
      expectedEpoch: state.epoch,
      actor: "test",
      reason: "passive protection end to end",
    });
    console.log(`switchover: ${answer.steps.map((s) => `${s.name}: ${s.detail}`).join(" | ")}`);
    const record = answer.transition!;
    assert.equal(record.outcome, healthV1.TransitionOutcome.SUCCEEDED, record.error);
    // A keeper pass may hold the group's protection lock a moment: the step then says it waited.
    assert.match(
      detail(record, "unprotect-active"),
      /^applications may write again to us-east\.orders( \(waited \d+ ms for a passive-protection pass\))?$/,
    );
    assert.equal(detail(record, "protect-passive"), "read-only for applications: eu-west.orders");

    await waitForDenial(1, REMOTE, false);
    await waitForDenial(0, REMOTE_OF_EU_WEST, true);
    assert.equal(await produceAsApp(1, REMOTE), "ok", "promoted: the denial is lifted");
    assert.equal(await produceAsApp(0, REMOTE_OF_EU_WEST), "TOPIC_AUTHORIZATION_FAILED");
    // The application writes at eu-west, now active; the agents copy it into us-east.
    const before = await records(0, REMOTE_OF_EU_WEST);
    assert.equal(await produceAsApp(1, TOPIC, AT_EU_WEST), "ok");
    await waitFor(
      `${AT_EU_WEST} records replicated into us-east's ${REMOTE_OF_EU_WEST}`,
      async () => (await records(0, REMOTE_OF_EU_WEST)) === before + AT_EU_WEST,
      { timeoutMs: 120_000, intervalMs: 500 },
    );

    const back = await passingDrill("switchover", "us-east");
    assert.deepEqual(protection(back), [
      {
        region: "us-east",
        passiveNow: true,
        authorizer: true,
        protectedTopics: [REMOTE_OF_EU_WEST],
        unprotectedTopics: [],
        error: "",
      },
      {
        region: "eu-west",
        passiveNow: false,
        authorizer: true,
        protectedTopics: [],
        unprotectedTopics: [REMOTE],
        error: "",
      },
    ]);
  });

  it("a super user's write into us-east's copy (not an agent's) is counted as foreign writes", async () => {
    // rig.admins' Kafka client: the PLAINTEXT listener, the harness's super user.
    const superUser = new Kafka({
      clientId: "passive-operator",
      brokers: [...rig.stack.clusters[0]!.bootstrapServers],
      logLevel: logLevel.NOTHING,
      // Idempotent: a produce retried under load must not write a record twice (the count is exact).
    }).producer({ idempotent: true, maxInFlightRequests: 1 });
    await superUser.connect();
    await superUser.send({
      topic: REMOTE_OF_EU_WEST,
      messages: Array.from({ length: FOREIGN }, (_, i) => ({ partition: i % 3, value: "manual" })),
    });
    await superUser.disconnect();

    const ofTheCopy = (labels: string) =>
      labels.includes(`flow="${REVERSE_FLOW_NAME}"`) &&
      labels.includes(`topic="${REMOTE_OF_EU_WEST}"`);
    let counted = 0;
    await waitFor(
      `${FOREIGN} foreign writes in /metrics`,
      async () => {
        counted = await metricSum("geo_passive_foreign_writes_total", ofTheCopy);
        return counted >= FOREIGN;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    assert.equal(counted, FOREIGN, "exactly the super user's records: none of the agents'");
    const health = await rig.client.getFlowHealth({ flow: REVERSE_FLOW_NAME });
    assert.equal(health.foreignWrites, String(FOREIGN));
    let seen = "";
    await waitFor(
      "split brain reported for the group",
      async () => {
        const reason = (await rig.client.getFlowHealth({ flow: REVERSE_FLOW_NAME }))
          .splitBrainReason;
        const gauge = await metricSum("geo_split_brain", (l) => l.includes('group="orders"'));
        seen = `reason "${reason}", geo_split_brain ${gauge}`;
        return reason !== "" && gauge === 1;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last: ${seen}`);
    });
    assert.match(
      seen,
      /\d+ records written into the passive region's remote topics by a non-agent/,
    );
  });

  // Last: it adds a flow (and its replication), kept out of the exact foreign-write count above.
  it("a remote topic created in us-east (passive now) after the switchover is made read-only by the keeper", async () => {
    await createTopicsEverywhere([rig.admins[1]!], [LATE]);
    await rig.admin.createFlow({
      flow: {
        name: "west-east-audit",
        sourceCluster: "eu-west",
        targetCluster: "us-east",
        topics: { include: [LATE] },
        syncGroupOffsets: false,
      },
    });
    await waitFor(
      `${REMOTE_OF_LATE} created in us-east by the coordinator`,
      async () => (await rig.admins[0]!.listTopics()).includes(REMOTE_OF_LATE),
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    const created = performance.now();
    await waitForDenial(0, REMOTE_OF_LATE, true);
    const protectedAfterMs = Math.round(performance.now() - created);
    console.log(`${REMOTE_OF_LATE} denied ${protectedAfterMs} ms after it was seen`);
    assert.equal(await produceAsApp(0, REMOTE_OF_LATE), "TOPIC_AUTHORIZATION_FAILED");
    assert.equal(await produceAsApp(1, LATE), "ok", "eu-west (active) takes the writes");
    assert.ok(
      protectedAfterMs < 10 * KEEPER_INTERVAL_MS,
      `protected within a few keeper intervals (${protectedAfterMs} ms)`,
    );
  });
});
