#!/usr/bin/env node
// Developer CLI over the harness (build first: npx tsc -b libs/local-runtime).
//   node scripts/kafka-tool.mjs fetch                       fetch/check the Kafka jars, print where
//   node scripts/kafka-tool.mjs cluster [--brokers N] [--name NAME] [--redis]
//                                                           start a cluster (and Redis), print the
//                                                           addresses, stop everything on Ctrl-C
//   node scripts/kafka-tool.mjs <tool> --bootstrap HOST:PORT[,…] [tool args…]
//                                                           run a Kafka CLI tool from the same jars
// Tools: topics, consumer-groups, console-producer, console-consumer, producer-perf, consumer-perf.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const harness = require("../libs/local-runtime/dist/index.js");

function option(args, name, fallback) {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = args[at + 1];
  args.splice(at, 2);
  return value;
}

function flag(args, name) {
  const at = args.indexOf(name);
  if (at >= 0) args.splice(at, 1);
  return at >= 0;
}

async function main() {
  const [command, ...args] = process.argv.slice(2);
  if (command === "fetch") {
    const started = Date.now();
    const distribution = await harness.ensureKafkaDistribution();
    process.stdout.write(
      `Kafka ${distribution.version} jars in ${distribution.dir} (${Date.now() - started} ms)\n`,
    );
    return;
  }
  if (command === "cluster") {
    const brokers = Number(option(args, "--brokers", "1"));
    const name = option(args, "--name", "dev");
    const withRedis = flag(args, "--redis");
    const started = Date.now();
    const [cluster, redis] = await Promise.all([
      harness.startKafkaCluster({ name, brokers }),
      withRedis ? harness.startRedis() : undefined,
    ]);
    process.stdout.write(
      `Kafka ${cluster.version} "${name}" ready in ${Date.now() - started} ms: ${cluster.bootstrapServers.join(",")}\n`,
    );
    if (redis) process.stdout.write(`Redis: ${redis.url}\n`);
    process.stdout.write("Ctrl-C stops everything.\n");
    const keepAlive = setInterval(() => {}, 60_000);
    const stop = async () => {
      clearInterval(keepAlive);
      await harness.stopAll();
      process.exit(0);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    return;
  }
  if (harness.KAFKA_TOOL_NAMES.includes(command)) {
    const bootstrap = option(args, "--bootstrap", process.env.KAFKA_BOOTSTRAP);
    if (!bootstrap) throw new Error("give --bootstrap HOST:PORT (or set KAFKA_BOOTSTRAP)");
    const input = process.stdin.isTTY ? undefined : await new Response(process.stdin).text();
    const result = await harness.runKafkaTool(bootstrap.split(","), command, args, {
      input,
      timeoutMs: 24 * 3600_000,
    });
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    process.exitCode = result.code;
    return;
  }
  process.stderr.write(
    `usage: kafka-tool.mjs fetch | cluster [--brokers N] [--name NAME] [--redis] | <${harness.KAFKA_TOOL_NAMES.join("|")}> --bootstrap HOST:PORT [args]\n`,
  );
  process.exitCode = 2;
}

main().catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
