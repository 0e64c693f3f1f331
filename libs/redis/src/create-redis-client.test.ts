import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Socket } from "node:net";
import { describe, it } from "node:test";
import { parseConfig, type RedisConfig } from "@geo/config";
import { createLogger } from "@geo/logging";
import { createRedisClient, describeRedisTarget, redisClientOptions } from "./create-redis-client";

function memoryLogger() {
  const lines: string[] = [];
  const logger = createLogger({
    service: "redis-test",
    level: "debug",
    destination: { write: (l: string) => void lines.push(l) },
  });
  return { logger, lines };
}

function redisConfig(yaml: string, env: Record<string, string> = {}): RedisConfig {
  return parseConfig(`clusters: { a: { bootstrapServers: ["a:9092"] } }\nredis: ${yaml}\n`, { env })
    .redis;
}

describe("redisClientOptions", () => {
  it("maps a standalone URL with user, password and database", () => {
    const { logger } = memoryLogger();
    const options = redisClientOptions(
      redisConfig('{ url: "redis://geo:p%40ss@redis.local:6380/3" }'),
      {
        logger,
        name: "coordinator",
      },
    );
    assert.equal(options.host, "redis.local");
    assert.equal(options.port, 6380);
    assert.equal(options.db, 3);
    assert.equal(options.username, "geo");
    assert.equal(options.password, "p@ss");
    assert.equal(options.connectionName, "geo-coordinator");
    assert.equal(options.lazyConnect, false);
    assert.equal(options.maxRetriesPerRequest, 2);
    assert.equal(options.connectTimeout, 5000);
    assert.equal(options.tls, undefined);
    assert.equal(options.sentinels, undefined);
    assert.equal(options.commandTimeout, undefined);
    assert.equal(
      (options as { keyPrefix?: string }).keyPrefix,
      undefined,
      "callers prefix keys themselves",
    );
  });

  it("backs off exponentially up to the cap and never gives up reconnecting", () => {
    const { logger } = memoryLogger();
    const options = redisClientOptions(redisConfig("{}"), {
      logger,
      name: "x",
      maxRetryDelayMs: 1000,
    });
    const delays = [1, 2, 3, 4, 5, 6, 10, 1000].map((attempt) => options.retryStrategy?.(attempt));
    // The shared jittered policy: each delay within [nominal / 2, nominal].
    const nominal = [50, 100, 200, 400, 800, 1000, 1000, 1000];
    delays.forEach((delay, i) => {
      const n = nominal[i]!;
      assert.ok(typeof delay === "number" && delay >= n / 2 && delay <= n, `${delay} for ${n}`);
    });
    const reconnect = options.reconnectOnError as (error: Error) => boolean | 1 | 2;
    assert.equal(reconnect(new Error("READONLY You can't write against a read only replica.")), 2);
    assert.equal(reconnect(new Error("ERR unknown command")), false);
  });

  it("uses TLS for rediss:// and the password field over the URL's", () => {
    const { logger } = memoryLogger();
    const options = redisClientOptions(
      redisConfig(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} is resolved by parseConfig
        '{ url: "rediss://:from-url@redis.example.com", password: "${REDIS_PASSWORD}" }',
        {
          REDIS_PASSWORD: "from-env",
        },
      ),
      { logger, name: "x", lazyConnect: true, maxRetriesPerRequest: 0, commandTimeoutMs: 2500 },
    );
    assert.equal(options.port, 6379);
    assert.equal(options.password, "from-env");
    assert.deepEqual(options.tls, { rejectUnauthorized: true });
    assert.equal(options.lazyConnect, true);
    assert.equal(options.maxRetriesPerRequest, 0);
    assert.equal(options.commandTimeout, 2500);
  });

  it("maps Sentinel nodes, master name and passwords", () => {
    const { logger } = memoryLogger();
    const redis = redisConfig(
      '{ sentinels: ["s1:26379", "s2:26380"], sentinelName: geo-master, password: pw, sentinelPassword: spw, tls: true }',
    );
    const options = redisClientOptions(redis, { logger, name: "agent" });
    assert.deepEqual(options.sentinels, [
      { host: "s1", port: 26379 },
      { host: "s2", port: 26380 },
    ]);
    assert.equal(options.name, "geo-master");
    assert.equal(options.password, "pw");
    assert.equal(options.sentinelPassword, "spw");
    assert.equal(options.enableTLSForSentinelMode, true);
    assert.deepEqual(options.sentinelTLS, { rejectUnauthorized: true });
    const sentinelDelay = options.sentinelRetryStrategy?.(100) ?? 0;
    assert.ok(sentinelDelay >= 1000 && sentinelDelay <= 2000, `${sentinelDelay}`);
    assert.equal(options.host, undefined);
    assert.equal(describeRedisTarget(redis), 'sentinel master "geo-master" via s1:26379,s2:26380');
  });

  it("rejects nonsense options", () => {
    const { logger } = memoryLogger();
    const redis = redisConfig("{}");
    assert.throws(() => redisClientOptions(redis, { logger, name: "has space" }), /name/);
    assert.throws(
      () => redisClientOptions(redis, { logger, name: "x", maxRetriesPerRequest: 100 }),
      /maxRetriesPerRequest/,
    );
    assert.throws(
      () => redisClientOptions(redis, { logger, name: "x", maxRetryDelayMs: 0 }),
      /maxRetryDelayMs/,
    );
    assert.throws(
      () => redisClientOptions(redis, { logger: undefined as never, name: "x" }),
      /logger/,
    );
  });
});

describe("createRedisClient", () => {
  it("logs a refused AUTH without the password", async () => {
    // A fake server that refuses every command the way Redis refuses a wrong password, and
    // echoes the password back, which a careless error log would then print.
    const password = "very-secret-redis-password";
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on("data", () =>
        socket.write(`-WRONGPASS invalid username-password pair (got ${password})\r\n`),
      );
      socket.on("close", () => sockets.delete(socket));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    const { logger, lines } = memoryLogger();
    const redis = redisConfig(`{ url: "redis://:${password}@127.0.0.1:${port}" }`);
    assert.equal(describeRedisTarget(redis), `redis://127.0.0.1:${port}`);
    const client = createRedisClient(redis, { logger, name: "auth-test", maxRetryDelayMs: 50 });
    try {
      const deadline = Date.now() + 5000;
      while (!lines.some((line) => line.includes("WRONGPASS")) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const line = lines.find((candidate) => candidate.includes("WRONGPASS"));
      assert.ok(line, `no WRONGPASS line in ${lines.join("")}`);
      const record = JSON.parse(line);
      assert.equal(record.level, "warn");
      assert.equal(record.client, "auth-test");
      assert.equal(record.redis, `redis://127.0.0.1:${port}`);
      assert.match(record.error, /got \[redacted\]/);
      assert.ok(!lines.join("").includes(password), "the password leaked into the log");
    } finally {
      client.disconnect();
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });
});
