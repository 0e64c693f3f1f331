// The coordinator and an agent as real processes with mutual TLS and authorization from
// certificates made here, over real Kafka and Redis: who can connect, who may change what (with
// the caller recorded in the flow history), agents speaking only for themselves, and one
// pathological request refused fast without costing the coordinator its leadership or the agent
// its session.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  Code,
  clientTlsCredentials,
  createGrpcClient,
  createRequestQueue,
  type GeoError,
} from "@geo/grpc";
import {
  createTestPki,
  findFreePorts,
  type RedisServer,
  startRedis,
  type TestPki,
} from "@geo/local-runtime";
import { AgentSessionService, type agentV1, CoordinatorService, coordinatorV1 } from "@geo/proto";
import { credentials } from "@grpc/grpc-js";
import {
  type Pair,
  pairClustersYaml,
  SOURCE,
  startPair,
  TARGET,
} from "./support/replication-fixtures";
import { type ServiceProcess, startService } from "./support/service-process";
import { waitFor } from "./support/wait-for";

let pair: Pair;
let redis: RedisServer;
let dir: string;
let pki: TestPki;
let coordinator: ServiceProcess;
let agent: ServiceProcess;
let address: string;

const OPS_TOKEN = "ops-token-0123456789abcdef";

function writeConfig(port: number): string {
  const file = join(dir, "geo.yaml");
  writeFileSync(
    file,
    `clusters:
${pairClustersYaml(pair)}
flows:
  - { name: file-orders, source: ${SOURCE}, target: ${TARGET}, topics: { include: ["orders", "orders-.*"] } }
flowStore: { cluster: ${TARGET} }
redis: { url: "${redis.url}", keyPrefix: "geo-security:" }
services:
  coordinator: { listen: "127.0.0.1:${port}", address: "127.0.0.1:${port}", metricsListen: "127.0.0.1:0" }
  agent: { listen: "127.0.0.1:0", metricsListen: "127.0.0.1:0" }
leases: { ttlMs: 3000, renewIntervalMs: 1000, safetyMarginMs: 750, graceMs: 500 }
discovery: { intervalMs: 500 }
grpc:
  tls:
    certFile: \${GEO_TLS_CERT}
    keyFile: \${GEO_TLS_KEY}
    caFile: ${pki.caFile}
  auth:
    principals:
      - { name: coordinator, certificate: coordinator, roles: [service] }
      - { name: agent-1, certificate: agent-1, roles: [agent], region: ${TARGET}, agentId: agent-1 }
      - { name: alice, certificate: alice, roles: [admin] }
      - { name: bob, certificate: bob, roles: [viewer] }
      - { name: ops, token: ${OPS_TOKEN}, roles: [operator] }
`,
  );
  return file;
}

const identity = (name: string) => {
  const files = pki.issue(name);
  return { GEO_TLS_CERT: files.certFile, GEO_TLS_KEY: files.keyFile };
};

function coordinatorAs(name: string, metadata?: Record<string, string>) {
  const files = pki.issue(name);
  return createGrpcClient(CoordinatorService, {
    address,
    defaultTimeoutMs: 20_000,
    credentials: clientTlsCredentials({ ...files, caFile: pki.caFile }),
    ...(metadata === undefined ? {} : { metadata }),
  });
}

async function failure(promise: Promise<unknown>): Promise<GeoError> {
  try {
    await promise;
  } catch (error) {
    return error as GeoError;
  }
  throw new Error("expected the call to fail");
}

before(async () => {
  [pair, redis] = await Promise.all([startPair("security"), startRedis()]);
  dir = mkdtempSync(join(tmpdir(), "geo-security-"));
  pki = createTestPki(join(dir, "pki"));
  const [port] = await findFreePorts(1);
  const config = writeConfig(port!);
  coordinator = await startService("coordinator", ["--config", config], identity("coordinator"));
  address = coordinator.endpoints.grpc!;
  agent = await startService("agent", ["--config", config, "--region", TARGET, "--id", "agent-1"], {
    ...identity("agent-1"),
    COORDINATOR_ADDRESS: address,
  });
  const viewer = coordinatorAs("bob");
  await waitFor("agent-1 connected over mTLS", async () => {
    const { agents } = await viewer.listAgents({}).catch(() => ({ agents: [] }));
    return agents.some((a) => a.id === "agent-1");
  });
  viewer.close();
});

after(async () => {
  await Promise.all([agent?.stop(), coordinator?.stop()]);
  await pair?.stop();
  await redis?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

test("clients without a certificate, with an untrusted one, or in plaintext are refused", async () => {
  const noCertificate = createGrpcClient(CoordinatorService, {
    address,
    defaultTimeoutMs: 5000,
    credentials: credentials.createSsl(readFileSync(pki.caFile)),
  });
  assert.equal((await failure(noCertificate.listFlows({}))).code, Code.UNAVAILABLE);
  noCertificate.close();
  const rogue = createTestPki(join(dir, "rogue"), "rogue-ca").issue("alice");
  const untrusted = createGrpcClient(CoordinatorService, {
    address,
    defaultTimeoutMs: 5000,
    credentials: clientTlsCredentials({ ...rogue, caFile: pki.caFile }),
  });
  assert.equal((await failure(untrusted.listFlows({}))).code, Code.UNAVAILABLE);
  untrusted.close();
  const plaintext = createGrpcClient(CoordinatorService, { address, defaultTimeoutMs: 5000 });
  assert.equal((await failure(plaintext.listFlows({}))).code, Code.UNAVAILABLE);
  plaintext.close();
});

test("roles decide who may change flows; the history names the authenticated caller", async () => {
  const flow = {
    name: "secured",
    sourceCluster: SOURCE,
    targetCluster: TARGET,
    topics: { include: ["payments"] },
  };
  const bob = coordinatorAs("bob");
  const denied = await failure(bob.createFlow({ flow }));
  assert.equal(denied.code, Code.PERMISSION_DENIED);
  assert.match(denied.message, /CreateFlow needs the operator role; "bob" has viewer/);
  assert.equal((await bob.listFlows({})).flows.length, 1, "only the file's flow: nothing stored");

  const stranger = coordinatorAs("mallory");
  assert.equal((await failure(stranger.listFlows({}))).code, Code.UNAUTHENTICATED);
  stranger.close();

  const ops = coordinatorAs("mallory", { authorization: `Bearer ${OPS_TOKEN}` });
  await ops.createFlow({ flow }, { metadata: { "x-geo-actor": "someone-else" } });
  const deleteDenied = await failure(ops.deleteFlow({ name: "secured" }));
  assert.equal(deleteDenied.code, Code.PERMISSION_DENIED);
  assert.match(deleteDenied.message, /needs the admin role/);
  ops.close();

  const alice = coordinatorAs("alice");
  await alice.deleteFlow({ name: "secured" });
  const { changes } = await alice.listFlowChanges({ flow: "secured" });
  // Refusals are in the history too, with who was refused and why.
  const summary = changes
    .map((change) => `${coordinatorV1.FlowChangeKind[change.kind]}:${change.actor}`)
    .sort();
  assert.deepEqual(summary, ["CREATED:ops", "DELETED:alice", "REFUSED:bob", "REFUSED:ops"]);
  const refusal = changes.find((change) => change.actor === "bob");
  assert.match(refusal?.reason ?? "", /needs the operator role/);
  alice.close();
  bob.close();
});

test("an agent speaks only for its own id and region", async () => {
  const files = pki.issue("agent-1", { file: "agent-1-probe" });
  const session = createGrpcClient(AgentSessionService, {
    address,
    defaultTimeoutMs: 10_000,
    credentials: clientTlsCredentials({ ...files, caFile: pki.caFile }),
  });
  const requests = createRequestQueue<MessageInitShape<typeof agentV1.AgentMessageSchema>>();
  requests.push({
    message: { case: "hello", value: { agentId: "agent-2", region: TARGET, version: "test" } },
  });
  const error = await failure(
    (async () => {
      for await (const _ of session.connect(requests.iterable)) break;
    })(),
  );
  assert.equal(error.code, Code.PERMISSION_DENIED);
  assert.match(error.message, /may speak only for agent "agent-1"/);
  session.close();
  const alice = coordinatorAs("alice");
  const { agents } = await alice.listAgents({});
  assert.deepEqual(
    agents.map((a) => a.id),
    ["agent-1"],
  );
  alice.close();
});

test("8,000 patterns are refused fast; leadership and the agent's session are unaffected", async () => {
  const ops = coordinatorAs("mallory", { authorization: `Bearer ${OPS_TOKEN}` });
  const linesBefore = coordinator.output.length;
  const agentLinesBefore = agent.output.length;
  for (const count of [8000, 200_000]) {
    const include = Array.from({ length: count }, (_, i) => `topic-${i}`);
    const started = Date.now();
    const error = await failure(
      ops.createFlow({
        flow: {
          name: `huge-${count}`,
          sourceCluster: SOURCE,
          targetCluster: TARGET,
          topics: { include },
        },
      }),
    );
    const ms = Date.now() - started;
    assert.equal(error.code, Code.INVALID_ARGUMENT, error.message);
    assert.match(error.message, /flow.topics.include: has \d+ patterns.*maxPatternsPerList/);
    assert.ok(ms < 5000, `refused after ${ms} ms`);
  }
  const tooBig = await failure(
    ops.createFlow({
      flow: {
        name: "x",
        sourceCluster: SOURCE,
        targetCluster: TARGET,
        topics: { include: ["a".repeat(5_000_000)] },
      },
    }),
  );
  assert.equal(tooBig.code, Code.RESOURCE_EXHAUSTED);
  // At the limit, the overlap check against the file's flow is near-linear: accepted at once.
  const atLimit = Array.from({ length: 1000 }, (_, i) => `topic-${i}`);
  const started = Date.now();
  await ops.createFlow({
    flow: {
      name: "at-limit",
      sourceCluster: SOURCE,
      targetCluster: TARGET,
      topics: { include: atLimit },
    },
    validateOnly: true,
  });
  assert.ok(Date.now() - started < 5000, `validated in ${Date.now() - started} ms`);
  ops.close();
  // Two renewal intervals later, nothing was lost.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const since = coordinator.output.slice(linesBefore).join("\n");
  assert.doesNotMatch(since, /no longer leading|no longer the leader/);
  assert.doesNotMatch(agent.output.slice(agentLinesBefore).join("\n"), /session lost/);
});

test("a flow change the store's cluster refuses as too large is INVALID_ARGUMENT, not UNAVAILABLE", async () => {
  // The history topic accepts only small records now; a flow with many patterns no longer fits.
  await pair.target.admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: 2, // TOPIC
        name: "__geo.flows",
        configEntries: [{ name: "max.message.bytes", value: "2000" }],
      },
    ],
  });
  const ops = coordinatorAs("mallory", { authorization: `Bearer ${OPS_TOKEN}` });
  const include = Array.from({ length: 200 }, (_, i) => `large-topic-name-${i}`);
  const error = await failure(
    ops.createFlow({
      flow: {
        name: "too-large",
        sourceCluster: SOURCE,
        targetCluster: TARGET,
        topics: { include },
      },
    }),
  );
  ops.close();
  assert.equal(error.code, Code.INVALID_ARGUMENT, error.message);
  assert.match(error.message, /refused the change as too large/);
});
