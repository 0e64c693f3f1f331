// Fixture for harness.test.ts (not a test): fetches the Kafka jars into the cache folder given as
// argv[2] and prints the resulting distribution as JSON, so the test can race two processes.
import { ensureKafkaDistribution } from "@geo/local-runtime";

ensureKafkaDistribution({ cacheDir: process.argv[2] ?? "" })
  .then((distribution) => process.stdout.write(`${JSON.stringify(distribution)}\n`))
  .catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
