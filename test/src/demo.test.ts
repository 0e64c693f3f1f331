// `npm start`'s main job: a local two-region stack that comes up, answers, and stops on Ctrl-C
// without leaving a process behind.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { it } from "node:test";
import { Code, clientTlsCredentials, createGrpcClient, type GeoError } from "@geo/grpc";
import { createTestPki, trackProcess } from "@geo/harness";
import { CoordinatorService, ReplicationHealthService } from "@geo/proto";
import { waitFor } from "./support/wait-for";

const demo = join(__dirname, "..", "..", "services", "all-in-one", "dist", "demo.js");

it("the demo starts two regions and the four services, replicates both ways, and Ctrl-C stops everything", async () => {
  const child = spawn(process.execPath, [demo], { stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid !== undefined) trackProcess(child.pid);
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => lines.push(line));
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  try {
    await waitFor("the demo to print ready", () => lines.includes("ready"), {
      timeoutMs: 120_000,
    }).catch((error: Error) => {
      throw new Error(`${error.message}; the demo printed:\n${lines.join("\n")}`);
    });
    const text = lines.join("\n");
    assert.match(text, /Kafka 3\.9\.\d+ \(as the brokers report it\)/);
    const address = (name: string) => {
      const match = new RegExp(`^\\s+${name.replace(".", "\\.")}\\s+(\\S+)$`, "m").exec(text);
      assert.ok(match, `the demo prints ${name}`);
      return match[1]!;
    };
    // mTLS with the admin certificate the demo made; without one the services refuse the call.
    const credentials = clientTlsCredentials({
      caFile: address("CA certificate"),
      certFile: address("admin certificate"),
      keyFile: address("admin key"),
    });
    const anonymous = createGrpcClient(CoordinatorService, {
      address: address("coordinator.grpc"),
      defaultTimeoutMs: 5000,
    });
    await assert.rejects(
      anonymous.listFlows({}),
      (error: GeoError) => error.code === Code.UNAVAILABLE,
    );
    anonymous.close();
    // A certificate from another CA is refused at the handshake; a viewer may read, not fail over.
    const rogueDir = mkdtempSync(join(tmpdir(), "geo-demo-rogue-"));
    const rogue = createTestPki(rogueDir, "rogue").issue("demo-admin");
    const untrusted = createGrpcClient(ReplicationHealthService, {
      address: address("health.grpc"),
      defaultTimeoutMs: 5000,
      credentials: clientTlsCredentials({ ...rogue, caFile: address("CA certificate") }),
    });
    await assert.rejects(
      untrusted.failover({ flowGroup: "x", targetRegion: "us-east" }),
      (error: GeoError) => error.code === Code.UNAVAILABLE,
    );
    untrusted.close();
    rmSync(rogueDir, { recursive: true, force: true });
    const viewer = createGrpcClient(ReplicationHealthService, {
      address: address("health.grpc"),
      defaultTimeoutMs: 5000,
      credentials: clientTlsCredentials({
        caFile: address("CA certificate"),
        certFile: address("viewer certificate"),
        keyFile: address("viewer key"),
      }),
    });
    await assert.rejects(
      viewer.failover({ flowGroup: "x", targetRegion: "us-east" }),
      (error: GeoError) =>
        error.code === Code.PERMISSION_DENIED && /needs the admin role/.test(error.message),
    );
    await viewer.listClusterHealth({});
    viewer.close();
    const coordinator = createGrpcClient(CoordinatorService, {
      address: address("coordinator.grpc"),
      credentials,
    });
    const health = createGrpcClient(ReplicationHealthService, {
      address: address("health.grpc"),
      credentials,
    });
    try {
      // A coordinator answers flow reads once it has read the flow store (UNAVAILABLE before).
      let names: string[] = [];
      await waitFor("the coordinator lists its flows", async () => {
        names = (await coordinator.listFlows({})).flows.map((flow) => flow.name);
        return true;
      });
      assert.deepEqual(names, ["eu-west->us-east", "us-east->eu-west"]);
      await waitFor("both regions' agents connected", async () => {
        const { agents } = await coordinator.listAgents({});
        return (
          agents
            .map((agent) => agent.region)
            .sort()
            .join() === "eu-west,us-east"
        );
      });
      // Both flows really copy the sample records: the demo's status lines say so.
      await waitFor(
        "both flows reporting copied records",
        () =>
          ["us-east->eu-west", "eu-west->us-east"].every((flow) =>
            lines.some((line) =>
              new RegExp(`flow\\s+${flow}: 3/3 partitions running, [1-9]\\d* records copied`).test(
                line,
              ),
            ),
          ),
        { timeoutMs: 60_000 },
      );
      const { clusters } = await health.listClusterHealth({});
      assert.deepEqual(
        clusters.map((cluster) => [cluster.cluster, cluster.reachable, cluster.brokerCount]),
        [
          ["eu-west", true, 1],
          ["us-east", true, 1],
        ],
      );
    } finally {
      coordinator.close();
      health.close();
    }
    child.kill("SIGINT");
    assert.equal(await exited, 0, lines.join("\n"));
    assert.match(lines.join("\n"), /stopped\.$/m);
    // The brokers and Redis the demo started carry this run's id: the suite's orphan check
    // (scripts/check-orphans.mjs) fails the run if any of them outlived the demo.
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});
