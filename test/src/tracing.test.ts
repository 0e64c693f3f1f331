// Traces across the system against real Kafka, Redis, a coordinator process and an agent process,
// all exporting to an in-process OTLP/gRPC receiver: an admin request from geoctl is one trace
// through the coordinator's assignment round to the agent's applying of the assignment; sampled
// batches get a source-read span and a target-write span linking it; records stay byte for byte.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { type GeoStack, startGeoStack, trackFailures } from "./support/geo-stack";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "./support/otlp-receiver";
import {
  createTopic,
  endOffset,
  fidelity,
  readPartition,
  SOURCE,
  TARGET,
} from "./support/replication-fixtures";
import { waitFor } from "./support/wait-for";

const bin = join(__dirname, "..", "..", "cli", "geoctl", "bin", "geoctl.cjs");
const run = promisify(execFile);
const TOPIC = "traced";
const REMOTE = `${SOURCE}.${TOPIC}`;
const RECORDS = 20;

describe("traces across geoctl, coordinator and agent", () => {
  let receiver: OtlpReceiver;
  let stack: GeoStack;
  let dir: string;
  const failures = trackFailures();

  const geoctl = async (...args: string[]) => {
    const coordinator = stack.coordinators[0]!.endpoints.grpc!;
    const env = {
      ...process.env,
      GEOCTL_CONFIG: join(dir, "contexts.yaml"),
      GEOCTL_COORDINATOR: coordinator,
      GEOCTL_ACTOR: "tracing-test",
      GEO_OTLP_ENDPOINT: receiver.endpoint,
    };
    return run(process.execPath, [bin, ...args], { env, timeout: 60_000 });
  };

  /** The trace of the geoctl command whose root span is named `name`, once it reached the agent. */
  const requestTrace = async (name: string) => {
    let spans: ReceivedSpan[] = [];
    await waitFor(
      `the trace of "${name}" to reach the agent's apply-assignment span`,
      () => {
        const root = receiver.spans.find((s) => s.service === "geoctl" && s.name === name);
        spans = root === undefined ? [] : receiver.spans.filter((s) => s.traceId === root.traceId);
        // Each process exports its spans on its own schedule: the agent's can arrive before the
        // coordinator's round that is its parent. Wait for the whole chain up to the root.
        const apply = spans.find((s) => s.name === "geo.agent.apply-assignment");
        return apply !== undefined && chainReachesRoot(spans, apply);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    return spans;
  };

  /** Every ancestor of `span` is among `spans`, up to a root span. */
  const chainReachesRoot = (spans: ReceivedSpan[], span: ReceivedSpan): boolean => {
    let current: ReceivedSpan | undefined = span;
    for (let depth = 0; current !== undefined && depth < 16; depth++) {
      if (current.parentSpanId === "") return true;
      const parentId: string = current.parentSpanId;
      current = spans.find((s) => s.spanId === parentId);
    }
    return false;
  };

  /** `child`'s parent is the span named `parentName` of service `parentService`. */
  const parentOf = (spans: ReceivedSpan[], child: ReceivedSpan): ReceivedSpan => {
    const parent = spans.find((s) => s.spanId === child.parentSpanId);
    assert.ok(parent, `the parent of ${child.service} "${child.name}" is not in the trace`);
    return parent;
  };

  /** geoctl root -> grpc client span -> coordinator server span -> round -> agent's apply. */
  const assertRequestChain = (spans: ReceivedSpan[], rpc: string) => {
    const apply = spans.find((s) => s.name === "geo.agent.apply-assignment")!;
    assert.equal(apply.service, "geo-agent");
    assert.equal(apply.attributes["geo.agent.id"], "agent-1");
    const round = parentOf(spans, apply);
    assert.equal(round.name, "geo.coordinator.assignment-round");
    assert.equal(round.service, "geo-coordinator");
    const server = parentOf(spans, round);
    assert.equal(server.service, "geo-coordinator");
    assert.match(server.name, new RegExp(`CoordinatorService/${rpc}$`));
    const client = parentOf(spans, server);
    assert.equal(client.service, "geoctl");
    assert.match(client.name, new RegExp(`CoordinatorService/${rpc}$`));
    const root = parentOf(spans, client);
    assert.equal(root.service, "geoctl");
    assert.equal(root.parentSpanId, "");
  };

  before(async () => {
    receiver = await startOtlpReceiver();
    dir = mkdtempSync(join(tmpdir(), "geo-tracing-"));
    stack = await startGeoStack({
      name: "tracing",
      topics: ["file-only"],
      partitions: 1,
      coordinators: 1,
      agents: ["agent-1"],
      telemetry: { otlpEndpoint: receiver.endpoint, traceBatchesOneIn: 1 },
    });
    await createTopic(stack.pair.source, TOPIC, 1);
    const producer = stack.pair.source.kafka.producer();
    await producer.connect();
    await producer.send({
      topic: TOPIC,
      messages: Array.from({ length: RECORDS }, (_, i) => ({
        key: `k${i}`,
        value: `v${i}`,
        // A traceparent of the record's own: tracing must carry it over untouched.
        headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
      })),
    });
    await producer.disconnect();
    await waitFor("a leading coordinator", async () => (await stack.leader()) !== undefined, {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
  });

  after(async () => {
    await stack?.stop(failures.failed);
    receiver?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("follows `geoctl flows apply` (CreateFlow) to the agent's assignment", async () => {
    const flowFile = join(dir, "traced.yaml");
    writeFileSync(
      flowFile,
      `flows:\n  - { name: traced, source: ${SOURCE}, target: ${TARGET}, provenanceHeader: false, topics: { include: [${TOPIC}] } }\n`,
    );
    await geoctl("flows", "apply", "-f", flowFile);
    assertRequestChain(await requestTrace("geoctl flows apply"), "CreateFlow");
  });

  it("traces sampled batches, a target write linking its source read, and keeps records as they were", async () => {
    await waitFor(
      `${RECORDS} records in ${REMOTE}`,
      async () => (await endOffset(stack.pair.target, REMOTE, 0).catch(() => 0n)) >= RECORDS,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const source = await readPartition(stack.pair.source, TOPIC, 0);
    const target = await readPartition(stack.pair.target, REMOTE, 0);
    assert.deepEqual(target.map(fidelity), source.map(fidelity));

    let writes: ReceivedSpan[] = [];
    await waitFor(
      "target-write spans of the traced flow",
      () => {
        writes = receiver.spans.filter(
          (s) =>
            s.name === "geo.replication.target-write" &&
            s.attributes["messaging.destination.name"] === REMOTE,
        );
        return writes.length > 0;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    for (const write of writes) {
      assert.equal(write.service, "geo-agent");
      assert.equal(write.links.length, 1);
      const read = receiver.spans.find((s) => s.spanId === write.links[0]!.spanId);
      assert.ok(read, "the linked source-read span was exported");
      assert.equal(read.name, "geo.replication.source-read");
      assert.equal(read.traceId, write.links[0]!.traceId);
      assert.equal(read.attributes["messaging.destination.name"], TOPIC);
      assert.equal(
        read.attributes["geo.source.first_offset"],
        write.attributes["geo.source.first_offset"],
      );
      assert.match(String(write.attributes["geo.target.base_offset"]), /^\d+$/);
    }
    // With one in one batches traced, the traced batches account for every record.
    const traced = writes.reduce(
      (n, w) => n + Number(w.attributes["messaging.batch.message_count"]),
      0,
    );
    assert.equal(traced, RECORDS);
  });

  it("follows `geoctl flows pause` (PauseFlow) to the agent's assignment", async () => {
    // Options before and after the command words: the span is named by the words alone.
    await geoctl("-o", "json", "flows", "pause", "traced", "--reason", "tracing test");
    assertRequestChain(await requestTrace("geoctl flows pause"), "PauseFlow");
  });
});
