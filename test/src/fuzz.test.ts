// Hostile input against every RPC of every service, running as real processes over real Kafka
// and Redis: 10,000+ malformed or random requests (random bytes, truncated messages, wrong wire
// types, invalid UTF-8, unknown enum values, deep nesting, huge strings and lists) plus gRPC
// frames cut short at the HTTP/2 level. Every answer must be a proper gRPC status (never
// UNKNOWN, which means a handler threw something unexpected), no process may crash, and memory
// must stay flat.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as http2Connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { findFreePorts, processRssBytes, type RedisServer, startRedis } from "@geo/local-runtime";
import {
  AgentService,
  AgentSessionService,
  CoordinatorService,
  Health,
  OffsetTranslationService,
  ReplicationHealthService,
  ServerReflection,
} from "@geo/proto";
import { Client, credentials, Metadata, status } from "@grpc/grpc-js";
import { createRandom, hostileRequest } from "./support/fuzz-requests";
import {
  type Pair,
  pairClustersYaml,
  SOURCE,
  startPair,
  TARGET,
} from "./support/replication-fixtures";
import { type ServiceProcess, startService } from "./support/service-process";

const REQUESTS = Number(process.env.GEO_FUZZ_REQUESTS ?? 10_000);
const CONCURRENCY = 32;
const SEED = Number(process.env.GEO_FUZZ_SEED ?? 14);

let pair: Pair;
let redis: RedisServer;
let dir: string;
const services: Record<string, ServiceProcess> = {};
const SERVED: Record<string, readonly DescService[]> = {
  coordinator: [CoordinatorService, AgentSessionService, Health, ServerReflection],
  offsets: [OffsetTranslationService, Health],
  health: [ReplicationHealthService, Health],
  agent: [AgentService, Health],
};

before(async () => {
  [pair, redis] = await Promise.all([startPair("fuzz"), startRedis()]);
  dir = mkdtempSync(join(tmpdir(), "geo-fuzz-"));
  const [c, o, h] = (await findFreePorts(3)) as [number, number, number];
  const configPath = join(dir, "geo.yaml");
  writeFileSync(
    configPath,
    `clusters:
${pairClustersYaml(pair)}
flows:
  - { name: file-flow, source: ${SOURCE}, target: ${TARGET}, topics: { include: ["orders"] } }
flowStore: { cluster: ${TARGET} }
redis: { url: "${redis.url}", keyPrefix: "geo-fuzz:" }
services:
  coordinator: { listen: "127.0.0.1:${c}", address: "127.0.0.1:${c}", metricsListen: "127.0.0.1:0" }
  offsets: { listen: "127.0.0.1:${o}", metricsListen: "127.0.0.1:0" }
  health: { listen: "127.0.0.1:${h}", metricsListen: "127.0.0.1:0" }
  agent: { listen: "127.0.0.1:0", metricsListen: "127.0.0.1:0" }
leases: { ttlMs: 3000, renewIntervalMs: 1000, safetyMarginMs: 750, graceMs: 500 }
logging: { level: info }
`,
  );
  const args = ["--config", configPath];
  [services.coordinator, services.offsets, services.health, services.agent] = await Promise.all([
    startService("coordinator", args),
    startService("offsets", args),
    startService("health", args),
    startService("agent", [...args, "--region", TARGET, "--id", "fuzz-agent"]),
  ]);
});

after(async () => {
  await Promise.all(Object.values(services).map((service) => service.stop()));
  await pair?.stop();
  await redis?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

interface Target {
  readonly name: string;
  readonly client: Client;
  readonly method: DescMethod;
}

const identity = (bytes: Buffer) => bytes;

/** Sends one hostile request; resolves with the gRPC status code the call ended with. */
function send(target: Target, body: () => Buffer): Promise<{ code: number; details: string }> {
  const path = `/${target.method.parent.typeName}/${target.method.name}`;
  const deadline = new Date(Date.now() + 3000);
  return new Promise((resolve) => {
    const done = (error: Partial<{ code: number; details: string }> | Error | null) =>
      resolve({
        code:
          (error as { code?: number } | null)?.code ??
          (error === null ? status.OK : status.UNKNOWN),
        details: (error as { details?: string } | null)?.details ?? "",
      });
    switch (target.method.methodKind) {
      case "unary":
        target.client.makeUnaryRequest(
          path,
          identity,
          identity,
          body(),
          new Metadata(),
          { deadline },
          done,
        );
        return;
      case "server_streaming": {
        const call = target.client.makeServerStreamRequest(
          path,
          identity,
          identity,
          body(),
          new Metadata(),
          { deadline },
        );
        const timer = setTimeout(() => call.cancel(), 100);
        call.on("data", () => {});
        call.on("error", (error) => {
          clearTimeout(timer);
          done(error);
        });
        call.on("end", () => {
          clearTimeout(timer);
          done(null);
        });
        return;
      }
      default: {
        const call = target.client.makeBidiStreamRequest(path, identity, identity, new Metadata(), {
          deadline: new Date(Date.now() + 1000),
        });
        call.on("data", () => {});
        call.on("error", done);
        call.on("end", () => done(null));
        for (let i = 0; i < 3; i++) call.write(body());
        call.end();
      }
    }
  });
}

/** A gRPC frame whose length prefix promises more bytes than are sent, then the stream ends. */
function truncatedFrame(address: string, path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const session = http2Connect(`http://${address}`);
    session.on("error", () => resolve(undefined));
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    let grpcStatus: string | undefined;
    const note = (headers: Record<string, unknown>) => {
      if (headers["grpc-status"] !== undefined) grpcStatus = String(headers["grpc-status"]);
    };
    stream.on("response", note);
    stream.on("trailers", note);
    stream.on("data", () => {});
    stream.on("close", () => {
      session.close();
      resolve(grpcStatus);
    });
    stream.on("error", () => {});
    const frame = Buffer.alloc(15);
    frame.writeUInt8(0, 0);
    frame.writeUInt32BE(1000, 1);
    stream.end(frame);
  });
}

const rss = () =>
  Object.fromEntries(
    Object.entries(services).map(([name, s]) => [name, processRssBytes(s.child.pid!) ?? 0]),
  );

test(`${REQUESTS} hostile requests: proper statuses, no crash, flat memory`, async () => {
  const targets: Target[] = [];
  for (const [name, served] of Object.entries(SERVED)) {
    const client = new Client(services[name]!.endpoints.grpc!, credentials.createInsecure());
    for (const service of served) {
      for (const method of service.methods) targets.push({ name, client, method });
    }
  }
  const random = createRandom(SEED);
  const codes = new Map<string, number>();
  const unknown: string[] = [];
  const slowest = new Map<string, number>();
  const internal = new Set<string>();
  let sent = 0;
  const round = async (count: number) => {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const index = next++;
        const target = targets[(sent + index) % targets.length]!;
        const callStarted = Date.now();
        const result = await send(target, () => hostileRequest(target.method.input, random));
        const methodKey = `${target.name} ${target.method.name}`;
        slowest.set(methodKey, (slowest.get(methodKey) ?? 0) + Date.now() - callStarted);
        const key = `${status[result.code] ?? result.code}`;
        codes.set(key, (codes.get(key) ?? 0) + 1);
        if (result.code === status.INTERNAL) internal.add(result.details.slice(0, 60));
        if (result.code === status.UNKNOWN || !(result.code in status)) {
          unknown.push(`${target.method.parent.name}/${target.method.name}: ${result.details}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    sent += count;
  };
  const started = Date.now();
  await round(Math.min(1000, REQUESTS)); // warm-up: heaps and caches reach their working size
  const before = rss();
  await round(REQUESTS - Math.min(1000, REQUESTS));
  const truncated: (string | undefined)[] = [];
  for (const target of targets.filter((t) => t.method.methodKind === "unary").slice(0, 40)) {
    truncated.push(
      await truncatedFrame(
        services[target.name]!.endpoints.grpc!,
        `/${target.method.parent.typeName}/${target.method.name}`,
      ),
    );
  }
  const seconds = (Date.now() - started) / 1000;
  for (const target of targets) target.client.close();
  const afterRss = rss();
  process.stdout.write(
    `${sent} requests to ${targets.length} methods in ${seconds.toFixed(1)} s; codes ${JSON.stringify(Object.fromEntries(codes))}; truncated frames answered ${JSON.stringify(truncated)}; RSS MiB before ${JSON.stringify(mib(before))} after ${JSON.stringify(mib(afterRss))}\n`,
  );
  const top = [...slowest].sort((a, b) => b[1] - a[1]).slice(0, 8);
  process.stdout.write(`slowest methods (total ms): ${JSON.stringify(top)}\n`);
  process.stdout.write(`INTERNAL answers: ${JSON.stringify([...internal].slice(0, 10))}\n`);
  assert.ok(sent >= REQUESTS);
  // INTERNAL only where grpc-js refuses bytes that are no message of the method's type (or the
  // client itself reset a stream): never from a handler.
  for (const details of internal) assert.match(details, /deserializing request|RST_STREAM/);
  assert.deepEqual(unknown.slice(0, 10), [], "answers with UNKNOWN status");
  for (const [name, service] of Object.entries(services)) {
    assert.equal(
      service.child.exitCode,
      null,
      `${name} crashed:\n${service.output.slice(-20).join("\n")}`,
    );
    const grown = (afterRss[name]! - before[name]!) / 2 ** 20;
    assert.ok(grown < 150, `${name} RSS grew by ${grown.toFixed(0)} MiB`);
  }
  assert.ok(
    truncated.every((code) => code !== undefined && code !== "0"),
    `every truncated frame gets an error status: ${truncated}`,
  );
});

function mib(values: Record<string, number>) {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Math.round(v / 2 ** 20)]));
}
