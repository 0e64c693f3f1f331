import { closeSync, openSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { connect as connectTls } from "node:tls";
import { ensureDebianBinary } from "./apt-install";
import { findFreePorts } from "./free-ports";
import { createHarnessDir, removeHarnessDir } from "./harness-dir";
import { HarnessError } from "./harness-error";
import { logFileSize, readLogFrom, readLogTail } from "./log-file";
import { describeExit, type ManagedProcess, spawnManaged } from "./managed-process";
import { registerStoppable } from "./stop-all";

export interface RedisOptions {
  /**
   * Keep data across restart() with an append-only file. Default false, like the machines'
   * Redis, which keeps nothing on disk: a restart then returns an empty Redis.
   */
  appendOnly?: boolean;
  /** Deadline for the server to answer PING. Default 10 s. */
  startTimeoutMs?: number;
  /** Password of the default user (`requirepass`). */
  password?: string;
  /** ACL users with every permission, besides the default user. */
  users?: readonly { name: string; password: string }[];
  /** Serve TLS only (no plaintext port); clients need a certificate when `caFile` is set. */
  tls?: { certFile: string; keyFile: string; caFile?: string };
}

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Pid of the current redis-server (changes on restart). */
  readonly pid: number;
  readonly running: boolean;
  readonly dir: string;
  readonly logFile: string;
  /** SIGTERM (SIGKILL after 10 s) and delete the data dir. */
  stop(): Promise<void>;
  /** Stop and start on the same port; empty afterwards unless `appendOnly`. Works after kill(). */
  restart(): Promise<void>;
  /** SIGKILL, as a crash. restart() brings it back. */
  kill(): Promise<void>;
}

const STOP_GRACE_MS = 10_000;

let redisBinary: string | undefined;

/** Debian's redis-server, installed with apt-get the first time it is missing. */
export function ensureRedisServer(): string {
  redisBinary ??= ensureDebianBinary("redis-server", "redis-server", "REDIS_UNAVAILABLE");
  return redisBinary;
}

function ping(port: number, options: RedisOptions = {}): Promise<boolean> {
  return new Promise((resolve) => {
    const { tls } = options;
    const socket =
      tls === undefined
        ? connect({ host: "127.0.0.1", port })
        : connectTls({
            host: "127.0.0.1",
            port,
            rejectUnauthorized: false,
            cert: readFileSync(tls.certFile),
            key: readFileSync(tls.keyFile),
          });
    let answer = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on("error", () => done(false));
    const auth = options.password === undefined ? "" : `AUTH ${options.password}\r\n`;
    socket.on(tls === undefined ? "connect" : "secureConnect", () =>
      socket.write(`${auth}PING\r\n`),
    );
    socket.on("data", (chunk) => {
      answer += chunk.toString();
      const lines = answer.split("\r\n");
      if (lines.length > (auth === "" ? 1 : 2)) done(lines.at(-2) === "+PONG");
    });
  });
}

class Redis implements RedisServer {
  readonly host = "127.0.0.1";
  readonly logFile: string;
  private server: ManagedProcess | undefined;
  private stopping: Promise<void> | undefined;
  private forget: () => void = () => {};

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly binary: string,
    private readonly appendOnly: boolean,
    private readonly startTimeoutMs: number,
    private readonly security: Pick<RedisOptions, "password" | "users" | "tls"> = {},
  ) {
    this.logFile = join(dir, "redis.log");
  }

  get url(): string {
    return `${this.security.tls === undefined ? "redis" : "rediss"}://${this.host}:${this.port}`;
  }

  /** Command-line options for password, ACL users and TLS. */
  private securityArgs(): string[] {
    const { password, users, tls } = this.security;
    const args: string[] = [];
    if (password !== undefined) args.push("--requirepass", password);
    for (const user of users ?? []) {
      args.push("--user", user.name, "on", `>${user.password}`, "~*", "&*", "+@all");
    }
    if (tls !== undefined) {
      args.push("--tls-port", String(this.port), "--port", "0");
      args.push("--tls-cert-file", tls.certFile, "--tls-key-file", tls.keyFile);
      if (tls.caFile !== undefined) args.push("--tls-ca-cert-file", tls.caFile);
      args.push("--tls-auth-clients", tls.caFile === undefined ? "no" : "yes");
    }
    return args;
  }

  get pid(): number {
    return this.server?.pid ?? -1;
  }

  get running(): boolean {
    return this.server?.running ?? false;
  }

  track(): void {
    this.forget = registerStoppable(this);
  }

  async launch(): Promise<void> {
    const from = logFileSize(this.logFile);
    const log = openSync(this.logFile, "a");
    try {
      this.server = spawnManaged(
        this.binary,
        [
          "--port",
          String(this.port),
          ...this.securityArgs(),
          "--bind",
          "127.0.0.1",
          "--save",
          "",
          "--appendonly",
          this.appendOnly ? "yes" : "no",
          "--dir",
          this.dir,
          // Keep argv as given: the orphan check finds our servers by the dir in their command line.
          "--set-proc-title",
          "no",
          "--daemonize",
          "no",
          "--protected-mode",
          "no",
        ],
        { stdio: ["ignore", log, log], cwd: this.dir },
      );
    } finally {
      closeSync(log);
    }
    const server = this.server;
    let exited = false;
    void server.exited.then(() => {
      exited = true;
    });
    const deadline = Date.now() + this.startTimeoutMs;
    for (;;) {
      if (await ping(this.port, this.security)) {
        // Another process's server on a port we were told was free would also answer PING.
        if (server.running) return;
      }
      const text = readLogFrom(this.logFile, from);
      const failure = (code: HarnessError["code"], what: string) => {
        void server.kill();
        return new HarnessError(
          code,
          `redis-server on port ${this.port} ${what}; last lines of ${this.logFile}:\n${readLogTail(this.logFile)}`,
        );
      };
      if (/Address already in use/.test(text)) {
        throw failure("PORT_IN_USE", "could not bind its port");
      }
      if (exited) {
        throw failure(
          "START_FAILED",
          `exited during start-up (${describeExit(await server.exited)})`,
        );
      }
      if (Date.now() > deadline) {
        throw failure("START_TIMEOUT", `did not answer PING within ${this.startTimeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async kill(): Promise<void> {
    await this.server?.kill();
  }

  async restart(): Promise<void> {
    if (this.stopping !== undefined) {
      throw new HarnessError("ALREADY_STOPPED", `redis on port ${this.port} was stopped`);
    }
    await this.server?.terminate(STOP_GRACE_MS);
    await this.launch();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.forget();
      await this.server?.terminate(STOP_GRACE_MS);
      removeHarnessDir(this.dir);
    })();
    return this.stopping;
  }
}

/**
 * A private redis-server on a free loopback port with its own temp dir. Stopped by `stop()`,
 * `stopAll()`, or the reaper when this process ends. Never the machine's Redis on 6379.
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const binary = ensureRedisServer();
  for (let attempt = 1; ; attempt++) {
    const dir = createHarnessDir("redis");
    const [port] = await findFreePorts(1);
    const redis = new Redis(
      port!,
      dir,
      binary,
      options.appendOnly ?? false,
      options.startTimeoutMs ?? 10_000,
      options,
    );
    try {
      await redis.launch();
      redis.track();
      return redis;
    } catch (error) {
      await redis.kill();
      removeHarnessDir(dir);
      if ((error as HarnessError).code === "PORT_IN_USE" && attempt < 3) continue;
      throw error;
    }
  }
}
