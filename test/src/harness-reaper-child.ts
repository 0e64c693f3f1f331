// Fixture for harness.test.ts (not a test): starts Redis, prints its pid and dir as one JSON line,
// then idles until the test kills this process, leaving the reaper to stop Redis.
import { startRedis } from "@geo/local-runtime";

async function main(): Promise<void> {
  const redis = await startRedis();
  process.stdout.write(`${JSON.stringify({ pid: redis.pid, dir: redis.dir, port: redis.port })}\n`);
  setInterval(() => {}, 60_000);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
