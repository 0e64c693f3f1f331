// The health service against real Kafka, Redis, a coordinator and an agent, scraped by a real
// Prometheus: lag per partition from the source's end offsets and the progress in the target,
// heartbeats through the flow, lag that stays right when the agent dies and is unknown (not 0)
// when the source is lost; every metric the dashboard names is really exported.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createGrpcClient, type GrpcClient } from "@geo/grpc";
import {
  ensureKafkaDistribution,
  type PrometheusServer,
  startPrometheus,
} from "@geo/local-runtime";
import { ReplicationHealthService } from "@geo/proto";
import {
  FLOW,
  type GeoStack,
  settledUnits,
  startGeoStack,
  trackFailures,
} from "./support/geo-stack";
import { waitFor } from "./support/wait-for";

const root = join(__dirname, "..", "..");
const TOPIC = "orders";
const PARTITIONS = 3;
const failures = trackFailures();
let stack: GeoStack;
let prometheus: PrometheusServer;
let health: GrpcClient<typeof ReplicationHealthService>;
let healthStarted = 0;
/** Everything WatchHealth streamed since the start, in order. */
const watched: {
  initial: boolean;
  cluster?: string;
  reachable?: boolean;
  flow?: string;
  status?: number;
}[] = [];
const stopWatch = new AbortController();
let watching: Promise<void> | undefined;

before(async () => {
  stack = await startGeoStack({
    name: "health",
    topics: [TOPIC],
    partitions: PARTITIONS,
    coordinators: 1,
    agents: ["agent-1"],
    health: true,
  });
  healthStarted = Date.now();
  const services = [stack.health!, stack.coordinators[0]!, ...stack.agents.values()];
  prometheus = await startPrometheus({
    targets: services.map((s) => s.endpoints.metrics!),
    ruleFiles: [join(root, "deploy", "prometheus", "alerts.yml")],
  });
  health = createGrpcClient(ReplicationHealthService, {
    address: stack.health!.endpoints.grpc!,
    defaultTimeoutMs: 5000,
  });
  watching = (async () => {
    for await (const m of health.watchHealth(
      {},
      { signal: stopWatch.signal, timeoutMs: 600_000 },
    )) {
      if (m.change.case === "cluster") {
        watched.push({
          initial: m.initial,
          cluster: m.change.value.cluster,
          reachable: m.change.value.reachable,
        });
      } else if (m.change.case === "flow") {
        watched.push({
          initial: m.initial,
          flow: m.change.value.flow,
          status: m.change.value.status,
        });
      }
    }
  })().catch(() => {});
});

after(async () => {
  stopWatch.abort();
  await watching;
  health?.close();
  await prometheus?.stop();
  await stack?.stop(failures.failed);
});

const query = (promql: string) => prometheus.query(promql);
const one = async (promql: string) => (await query(promql))[0]?.value;

async function produce(count: number, partition: number): Promise<void> {
  const producer = stack.pair.source.kafka.producer();
  await producer.connect();
  try {
    await producer.send({
      topic: TOPIC,
      messages: Array.from({ length: count }, (_, i) => ({ partition, value: `record-${i}` })),
    });
  } finally {
    await producer.disconnect();
  }
}

test("heartbeats come through the flow in MM2's topic and their latency reaches Prometheus", async () => {
  await waitFor(
    "a heartbeat latency for the flow in Prometheus",
    async () =>
      (await query(`geo_health_flow_last_heartbeat_latency_seconds{flow="${FLOW}"}`)).length === 1,
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  const afterStart = (Date.now() - healthStarted) / 1000;
  console.log(
    `heartbeat latency in Prometheus ${afterStart.toFixed(1)} s after the health service started`,
  );
  // The remote heartbeats topic is where MM2's MirrorClient looks for replication hops.
  const topics = await stack.pair.target.admin.listTopics();
  assert.ok(topics.includes("us-east.heartbeats"), `target topics: ${topics.join(", ")}`);
  // MM2's own MirrorClient, reading the target, finds the hop from us-east.
  const kafka = await ensureKafkaDistribution();
  const mm2 = spawnSync(
    kafka.javaBin,
    [
      "-cp",
      kafka.classpath,
      join(root, "test", "java", "MirrorHops.java"),
      stack.pair.target.cluster.bootstrapServers.join(","),
      "us-east",
    ],
    { encoding: "utf8", timeout: 120_000 },
  );
  assert.equal(mm2.status, 0, mm2.stderr);
  assert.match(mm2.stdout, /upstream=us-east hops=1/);
  const flow = await health.getFlowHealth({ flow: FLOW });
  assert.ok(flow.heartbeatLatency !== undefined, "GetFlowHealth reports the heartbeat latency");
  assert.ok(flow.heartbeatAge !== undefined);
  const latency = await one(`geo_health_flow_last_heartbeat_latency_seconds{flow="${FLOW}"}`);
  assert.ok(latency !== undefined && latency < 30, `latency ${latency} s`);
});

test("lag per partition comes down to 0 once records are replicated", async () => {
  await settledUnits(stack, PARTITIONS + 1, ["agent-1"], { timeoutMs: 90_000 });
  for (let p = 0; p < PARTITIONS; p++) await produce(5 + p, p);
  let last = "";
  await waitFor(
    "GetFlowHealth to show every record replicated",
    async () => {
      const flow = await health.getFlowHealth({ flow: FLOW, topics: [TOPIC] });
      last = JSON.stringify(flow.partitions.map((p) => [p.sourceEndOffset, p.nextSourceOffset]));
      return (
        last ===
        JSON.stringify([
          ["5", "5"],
          ["6", "6"],
          ["7", "7"],
        ])
      );
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  ).catch((error) => assert.fail(`${(error as Error).message}; last ${last}`));
  await waitFor(
    "every partition's lag at 0 in Prometheus",
    async () => {
      const series = await query(
        `geo_health_partition_lag_records{flow="${FLOW}",topic="${TOPIC}"}`,
      );
      return series.length === PARTITIONS && series.every((s) => s.value === 0);
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  const flow = await health.getFlowHealth({ flow: FLOW, topics: [TOPIC] });
  assert.equal(flow.partitions.length, PARTITIONS);
  assert.deepEqual(
    flow.partitions.map((p) => [
      p.partition,
      p.sourceEndOffset,
      p.nextSourceOffset,
      p.lag?.records,
    ]),
    [
      [0, "5", "5", "0"],
      [1, "6", "6", "0"],
      [2, "7", "7", "0"],
    ],
  );
  // The flow's total also counts heartbeats in flight, so it is rarely exactly 0.
  assert.ok(flow.totalLag !== undefined);
});

test("every metric the dashboard queries is exported by a running service", async () => {
  const dashboard = readFileSync(
    join(root, "deploy", "grafana", "dashboards", "geo-replication.json"),
    "utf8",
  );
  const exprs = [...dashboard.matchAll(/"expr":\s*"((?:[^"\\]|\\.)*)"/g)].map(
    (m) => JSON.parse(`"${m[1]}"`) as string,
  );
  assert.ok(exprs.length >= 10, `found ${exprs.length} queries`);
  const named = new Set(
    exprs.flatMap((e) => [...e.matchAll(/\b((?:geo|process|nodejs|up)\w*)\b/g)].map((m) => m[1]!)),
  );
  const exported = new Set<string>();
  for (const service of [stack.health!, stack.coordinators[0]!, ...stack.agents.values()]) {
    const text = await (await fetch(`http://${service.endpoints.metrics}/metrics`)).text();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)/gm)) {
      exported.add(m[1]!);
      if (m[2] === "histogram")
        for (const s of ["_bucket", "_sum", "_count"]) exported.add(m[1]! + s);
    }
  }
  exported.add("up");
  const missing = [...named].filter((name) => !exported.has(name));
  assert.deepEqual(missing, [], "dashboard names metrics no service exports");
});

test("with the agent killed, lag grows in records and seconds and the heartbeat alert fires", async () => {
  await stack.kill(stack.agents.get("agent-1")!);
  await produce(6, 0);
  await waitFor(
    "lag of 6 records on partition 0",
    async () =>
      (await one(
        `geo_health_partition_lag_records{flow="${FLOW}",topic="${TOPIC}",partition="0"}`,
      )) === 6,
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  const first = await one(`geo_health_flow_lag_seconds{flow="${FLOW}"}`);
  await waitFor(
    "lag seconds growing",
    async () =>
      ((await one(`geo_health_flow_lag_seconds{flow="${FLOW}"}`)) ?? 0) > (first ?? 0) + 2,
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  // The flow's total also counts the heartbeats written since (they are replicated too).
  const flow = await health.getFlowHealth({ flow: FLOW, topics: [TOPIC] });
  assert.deepEqual(
    flow.partitions.map((p) => p.lag?.records),
    ["6", "0", "0"],
  );
  assert.ok(BigInt(flow.totalLag?.records ?? "0") >= 6n);
  // The alert rule's own expression, from the shipped rules file.
  const rules = readFileSync(join(root, "deploy", "prometheus", "alerts.yml"), "utf8");
  const expr = /alert: GeoFlowHeartbeatStale\n\s+expr: (.+)/.exec(rules)![1]!;
  await waitFor(
    `${expr} to hold for the flow`,
    async () => (await query(expr)).some((s) => s.metric.flow === FLOW),
    { timeoutMs: 90_000, intervalMs: 1000 },
  );
  let status = "";
  await waitFor(
    "GetFlowHealth to say STUCK",
    async () => {
      const flow = await health.getFlowHealth({ flow: FLOW });
      status = `${flow.status}: ${flow.statusReason}`;
      return flow.status === 3; // STUCK
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  ).catch((error) => assert.fail(`${(error as Error).message}; last ${status}`));
});

test("a unit in error: its lag counts every record behind it, and GeoUnitInError's expression fires", async () => {
  // Records 5..10 of partition 0 (not replicated: the agent is dead) are deleted at the source,
  // so the next agent finds its next offset (5) below the log start and stops the unit with
  // OFFSET_OUT_OF_RANGE (the flow's onOffsetOutOfRange: fail).
  await stack.pair.source.admin.deleteTopicRecords({
    topic: TOPIC,
    partitions: [{ partition: 0, offset: "11" }],
  });
  await produce(3, 0);
  await stack.startAgent("agent-2");
  const rules = readFileSync(join(root, "deploy", "prometheus", "alerts.yml"), "utf8");
  const expr = /alert: GeoUnitInError\n\s+expr: (.+)/.exec(rules)![1]!;
  await waitFor(
    `${expr} to hold for the flow`,
    async () => (await query(expr)).some((s) => s.metric.flow === FLOW),
    {
      timeoutMs: 90_000,
      intervalMs: 1000,
    },
  );
  let last = "";
  await waitFor(
    "partition 0 at 9 records behind with a lag in seconds, the others caught up",
    async () => {
      const flow = await health.getFlowHealth({ flow: FLOW, topics: [TOPIC] });
      last = JSON.stringify(
        flow.partitions.map((p) => [
          p.sourceEndOffset,
          p.nextSourceOffset,
          p.lag?.records,
          Number(p.lag?.time?.seconds ?? 0n),
        ]),
      );
      const [p0, p1, p2] = flow.partitions;
      return (
        p0?.lag?.records === "9" &&
        Number(p0.lag.time?.seconds ?? 0n) > 0 &&
        p1?.lag?.records === "0" &&
        p2?.lag?.records === "0"
      );
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  ).catch((error) => assert.fail(`${(error as Error).message}; last ${last}`));
  await waitFor(
    "Prometheus to show partition 0 at 9 records behind",
    async () =>
      (await one(
        `geo_health_partition_lag_records{flow="${FLOW}",topic="${TOPIC}",partition="0"}`,
      )) === 9,
    { timeoutMs: 30_000, intervalMs: 500 },
  );
});

test("with the source cluster gone, lag is unknown, not 0", async () => {
  await stack.pair.source.cluster.stop();
  await waitFor(
    "geo_health_flow_lag_unknown = 1",
    async () => (await one(`geo_health_flow_lag_unknown{flow="${FLOW}"}`)) === 1,
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  await waitFor(
    "the lag series to disappear",
    async () => (await query(`geo_health_flow_lag_records{flow="${FLOW}"}`)).length === 0,
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  const flow = await health.getFlowHealth({ flow: FLOW });
  assert.equal(flow.lagUnknown, true);
  assert.equal(flow.totalLag, undefined);
  assert.match(flow.lagUnknownReason, /us-east/);
  assert.equal(await one(`geo_health_cluster_up{cluster="us-east"}`), 0);
});

test("WatchHealth streamed the initial states and every change seen above", async () => {
  await waitFor(
    "us-east reported unreachable on the watch",
    () => watched.some((w) => w.cluster === "us-east" && w.reachable === false && !w.initial),
    { timeoutMs: 30_000 },
  );
  const flowStatuses = watched.filter((w) => w.flow === FLOW).map((w) => w.status);
  // HEALTHY (1) while it replicated, STUCK (3) with the agent dead, UNKNOWN (4) without a source.
  for (const status of [1, 3, 4]) {
    assert.ok(flowStatuses.includes(status), `statuses seen: ${flowStatuses.join(", ")}`);
  }
  assert.ok(watched.some((w) => w.cluster === "eu-west" && w.reachable === true));
});
