// `npm start`: a local two-region stack on this machine, until Ctrl-C. Two real Kafka clusters
// (us-east, eu-west) and Redis from the test harness, and the four services in one child process
// configured by config/demo.yaml. Every few seconds it prints what the services report.
// gRPC runs with mutual TLS and authorization, from a CA and certificates made at each start in
// .cache/demo/pki: the services present "geo-services" (role service), and "demo-admin" (role
// admin) is the certificate to call them with.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { clientTlsCredentials } from "@geo/grpc";
import {
  createTestPki,
  type KafkaCluster,
  type RedisServer,
  runKafkaTool,
  startKafkaClusters,
  startRedis,
  stopAll,
  trackProcess,
} from "@geo/harness";
import { printStatus } from "./demo-status";
import { startDemoTraffic } from "./demo-traffic";

const root = join(__dirname, "..", "..", "..");
const STATUS_EVERY_MS = 5_000;

async function main(): Promise<void> {
  const logDir = join(root, ".cache", "demo");
  mkdirSync(logDir, { recursive: true });
  const say = (line: string) => process.stdout.write(`${line}\n`);

  let child: ChildProcess | undefined;
  let stopTraffic: () => Promise<void> = async () => {};
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say("\nstopping the services, Kafka clusters and Redis…");
    await stopTraffic();
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    await stopAll();
    say("stopped.");
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));

  say(
    "starting two Kafka clusters (us-east, eu-west) and Redis; the first run fetches Kafka's jars…",
  );
  let clusters: KafkaCluster[];
  let redis: RedisServer;
  try {
    [clusters, redis] = await Promise.all([
      startKafkaClusters(["us-east", "eu-west"]),
      startRedis(),
    ]);
  } catch (error) {
    process.stderr.write(`could not start the local clusters: ${(error as Error).message}\n`);
    await shutdown(1);
    return;
  }
  const [usEast, euWest] = clusters as [KafkaCluster, KafkaCluster];
  say(`Kafka ${usEast.version} (as the brokers report it)`);

  const logFile = join(logDir, "services.log");
  const security = writeSecureConfig(logDir);
  const env = {
    ...process.env,
    GEO_CONFIG: security.configFile,
    US_EAST_BOOTSTRAP: usEast.bootstrapServers.join(","),
    EU_WEST_BOOTSTRAP: euWest.bootstrapServers.join(","),
    GEO_REDIS_URL: redis.url,
  };
  // Its own process group: Ctrl-C reaches only this demo, which stops the services first and
  // the clusters after; the reaper still ends them if this process dies without stopping them.
  child = spawn(process.execPath, [join(__dirname, "main.js")], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  if (child.pid !== undefined) trackProcess(child.pid);
  const log = createWriteStream(logFile);
  child.stderr?.pipe(log);
  child.once("exit", (code, signal) => {
    if (!stopping) {
      process.stderr.write(`the services exited (${code ?? signal}); see ${logFile}\n`);
      void shutdown(1);
    }
  });
  const listening = await new Promise<Record<string, string>>((resolve) => {
    const timer = setTimeout(() => {
      process.stderr.write(`the services did not start within 90 s; see ${logFile}\n`);
      void shutdown(1);
    }, 90_000);
    const lines = createInterface({ input: child!.stdout! });
    lines.on("line", (line) => {
      log.write(`${line}\n`);
      try {
        const entry = JSON.parse(line) as { msg?: string; endpoints?: Record<string, string> };
        if (entry.msg === "started" && entry.endpoints !== undefined) {
          clearTimeout(timer);
          resolve(entry.endpoints);
        }
      } catch {
        // Not a log line of ours; it is in the log file anyway.
      }
    });
  });

  // Services bind every interface; from this machine they are reached on loopback.
  const endpoints = Object.fromEntries(
    Object.entries(listening).map(([name, address]) => [
      name,
      address.replace(/^0\.0\.0\.0:/, "127.0.0.1:"),
    ]),
  );
  say("\nlocal two-region stack is up:");
  const rows: [string, string][] = [
    ["Kafka us-east", usEast.bootstrapServers.join(",")],
    ["Kafka eu-west", euWest.bootstrapServers.join(",")],
    ["Redis", redis.url],
    ...Object.entries(endpoints).map(([name, address]) => [name, address] as [string, string]),
    ["service logs", logFile],
    ["CA certificate", security.client.caFile],
    ["admin certificate", security.client.certFile],
    ["admin key", security.client.keyFile],
    ["viewer certificate", security.viewer.certFile],
    ["viewer key", security.viewer.keyFile],
  ];
  for (const [name, address] of rows) say(`  ${name.padEnd(24)} ${address}`);
  say(
    `\ntry: npx buf curl --protocol grpc --cacert ${security.client.caFile} --cert ${security.client.certFile} --key ${security.client.keyFile} https://${endpoints["coordinator.grpc"]}/geo.coordinator.v1.CoordinatorService/ListFlows`,
  );
  say("Ctrl-C stops everything.\n");

  // Kafka's own topic tool: it waits for the new topic's leader however busy the machine is.
  for (const [cluster, topic] of [
    [usEast, "orders"],
    [euWest, "payments"],
  ] as const) {
    const created = await runKafkaTool(cluster, "topics", [
      "--create",
      "--if-not-exists",
      "--topic",
      topic,
      "--partitions",
      "3",
      "--replication-factor",
      "1",
    ]);
    if (created.code !== 0) throw new Error(`creating ${topic}: ${created.stderr.trim()}`);
  }
  const traffic = await startDemoTraffic([
    { region: "us-east", topic: "orders", bootstrapServers: usEast.bootstrapServers },
    { region: "eu-west", topic: "payments", bootstrapServers: euWest.bootstrapServers },
  ]);
  stopTraffic = () => traffic.stop();
  say(
    'writing sample records: "orders" in us-east (replicated to eu-west as "us-east.orders") and "payments" in eu-west (to us-east as "eu-west.payments")\n',
  );
  say("ready");
  const coordinator = endpoints["coordinator.grpc"] ?? "";
  const health = endpoints["health.grpc"] ?? "";
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, STATUS_EVERY_MS));
    if (stopping) return;
    await printStatus({
      coordinator,
      health,
      say,
      written: traffic.written(),
      clientOptions: { credentials: clientTlsCredentials(security.client) },
    });
  }
}

/**
 * A fresh CA and certificates in `<dir>/pki`, and config/demo.yaml with a `grpc:` section that
 * turns on mutual TLS and authorization, written to `<dir>/geo.yaml`.
 */
function writeSecureConfig(dir: string) {
  const pkiDir = join(dir, "pki");
  rmSync(pkiDir, { recursive: true, force: true });
  const pki = createTestPki(pkiDir, "geo-demo-ca");
  const services = pki.issue("geo-services");
  const admin = pki.issue("demo-admin");
  const viewer = pki.issue("demo-viewer");
  const configFile = join(dir, "geo.yaml");
  const base = readFileSync(join(root, "config", "demo.yaml"), "utf8");
  writeFileSync(
    configFile,
    `${base}
# Added by the demo: mutual TLS between every service and client, and who may do what.
grpc:
  tls:
    certFile: ${JSON.stringify(services.certFile)}
    keyFile: ${JSON.stringify(services.keyFile)}
    caFile: ${JSON.stringify(pki.caFile)}
  auth:
    principals:
      - { name: geo-services, certificate: geo-services, roles: [service] }
      - { name: demo-admin, certificate: demo-admin, roles: [admin] }
      - { name: demo-viewer, certificate: demo-viewer, roles: [viewer] }
`,
  );
  return {
    configFile,
    client: { ...admin, caFile: pki.caFile },
    viewer: { ...viewer, caFile: pki.caFile },
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`the demo failed: ${(error as Error).stack ?? String(error)}\n`);
  void stopAll().finally(() => process.exit(1));
});
