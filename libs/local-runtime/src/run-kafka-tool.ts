import { createHash } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { classDataArchive } from "./class-data-archive";
import { ensureKafkaDistribution, type KafkaDistribution } from "./ensure-kafka-distribution";
import { createHarnessDir } from "./harness-dir";
import { HarnessError } from "./harness-error";
import { clientPropertiesFile, toolsLog4jFile, writeClusterFiles } from "./kafka-files";
import { spawnManaged } from "./managed-process";
import { type KafkaCluster, quickJvmFlags } from "./start-kafka-cluster";

/** Kafka's command-line tools, by the name of their `bin/kafka-<name>.sh` script. */
export type KafkaToolName =
  | "topics"
  | "consumer-groups"
  | "console-producer"
  | "console-consumer"
  | "producer-perf"
  | "consumer-perf";

interface ToolSpec {
  mainClass: string;
  /** How the tool is told where the cluster is, unless the caller's args already say. */
  bootstrap: "bootstrap-server" | "producer-config";
  /** Throughput tools get the broker's JIT and collector so numbers are not skewed. */
  perf: boolean;
}

// Class names checked against the 3.9.2 jars: ConsoleProducer still lives in the Scala core jar,
// ConsoleConsumer already moved to kafka-tools.
const TOOLS: Record<KafkaToolName, ToolSpec> = {
  topics: {
    mainClass: "org.apache.kafka.tools.TopicCommand",
    bootstrap: "bootstrap-server",
    perf: false,
  },
  "consumer-groups": {
    mainClass: "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    bootstrap: "bootstrap-server",
    perf: false,
  },
  "console-producer": {
    mainClass: "kafka.tools.ConsoleProducer",
    bootstrap: "bootstrap-server",
    perf: false,
  },
  "console-consumer": {
    mainClass: "org.apache.kafka.tools.consumer.ConsoleConsumer",
    bootstrap: "bootstrap-server",
    perf: false,
  },
  // 3.9's ProducerPerformance has no --bootstrap-server.
  "producer-perf": {
    mainClass: "org.apache.kafka.tools.ProducerPerformance",
    bootstrap: "producer-config",
    perf: true,
  },
  "consumer-perf": {
    mainClass: "org.apache.kafka.tools.ConsumerPerformance",
    bootstrap: "bootstrap-server",
    perf: true,
  },
};

export const KAFKA_TOOL_NAMES = Object.keys(TOOLS) as KafkaToolName[];

export interface KafkaToolOptions {
  /** Kill the tool and reject with TOOL_TIMEOUT after this long. Default 60 s. */
  timeoutMs?: number;
  /** Written to the tool's stdin, which is then closed (console-producer reads records from it). */
  input?: string;
  /** Extra JVM flags, e.g. a bigger heap for perf tools. */
  jvmArgs?: string[];
}

export interface KafkaToolResult {
  stdout: string;
  stderr: string;
  /** Exit code; non-zero is returned, not thrown, so tests can assert on the tool's complaint. */
  code: number;
}

interface ToolTarget {
  bootstrap: string;
  /** Holds the tools' log4j config and a client.properties naming the bootstrap servers. */
  dir: string;
  distribution: KafkaDistribution;
}

let externalToolsDir: string | undefined;

async function resolveTarget(target: KafkaCluster | readonly string[]): Promise<ToolTarget> {
  if (!Array.isArray(target)) {
    const cluster = target as KafkaCluster;
    // Running brokers first: a tool gives up on a dead bootstrap server only after a timeout.
    const running = cluster.brokers.filter((b) => b.running);
    const bootstrap = (running.length > 0 ? running : cluster.brokers)
      .map((b) => `127.0.0.1:${b.port}`)
      .join(",");
    return { bootstrap, dir: cluster.dir, distribution: cluster.distribution };
  }
  const servers = target as readonly string[];
  if (servers.length === 0) throw new TypeError("runKafkaTool: no bootstrap servers given");
  const distribution = await ensureKafkaDistribution();
  externalToolsDir ??= createHarnessDir("tools");
  const bootstrap = servers.join(",");
  const dir = join(
    externalToolsDir,
    createHash("sha1").update(bootstrap).digest("hex").slice(0, 12),
  );
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    writeClusterFiles(dir, servers);
  }
  return { bootstrap, dir, distribution };
}

/**
 * Run one of Kafka's own CLI tools from the same jars as the brokers, against a harness cluster
 * or any bootstrap server list (filled in for the tool). Kafka's tools are an independent check
 * on what our code wrote.
 */
export async function runKafkaTool(
  target: KafkaCluster | readonly string[],
  tool: KafkaToolName,
  args: readonly string[],
  options: KafkaToolOptions = {},
): Promise<KafkaToolResult> {
  const spec = TOOLS[tool];
  if (spec === undefined) throw new TypeError(`unknown Kafka tool ${tool}`);
  const { bootstrap, dir, distribution } = await resolveTarget(target);
  const extra: string[] = [];
  if (spec.bootstrap === "bootstrap-server" && !args.includes("--bootstrap-server")) {
    extra.push("--bootstrap-server", bootstrap);
  }
  if (spec.bootstrap === "producer-config" && !args.includes("--producer.config")) {
    extra.push("--producer.config", clientPropertiesFile(dir));
  }
  const { javaBin, classpath } = distribution;
  const jvmFlags = spec.perf
    ? ["-Xmx512m", "-XX:+UseG1GC", "-XX:-UsePerfData"]
    : ["-Xmx256m", ...quickJvmFlags()];
  const timeoutMs = options.timeoutMs ?? 60_000;
  const cds = classDataArchive(distribution, "tool");
  const tool_ = spawnManaged(
    javaBin,
    [
      ...jvmFlags,
      ...cds.flags,
      "-Djava.awt.headless=true",
      `-Dlog4j.configuration=file:${toolsLog4jFile(dir)}`,
      ...(options.jvmArgs ?? []),
      "-cp",
      classpath,
      spec.mainClass,
      ...args,
      ...extra,
    ],
    { stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"], keepAlive: true },
  );
  let stdout = "";
  let stderr = "";
  tool_.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  tool_.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  if (options.input !== undefined) {
    tool_.child.stdin?.on("error", () => {});
    tool_.child.stdin?.end(options.input);
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void tool_.kill();
  }, timeoutMs);
  const exit = await tool_.exited;
  clearTimeout(timer);
  cds.settle(exit);
  // "exit" can precede the last "data" events of the pipes.
  await Promise.all(
    [tool_.child.stdout, tool_.child.stderr].map(
      (stream) =>
        new Promise<void>((resolve) => {
          if (stream === null || stream.readableEnded || stream.destroyed) resolve();
          else stream.once("close", () => resolve()).once("end", () => resolve());
        }),
    ),
  );
  if (timedOut) {
    throw new HarnessError(
      "TOOL_TIMEOUT",
      `kafka ${tool} ${args.join(" ")} did not finish within ${timeoutMs} ms\nstdout:\n${stdout.slice(-2000)}\nstderr:\n${stderr.slice(-2000)}`,
    );
  }
  if (exit.error !== undefined) {
    throw new HarnessError("START_FAILED", `cannot run kafka ${tool}: ${exit.error}`);
  }
  return { stdout, stderr, code: exit.code ?? 128 };
}
