// Secrets never leave the process: the four services run with known secret values (a SASL
// password, Redis ACL and default passwords over TLS, gRPC tokens), some of them wrong on
// purpose so that failures get logged, and every log line, every status answer, every metric and
// every exported span is searched for them. Redis runs with TLS and an ACL user, so this also proves the services
// work against such a Redis.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type DescService, toJsonString } from "@bufbuild/protobuf";
import { clientTlsCredentials, createGrpcClient, type GeoError } from "@geo/grpc";
import {
  createTestPki,
  findFreePorts,
  type RedisServer,
  startRedis,
  type TestPki,
} from "@geo/local-runtime";
import {
  AgentService,
  CoordinatorService,
  OffsetTranslationService,
  ReplicationHealthService,
} from "@geo/proto";
import { type OtlpReceiver, startOtlpReceiver } from "./support/otlp-receiver";
import {
  type Pair,
  pairClustersYaml,
  SOURCE,
  startPair,
  TARGET,
} from "./support/replication-fixtures";
import { type ServiceProcess, startService } from "./support/service-process";
import { waitFor } from "./support/wait-for";

const SECRETS = {
  sasl: "sasl-Secret-Value-7f3a9c",
  redisUser: "redis-Acl-Secret-2b8d41",
  redisDefault: "redis-Default-Secret-c0ffee",
  agentToken: "agent-Token-Secret-51e2aa90",
  operatorToken: "operator-Token-Secret-9d0b77",
  wrongToken: "wrong-Token-Secret-00aa11bb",
};

let traces: OtlpReceiver;
let pair: Pair;
let redis: RedisServer;
let dir: string;
let pki: TestPki;
const services: Record<string, ServiceProcess> = {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "geo-secrets-"));
  pki = createTestPki(join(dir, "pki"));
  traces = await startOtlpReceiver();
  [pair, redis] = await Promise.all([
    startPair("secrets"),
    startRedis({
      password: SECRETS.redisDefault,
      users: [{ name: "geo", password: SECRETS.redisUser }],
      tls: { ...pki.issue("redis"), caFile: pki.caFile },
    }),
  ]);
  const [c, o, h] = (await findFreePorts(3)) as [number, number, number];
  const redisClient = pki.issue("redis-client");
  const configPath = join(dir, "geo.yaml");
  writeFileSync(
    configPath,
    `clusters:
${pairClustersYaml(pair)}
  # The source's brokers have no SASL listener: every connection fails, and gets logged.
  ap-south:
    bootstrapServers: [${pair.source.cluster.bootstrapServers.join(", ")}]
    sasl: { mechanism: scram-sha-512, username: geo, password: "\${SASL_PASSWORD}" }
flows:
  - { name: from-us, source: ${SOURCE}, target: ${TARGET}, topics: { include: ["orders"] } }
  - { name: from-ap, source: ap-south, target: ${TARGET}, naming: prefix, topics: { include: ["payments"] } }
flowStore: { cluster: ${TARGET} }
redis:
  url: "${redis.url.replace("rediss://", "rediss://geo@")}"
  password: "\${REDIS_PASSWORD}"
  keyPrefix: "geo-secrets:"
  tls: { caFile: ${pki.caFile}, certFile: ${redisClient.certFile}, keyFile: ${redisClient.keyFile} }
services:
  coordinator: { listen: "127.0.0.1:${c}", address: "127.0.0.1:${c}", metricsListen: "127.0.0.1:0" }
  offsets: { listen: "127.0.0.1:${o}", metricsListen: "127.0.0.1:0" }
  health: { listen: "127.0.0.1:${h}", metricsListen: "127.0.0.1:0" }
  agent: { listen: "127.0.0.1:0", metricsListen: "127.0.0.1:0" }
leases: { ttlMs: 3000, renewIntervalMs: 1000, safetyMarginMs: 750, graceMs: 500 }
discovery: { intervalMs: 500 }
logging: { level: debug }
grpc:
  clientToken: "\${AGENT_TOKEN}"
  tls: { certFile: "\${GEO_TLS_CERT}", keyFile: "\${GEO_TLS_KEY}", caFile: ${pki.caFile} }
  auth:
    principals:
      - { name: agent-1, token: "\${AGENT_TOKEN}", roles: [service] }
      - { name: ops, token: "\${OPERATOR_TOKEN}", roles: [operator] }
`,
  );
  const env = (name: string) => {
    const files = pki.issue(name);
    return {
      GEO_TLS_CERT: files.certFile,
      GEO_TLS_KEY: files.keyFile,
      SASL_PASSWORD: SECRETS.sasl,
      REDIS_PASSWORD: SECRETS.redisUser,
      AGENT_TOKEN: SECRETS.agentToken,
      OPERATOR_TOKEN: SECRETS.operatorToken,
      // Spans go to this test's receiver, which keeps them to be searched too.
      GEO_OTLP_ENDPOINT: traces.endpoint,
    };
  };
  const args = ["--config", configPath];
  [services.coordinator, services.offsets, services.health, services.agent] = await Promise.all([
    startService("coordinator", args, env("coordinator")),
    startService("offsets", args, env("offsets")),
    startService("health", args, env("health")),
    startService("agent", [...args, "--region", TARGET, "--id", "agent-1"], env("agent-1")),
  ]);
});

after(async () => {
  await Promise.all(Object.values(services).map((service) => service.stop()));
  await pair?.stop();
  await redis?.stop();
  traces?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function client<S extends DescService>(service: S, name: string, token = SECRETS.operatorToken) {
  return createGrpcClient(service, {
    address: services[name]!.endpoints.grpc!,
    defaultTimeoutMs: 10_000,
    credentials: clientTlsCredentials({ ...pki.issue("tester"), caFile: pki.caFile }),
    metadata: { authorization: `Bearer ${token}` },
  });
}

/** Every answer of every read method of `service` (and the error of those that fail), as text. */
async function readEverything<S extends DescService>(service: S, name: string): Promise<string> {
  const calls = client(service, name) as unknown as Record<
    string,
    (request: object) => Promise<unknown>
  >;
  const texts: string[] = [];
  for (const method of service.methods) {
    if (method.methodKind !== "unary" || !/^(Get|List)/.test(method.name)) continue;
    try {
      const answer = await calls[method.localName]!({});
      texts.push(toJsonString(method.output, answer as never));
    } catch (error) {
      texts.push(`${method.name}: ${(error as GeoError).message}`);
    }
  }
  (calls as unknown as { close(): void }).close();
  return texts.join("\n");
}

test("no secret appears in logs, errors, status answers, metrics or exported spans", async () => {
  // Let the failing cluster, discovery, leases and sessions log a while.
  const coordinator = client(CoordinatorService, "coordinator");
  await waitFor("the agent connected over Redis with TLS and an ACL user", async () => {
    const { agents } = await coordinator.listAgents({}).catch(() => ({ agents: [] }));
    return agents.length === 1;
  });
  await waitFor(
    "the coordinator logged the SASL cluster's failure",
    () =>
      services.coordinator!.output.some(
        (line) => /ap-south/.test(line) && /"level":"(warn|error)"/.test(line),
      ),
    { timeoutMs: 30_000 },
  ).catch((error: Error) => {
    const lines = Object.values(services).flatMap((s) =>
      s.output.filter((l) => l.includes("ap-south")),
    );
    throw new Error(`${error.message}:\n${lines.slice(-20).join("\n")}`);
  });
  // A wrong token is refused without being echoed.
  const intruder = client(CoordinatorService, "coordinator", SECRETS.wrongToken);
  const refused = await intruder.listFlows({}).catch((error: GeoError) => error.message);
  assert.match(String(refused), /bearer token is not known/);
  intruder.close();
  coordinator.close();

  const answers = [
    await readEverything(CoordinatorService, "coordinator"),
    await readEverything(ReplicationHealthService, "health"),
    await readEverything(OffsetTranslationService, "offsets"),
  ];
  const agentAddress = services.agent!.endpoints.grpc;
  if (agentAddress !== undefined) answers.push(await readEverything(AgentService, "agent"));
  const metrics = await Promise.all(
    Object.values(services).map(async (service) => {
      const address = service.endpoints.metrics;
      if (address === undefined) return "";
      return (await fetch(`http://${address}/metrics`)).text();
    }),
  );
  await waitFor("spans exported by the services", () => traces.exports.length > 0, {
    timeoutMs: 30_000,
  });
  const spans = Buffer.concat(traces.exports).toString("latin1");
  assert.ok(spans.includes("ap-south") || spans.includes("geo."), "the spans are searchable text");
  const outputs = Object.entries(services).map(([name, s]) => [name, s.output.join("\n")] as const);
  assert.ok(answers.join("").includes("ap-south"), "the answers describe the SASL cluster");
  for (const [what, secret] of Object.entries(SECRETS)) {
    for (const [name, text] of outputs) {
      assert.ok(!text.includes(secret), `${what} secret in the ${name} log`);
    }
    answers.forEach((text, index) => {
      assert.ok(!text.includes(secret), `${what} secret in status answers #${index}`);
    });
    assert.ok(!spans.includes(secret), `${what} secret in exported spans`);
    metrics.forEach((text, index) => {
      assert.ok(!text.includes(secret), `${what} secret in metrics #${index}`);
    });
  }
});
