// MirrorMaker 2 as its users run it, for the `failover` benchmark's comparison: the dedicated
// MirrorMaker driver (org.apache.kafka.connect.mirror.MirrorMaker) from the same Kafka jars as
// the brokers, replicating source -> target with checkpoints, and Java's
// RemoteClusterUtils.translateOffsets (connect-mirror-client) as a long-running helper process, so
// that its answer can be taken at a precise moment without a JVM start in between.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { type KafkaCluster, trackProcess } from "@geo/local-runtime";

const execFileAsync = promisify(execFile);

export interface MirrorMakerOptions {
  readonly source: KafkaCluster;
  readonly target: KafkaCluster;
  /** MM2's cluster aliases; the remote topics are `<sourceAlias>.<topic>`. */
  readonly sourceAlias: string;
  readonly targetAlias: string;
  /** Regular expression of the replicated topics and of the checkpointed groups. */
  readonly topics: string;
  readonly groups: string;
  /** emit.checkpoints.interval.seconds (MM2's default is 60). */
  readonly checkpointSeconds: number;
  /** Folder for the properties, log4j file and log. */
  readonly dir: string;
}

export interface MirrorMaker {
  readonly logPath: string;
  /** The settings it runs with, for the report. */
  readonly settings: string;
  stop(): Promise<void>;
}

export function startMirrorMaker(options: MirrorMakerOptions): MirrorMaker {
  const { source, target, sourceAlias: from, targetAlias: to, dir } = options;
  const settings = [
    `emit.checkpoints.interval.seconds = ${options.checkpointSeconds}`,
    "refresh.groups.interval.seconds = 5",
    "refresh.topics.interval.seconds = 5",
    // The procedure measured is the documented one: translateOffsets, then seek.
    "sync.group.offsets.enabled = false",
  ];
  const properties = [
    `clusters = ${from}, ${to}`,
    `${from}.bootstrap.servers = ${source.bootstrapServers.join(",")}`,
    `${to}.bootstrap.servers = ${target.bootstrapServers.join(",")}`,
    `${from}->${to}.enabled = true`,
    `${to}->${from}.enabled = false`,
    `${from}->${to}.topics = ${options.topics}`,
    `${from}->${to}.groups = ${options.groups}`,
    ...settings,
    "sync.topic.acls.enabled = false",
    // Kafka's own plugins declare themselves (KIP-898): no minute-long classpath scan at start.
    // (top level for the driver, cluster level for the herder's worker)
    "plugin.discovery = service_load",
    `${to}.plugin.discovery = service_load`,
    ...[
      "replication.factor",
      "checkpoints.topic.replication.factor",
      "heartbeats.topic.replication.factor",
      "offset-syncs.topic.replication.factor",
      "offset.storage.replication.factor",
      "status.storage.replication.factor",
      "config.storage.replication.factor",
    ].map((key) => `${key} = 1`),
    "",
  ];
  const propertiesPath = join(dir, "mm2.properties");
  writeFileSync(propertiesPath, properties.join("\n"));
  const logPath = join(dir, "mm2.log");
  const log4jPath = join(dir, "mm2-log4j.properties");
  writeFileSync(
    log4jPath,
    [
      "log4j.rootLogger=INFO, file",
      "log4j.appender.file=org.apache.log4j.FileAppender",
      `log4j.appender.file.File=${logPath}`,
      "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
      "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
      "",
    ].join("\n"),
  );
  const { javaBin, classpath } = target.distribution;
  const child = spawn(
    javaBin,
    [
      "-Xms128m",
      "-Xmx768m",
      `-Dlog4j.configuration=file:${log4jPath}`,
      "-cp",
      classpath,
      "org.apache.kafka.connect.mirror.MirrorMaker",
      propertiesPath,
      // Only the herder of the target cluster: nothing replicates into the source.
      "--clusters",
      to,
    ],
    { stdio: "ignore" },
  );
  if (child.pid !== undefined) trackProcess(child.pid);
  return {
    logPath,
    settings: `MM2 ${target.distribution.version}: ${settings.join(", ")}, offset.lag.max = 100 (default)`,
    stop: () => stopChild(child),
  };
}

const TRANSLATOR = `
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.mirror.RemoteClusterUtils;

/** Reads "<sourceAlias> <group>" lines; answers OFFSET lines for each, then DONE (or ERROR). */
public class Translator {
  public static void main(String[] args) throws Exception {
    Map<String, Object> props = new HashMap<>();
    props.put("bootstrap.servers", args[0]);
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    for (String line; (line = in.readLine()) != null; ) {
      String[] words = line.trim().split(" ");
      try {
        Map<TopicPartition, OffsetAndMetadata> offsets =
            RemoteClusterUtils.translateOffsets(props, words[0], words[1], Duration.ofSeconds(30));
        for (Map.Entry<TopicPartition, OffsetAndMetadata> e : offsets.entrySet()) {
          System.out.println("OFFSET " + e.getKey().topic() + " " + e.getKey().partition() + " " + e.getValue().offset());
        }
        System.out.println("DONE");
      } catch (Exception e) {
        System.out.println("ERROR " + e.toString().replace('\\n', ' '));
      }
      System.out.flush();
    }
  }
}
`;

export interface TranslatedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

export interface OffsetTranslator {
  /** RemoteClusterUtils.translateOffsets(target, sourceAlias, group), and how long it took. */
  translate(
    sourceAlias: string,
    group: string,
  ): Promise<{ offsets: TranslatedOffset[]; ms: number }>;
  stop(): Promise<void>;
}

/** Compiles the helper against the Kafka jars and starts it against `target`. */
export async function startOffsetTranslator(
  target: KafkaCluster,
  dir: string,
): Promise<OffsetTranslator> {
  const { javaBin, classpath } = target.distribution;
  writeFileSync(join(dir, "Translator.java"), TRANSLATOR);
  const javac = javaBin === "java" ? "javac" : join(javaBin, "..", "javac");
  await execFileAsync(javac, ["-cp", classpath, "-d", dir, join(dir, "Translator.java")]);
  const child = spawn(
    javaBin,
    [
      "-Xmx128m",
      "-Dlog4j.configuration=file:/dev/null",
      "-cp",
      `${dir}:${classpath}`,
      "Translator",
      target.bootstrapServers.join(","),
    ],
    { stdio: ["pipe", "pipe", "ignore"] },
  );
  if (child.pid !== undefined) trackProcess(child.pid);
  const lines = createInterface({ input: child.stdout! });
  let waiting: ((line: string) => void) | undefined;
  lines.on("line", (line) => waiting?.(line));
  let queue = Promise.resolve();
  const ask = (sourceAlias: string, group: string) =>
    new Promise<{ offsets: TranslatedOffset[]; ms: number }>((resolve, reject) => {
      const offsets: TranslatedOffset[] = [];
      const started = performance.now();
      waiting = (line) => {
        const [word, topic, partition, offset] = line.trim().split(" ");
        if (word === "OFFSET") {
          offsets.push({ topic: topic!, partition: Number(partition), offset: BigInt(offset!) });
        } else if (word === "DONE") {
          resolve({ offsets, ms: performance.now() - started });
        } else if (word === "ERROR") {
          reject(new Error(`RemoteClusterUtils.translateOffsets failed: ${line}`));
        }
      };
      child.stdin!.write(`${sourceAlias} ${group}\n`);
    });
  return {
    translate(sourceAlias, group) {
      const answer = queue.then(() => ask(sourceAlias, group));
      queue = answer.then(
        () => undefined,
        () => undefined,
      );
      return answer;
    },
    stop: () => stopChild(child),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}
