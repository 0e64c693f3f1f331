// `npm start`: a local three-region stack on this machine, until Ctrl-C. Three real Kafka clusters
// (us-east, eu-west, ap-south) and Redis from the test harness, and the four services in one
// child process configured by config/demo.yaml; or, with `--config my.yaml`, the services alone
// on the user's own clusters and Redis. Every few seconds it prints what the services report;
// `--drill` also moves the active-passive pair to ap-south and back (demo-drill.ts).
// The local stack's gRPC runs with mutual TLS and authorization, from a CA and certificates made
// at each start in .cache/demo/pki: the services present "geo-services" (role service);
// "demo-admin" (admin) and "demo-viewer" (viewer) are the certificates to call them with.
import { type ChildProcess, spawn } from "node:child_process";
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  type WriteStream,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import {
  clientTlsChannelOptions,
  clientTlsCredentials,
  type GrpcClientOptions,
  type TlsFiles,
} from "@geo/grpc";
import {
  createTestPki,
  DEFAULT_KAFKA_VERSION,
  type KafkaCluster,
  kafkaCacheRoot,
  type RedisServer,
  runKafkaTool,
  startKafkaClusters,
  startRedis,
  trackProcess,
} from "@geo/local-runtime";
import { DEMO_USAGE, type DemoArgs, parseDemoArgs } from "./demo-args";
import { runDrill } from "./demo-drill";
import { INVENTORY, type InventoryPair, startInventoryPair } from "./demo-inventory";
import { createDemoShutdown, type DemoShutdown } from "./demo-shutdown";
import { printStatus } from "./demo-status";
import { startDemoTraffic } from "./demo-traffic";

const root = join(__dirname, "..", "..", "..");
const STATUS_EVERY_MS = 5_000;
const SERVICES_START_BOUND_MS = 90_000;

const say = (line: string) => process.stdout.write(`${line}\n`);

interface LocalStack {
  usEast: KafkaCluster;
  euWest: KafkaCluster;
  apSouth: KafkaCluster;
  redis: RedisServer;
}

async function startLocalStack(): Promise<LocalStack> {
  // The harness renames a complete download into this folder, so its presence means "fetched".
  const jars = join(kafkaCacheRoot(), `kafka-${DEFAULT_KAFKA_VERSION}`);
  say(
    existsSync(jars)
      ? "starting three Kafka clusters (us-east, eu-west, ap-south) and Redis…"
      : `starting three Kafka clusters (us-east, eu-west, ap-south) and Redis; this first run downloads Kafka ${DEFAULT_KAFKA_VERSION}'s jars from Maven Central into ${kafkaCacheRoot()} (about a minute; later starts take seconds)…`,
  );
  const [clusters, redis] = await Promise.all([
    startKafkaClusters(["us-east", "eu-west", "ap-south"]),
    startRedis(),
  ]);
  const [usEast, euWest, apSouth] = clusters as [KafkaCluster, KafkaCluster, KafkaCluster];
  say(`Kafka ${usEast.version} (as the brokers report it)`);
  return { usEast, euWest, apSouth, redis };
}

/** Spawns the all-in-one process; resolves with its endpoints once it logged "started". */
async function startServices(
  env: NodeJS.ProcessEnv,
  log: WriteStream,
  logFile: string,
  stop: DemoShutdown,
): Promise<{ child: ChildProcess; endpoints: Record<string, string> }> {
  // Its own process group: Ctrl-C reaches only this demo, which stops the services first and
  // the clusters after; the reaper still ends them if this process dies without stopping them.
  const child = spawn(process.execPath, [join(__dirname, "main.js")], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  if (child.pid !== undefined) trackProcess(child.pid);
  stop.setChild(child);
  child.stderr?.pipe(log);
  child.once("exit", (code, signal) => {
    if (!stop.stopping) {
      process.stderr.write(`the services exited (${code ?? signal}); see ${logFile}\n`);
      void stop.shutdown(1);
    }
  });
  const listening = await new Promise<Record<string, string>>((resolve) => {
    const timer = setTimeout(() => {
      process.stderr.write(
        `the services did not start within ${SERVICES_START_BOUND_MS / 1000} s; see ${logFile}\n`,
      );
      void stop.shutdown(1);
    }, SERVICES_START_BOUND_MS);
    createInterface({ input: child.stdout! }).on("line", (line) => {
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
      address.replace(/^(0\.0\.0\.0|\[::\]):/, "127.0.0.1:"),
    ]),
  );
  return { child, endpoints };
}

/** The demo's certificates: what clients present to the local stack's services. */
interface DemoSecurity {
  configFile: string;
  admin: TlsFiles & { caFile: string };
  viewer: TlsFiles & { caFile: string };
}

/**
 * A fresh CA and certificates in `<dir>/pki`, and config/demo.yaml with a `grpc:` section that
 * turns on mutual TLS and authorization, written to `<dir>/geo.yaml`.
 */
function writeSecureConfig(dir: string): DemoSecurity {
  const pkiDir = join(dir, "pki");
  rmSync(pkiDir, { recursive: true, force: true });
  const pki = createTestPki(pkiDir, "geo-demo-ca");
  const services = pki.issue("geo-services");
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
    # The certificates name localhost; clients reach the services by IP address.
    serverName: localhost
  auth:
    principals:
      - { name: geo-services, certificate: geo-services, roles: [service] }
      - { name: demo-admin, certificate: demo-admin, roles: [admin] }
      - { name: demo-viewer, certificate: demo-viewer, roles: [viewer] }
`,
  );
  return {
    configFile,
    admin: { ...pki.issue("demo-admin"), caFile: pki.caFile },
    viewer: { ...pki.issue("demo-viewer"), caFile: pki.caFile },
  };
}

function printEndpoints(
  child: ChildProcess,
  stack: LocalStack | undefined,
  endpoints: Record<string, string>,
  logFile: string,
  security: DemoSecurity | undefined,
): void {
  say(stack === undefined ? "\nthe services are up:" : "\nlocal three-region stack is up:");
  const rows: [string, string][] = [
    ...(stack === undefined
      ? []
      : ([
          ["Kafka us-east", stack.usEast.bootstrapServers.join(",")],
          ["Kafka eu-west", stack.euWest.bootstrapServers.join(",")],
          ["Kafka ap-south", stack.apSouth.bootstrapServers.join(",")],
          ["Redis", stack.redis.url],
        ] as [string, string][])),
    ...Object.entries(endpoints),
    ["services process", `pid ${child.pid}`],
    ["service logs", logFile],
    ...(security === undefined
      ? []
      : ([
          ["CA certificate", security.admin.caFile],
          ["admin certificate", security.admin.certFile],
          ["admin key", security.admin.keyFile],
          ["viewer certificate", security.viewer.certFile],
          ["viewer key", security.viewer.keyFile],
        ] as [string, string][])),
  ];
  for (const [name, address] of rows) say(`  ${name.padEnd(24)} ${address}`);
  const metrics = Object.entries(endpoints).filter(([name]) => name.endsWith(".metrics"));
  say(
    `\nPrometheus metrics: each *.metrics address above serves /metrics (the agents' ports are picked free at start), e.g. curl http://${metrics.find(([name]) => name.startsWith("agent"))?.[1] ?? metrics[0]?.[1]}/metrics`,
  );
  const coordinator = endpoints["coordinator.grpc"];
  if (security === undefined) {
    say(`try: npx geoctl --coordinator ${coordinator} flows list`);
    say(
      `     npx buf curl --protocol grpc --http2-prior-knowledge http://${coordinator}/geo.coordinator.v1.CoordinatorService/ListFlows`,
    );
  } else {
    const { caFile, certFile, keyFile } = security.admin;
    say(
      `gRPC uses mutual TLS and roles (see SECURITY.md); calls need the admin (or viewer) certificate above.`,
    );
    say(
      `try: npx geoctl --coordinator ${coordinator} --ca ${caFile} --cert ${certFile} --key ${keyFile} flows list`,
    );
    say(
      `     npx buf curl --protocol grpc --cacert ${caFile} --cert ${certFile} --key ${keyFile} https://${coordinator}/geo.coordinator.v1.CoordinatorService/ListFlows`,
    );
  }
  say("Ctrl-C stops everything.\n");
}

interface SampleTraffic {
  written(): Record<string, number>;
  pair: InventoryPair;
}

async function startSampleTraffic(
  stack: LocalStack,
  stop: DemoShutdown,
  endpoints: Record<string, string>,
  grpc: Omit<GrpcClientOptions, "address">,
): Promise<SampleTraffic> {
  // Kafka's own topic tool: it waits for the new topic's leader however busy the machine is.
  for (const [cluster, topic] of [
    [stack.usEast, "orders"],
    [stack.euWest, "payments"],
    [stack.usEast, INVENTORY.topic],
    [stack.apSouth, INVENTORY.topic],
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
    { region: "us-east", topic: "orders", bootstrapServers: stack.usEast.bootstrapServers },
    { region: "eu-west", topic: "payments", bootstrapServers: stack.euWest.bootstrapServers },
  ]);
  const pair = await startInventoryPair({
    coordinator: endpoints["coordinator.grpc"] ?? "",
    health: endpoints["health.grpc"] ?? "",
    offsets: endpoints["offsets.grpc"] ?? "",
    grpc,
  });
  stop.setStopTraffic(async () => {
    await Promise.all([traffic.stop(), pair.stop()]);
  });
  say(
    'sample traffic: 20 records a second into "orders" in us-east (replicated to eu-west as "us-east.orders") and into "payments" in eu-west (to us-east as "eu-west.payments"): an active-active pair. The demo\'s flows select only these topics, so flows you create for other topics (geoctl flows apply) are accepted.',
  );
  say(
    `active-passive pair: flow group "${INVENTORY.flowGroup}" (us-east active, ap-south passive), 10 records a second into "${INVENTORY.topic}" by a producer that follows the active region, read by consumer group "${INVENTORY.consumerGroup}" that follows it too. Rehearse a move with npx geoctl drill ${INVENTORY.flowGroup} --to ${INVENTORY.passive} (certificates above), or start the demo with --drill.\n`,
  );
  return { written: () => traffic.written(), pair };
}

/** The demo's calls to its own services: as the admin certificate, or plain without TLS. */
function demoClientOptions(security: DemoSecurity | undefined): Omit<GrpcClientOptions, "address"> {
  if (security === undefined) return {};
  return {
    credentials: clientTlsCredentials(security.admin),
    channelOptions: clientTlsChannelOptions({ ...security.admin, serverName: "localhost" }),
  };
}

function startDrill(
  endpoints: Record<string, string>,
  grpc: Omit<GrpcClientOptions, "address">,
  pair: InventoryPair,
  stop: DemoShutdown,
): void {
  void runDrill({
    health: endpoints["health.grpc"] ?? "",
    grpc,
    pair,
    say,
    stopping: () => stop.stopping,
  }).then((passed) => {
    if (stop.stopping) return;
    say(
      passed
        ? "drill passed: the pair went to ap-south and back; every record was read exactly once. The demo keeps running; Ctrl-C stops it."
        : "drill FAILED (see above and .cache/demo/services.log). The demo keeps running; Ctrl-C stops it.",
    );
  });
}

async function run(args: DemoArgs, stop: DemoShutdown): Promise<void> {
  const logDir = join(root, ".cache", "demo");
  mkdirSync(logDir, { recursive: true });
  let stack: LocalStack | undefined;
  let security: DemoSecurity | undefined;
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (args.configPath === undefined) {
    stack = await startLocalStack();
    security = writeSecureConfig(logDir);
    Object.assign(env, {
      GEO_CONFIG: security.configFile,
      US_EAST_BOOTSTRAP: stack.usEast.bootstrapServers.join(","),
      EU_WEST_BOOTSTRAP: stack.euWest.bootstrapServers.join(","),
      AP_SOUTH_BOOTSTRAP: stack.apSouth.bootstrapServers.join(","),
      GEO_REDIS_URL: stack.redis.url,
    });
  } else {
    say(
      `starting the services with ${args.configPath} (your clusters and Redis; no sample traffic)…`,
    );
    env.GEO_CONFIG = args.configPath;
  }
  const logFile = join(logDir, "services.log");
  const log = createWriteStream(logFile);
  const { child, endpoints } = await startServices(env, log, logFile, stop);
  if (stop.stopping) return;
  printEndpoints(child, stack, endpoints, logFile, security);
  const grpc = demoClientOptions(security);
  const traffic =
    stack === undefined ? undefined : await startSampleTraffic(stack, stop, endpoints, grpc);
  say("ready");
  if (args.drill && traffic !== undefined) startDrill(endpoints, grpc, traffic.pair, stop);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, STATUS_EVERY_MS));
    if (stop.stopping) return;
    await printStatus({
      coordinator: endpoints["coordinator.grpc"] ?? "",
      health: endpoints["health.grpc"] ?? "",
      say,
      written: traffic?.written() ?? {},
      ...(traffic === undefined ? {} : { inventory: traffic.pair }),
      clientOptions: grpc,
    });
  }
}

function main(): void {
  let args: DemoArgs;
  try {
    args = parseDemoArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`npm start: ${(error as Error).message}\n\n${DEMO_USAGE}`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(DEMO_USAGE);
    return;
  }
  const stop = createDemoShutdown(say);
  run(args, stop).catch((error: unknown) => {
    process.stderr.write(`the demo failed: ${(error as Error).message ?? String(error)}\n`);
    void stop.shutdown(1);
  });
}

main();
