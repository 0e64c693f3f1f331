import { spawn } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { homedir, hostname } from "node:os";
import { join } from "node:path";
import { HarnessError } from "./harness-error";
import { isProcessAlive } from "./process-state";

export const DEFAULT_KAFKA_VERSION = "3.9.2";
const FALLBACK_KAFKA_VERSION = "3.9.1";

export interface KafkaDistributionOptions {
  /** Apache Kafka version to fetch from Maven Central. Default 3.9.2 (3.9.1 if 3.9.2 does not resolve). */
  version?: string;
  /** Parent folder of the per-version jar folders. Default `$GEO_CACHE_DIR` or `~/.cache/geo-replication`. */
  cacheDir?: string;
  /** How long to wait for another process that is fetching the same version. Default 15 min. */
  lockTimeoutMs?: number;
}

export interface KafkaDistribution {
  /** The version whose jars are in `dir` (the fallback version if that was used). */
  version: string;
  /** Folder holding every runtime jar of the broker, tools and MirrorMaker 2. */
  dir: string;
  /** Literal `-cp` value; Java expands the `*`, so spawn without a shell. */
  classpath: string;
  /** `$JAVA_HOME/bin/java`, or `java` from PATH. */
  javaBin: string;
}

const MARKER = ".complete.json";
const memo = new Map<string, Promise<KafkaDistribution>>();

export function kafkaCacheRoot(): string {
  return process.env.GEO_CACHE_DIR ?? join(homedir(), ".cache", "geo-replication");
}

function javaBin(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, "bin", "java") : "java";
}

function distribution(version: string, dir: string): KafkaDistribution {
  return { version, dir, classpath: join(dir, "*"), javaBin: javaBin() };
}

/**
 * Apache Kafka's jars, fetched from Maven Central once per machine with libs/local-runtime/maven/pom.xml
 * and kept in a cache folder. Safe when several processes (parallel test files) call it at once:
 * one fetches under a lock file into a temp folder and renames it into place with a completion
 * marker inside; the others wait for the lock and find the marker.
 */
export function ensureKafkaDistribution(
  options: KafkaDistributionOptions = {},
): Promise<KafkaDistribution> {
  const version = options.version ?? DEFAULT_KAFKA_VERSION;
  const root = options.cacheDir ?? kafkaCacheRoot();
  const key = `${root}\0${version}`;
  let pending = memo.get(key);
  if (pending === undefined) {
    pending = resolveWithFallback(version, root, options.lockTimeoutMs ?? 15 * 60_000);
    memo.set(key, pending);
    pending.catch(() => memo.delete(key));
  }
  return pending;
}

async function resolveWithFallback(
  version: string,
  root: string,
  lockTimeoutMs: number,
): Promise<KafkaDistribution> {
  try {
    return await ensureVersion(version, root, lockTimeoutMs);
  } catch (error) {
    if (version !== DEFAULT_KAFKA_VERSION || (error as HarnessError).code !== "JARS_UNAVAILABLE") {
      throw error;
    }
    try {
      return await ensureVersion(FALLBACK_KAFKA_VERSION, root, lockTimeoutMs);
    } catch (fallbackError) {
      throw new HarnessError(
        "JARS_UNAVAILABLE",
        `${(error as Error).message}\n\nthe fallback ${FALLBACK_KAFKA_VERSION} failed too: ${(fallbackError as Error).message}`,
        { cause: error },
      );
    }
  }
}

async function ensureVersion(
  version: string,
  root: string,
  lockTimeoutMs: number,
): Promise<KafkaDistribution> {
  const dir = join(root, `kafka-${version}`);
  if (existsSync(join(dir, MARKER))) return distribution(version, dir);
  mkdirSync(root, { recursive: true });
  const release = await acquireLock(join(root, `kafka-${version}.lock`), lockTimeoutMs);
  try {
    // Another process may have finished while we waited for the lock.
    if (existsSync(join(dir, MARKER))) return distribution(version, dir);
    await fetchInto(version, root, dir);
    return distribution(version, dir);
  } finally {
    release();
  }
}

async function fetchInto(version: string, root: string, dir: string): Promise<void> {
  process.stderr.write(`fetching Kafka ${version} jars from Maven Central…\n`);
  const started = Date.now();
  const work = mkdtempSync(join(root, `.kafka-${version}.tmp-`));
  try {
    const pom = join(work, "pom.xml");
    // A copy, so Maven writes nothing into the repository's tree.
    copyFileSync(join(__dirname, "..", "maven", "pom.xml"), pom);
    const jars = join(work, "jars");
    const result = await run("mvn", [
      "-q",
      "-B",
      "-f",
      pom,
      "dependency:copy-dependencies",
      `-Dkafka.version=${version}`,
      "-DincludeScope=runtime",
      `-DoutputDirectory=${jars}`,
    ]);
    if (result.code !== 0) {
      throw new HarnessError(
        "JARS_UNAVAILABLE",
        `mvn could not fetch Apache Kafka ${version} from Maven Central (exit ${result.code}):\n${result.output.slice(-4000)}`,
      );
    }
    const names = existsSync(jars) ? readdirSync(jars) : [];
    for (const required of [`kafka_2.13-${version}.jar`, `kafka-tools-${version}.jar`]) {
      if (!names.includes(required)) {
        throw new HarnessError("JARS_UNAVAILABLE", `mvn finished but ${required} is missing`);
      }
    }
    const log4j1 = names.filter((name) => /^(log4j-1\.|slf4j-log4j12)/.test(name));
    if (log4j1.length > 0) {
      throw new HarnessError("JARS_UNAVAILABLE", `vulnerable logging jars slipped in: ${log4j1}`);
    }
    writeFileSync(
      join(jars, MARKER),
      `${JSON.stringify({ version, jars: names.length, fetchedAt: new Date().toISOString(), ms: Date.now() - started })}\n`,
    );
    // A folder without the marker is a leftover of a crash before this rename; replace it.
    rmSync(dir, { recursive: true, force: true });
    renameSync(jars, dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("error", (error) =>
      reject(
        new HarnessError(
          "JARS_UNAVAILABLE",
          `cannot run ${command} (is Maven installed and on PATH?): ${error.message}`,
          { cause: error },
        ),
      ),
    );
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

/** An exclusive lock file; a lock whose owner pid died (on this host) is taken over. */
async function acquireLock(file: string, timeoutMs: number): Promise<() => void> {
  const token = `${process.pid}@${hostname()}@${Date.now()}-${Math.random()}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(file, "wx");
      writeFileSync(fd, token);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(file, "utf8") === token) unlinkSync(file);
        } catch {
          // Gone already.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let owner = "";
    try {
      owner = readFileSync(file, "utf8");
    } catch {
      continue; // Released between our two calls.
    }
    const [pid, host] = owner.split("@");
    // An empty file is a lock being written right now; only a dead owner's lock is stale.
    if (pid && host === hostname() && !isProcessAlive(Number(pid))) {
      try {
        if (readFileSync(file, "utf8") === owner) unlinkSync(file);
      } catch {
        // Someone else cleaned it up.
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new HarnessError(
        "JARS_LOCK_TIMEOUT",
        `waited ${Math.round(timeoutMs / 1000)} s for ${file} (held by ${owner || "an unknown process"})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
