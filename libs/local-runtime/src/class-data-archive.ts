// Java class-data sharing for the harness's JVMs. A dynamic CDS archive, written once per machine
// by the first JVM of each kind at its exit, lets later JVMs map Kafka's classes instead of loading
// and verifying them: measured on 2 cores, a broker is ready in ~1.3 s instead of ~2.3 s, with
// ~40% less start-up CPU and ~70 MB less RSS; a CLI tool starts in about half the CPU time.
// Any mismatch (other JDK, changed jars) makes the JVM ignore the archive and load classes as usual.
import {
  accessSync,
  constants,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { delimiter, dirname, join } from "node:path";
import type { KafkaDistribution } from "./ensure-kafka-distribution";
import type { ProcessExit } from "./managed-process";
import { isProcessAlive } from "./process-state";

/** Each kind of JVM loads a different set of classes, so each gets its own archive. */
export type ArchiveRole = "broker" | "format" | "tool";

export interface ArchiveUse {
  /** JVM flags to add; empty when sharing is off or another JVM is writing the archive. */
  flags: string[];
  /** True when this JVM writes the archive at its exit, so it deserves a clean, unhurried stop. */
  writing: boolean;
  /** Call with the JVM's exit: keeps the archive it wrote if it exited cleanly. */
  settle(exit: ProcessExit): void;
}

const OFF: ArchiveUse = { flags: [], writing: false, settle: () => {} };
// Unified logging would print CDS warnings (for example a stale archive) on stdout, where the
// tools print data; errors still reach stderr.
const QUIET = ["-Xshare:auto", "-Xlog:disable", "-Xlog:all=error:stderr"];
const writers = new Set<string>();
let jdkId: string | null | undefined;

function resolveJava(javaBin: string): string | undefined {
  if (javaBin.includes("/")) return javaBin;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    try {
      accessSync(join(dir, javaBin), constants.X_OK);
      return join(dir, javaBin);
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** "17.0.15+6-Debian-1deb12u1" from the JDK's release file; null when unknown or older than 13. */
function currentJdk(javaBin: string): string | null {
  if (jdkId !== undefined) return jdkId;
  jdkId = null;
  try {
    const java = resolveJava(javaBin);
    if (java === undefined) return jdkId;
    const release = readFileSync(join(dirname(dirname(realpathSync(java))), "release"), "utf8");
    const runtime = /^JAVA_RUNTIME_VERSION="([^"]+)"/m.exec(release)?.[1];
    const major = Number(/^JAVA_VERSION="(\d+)/m.exec(release)?.[1]);
    // Dynamic archives (-XX:ArchiveClassesAtExit) exist since JDK 13.
    if (runtime !== undefined && major >= 13) jdkId = runtime.replace(/[^A-Za-z0-9.+_-]/g, "_");
  } catch {
    // No release file: run without sharing.
  }
  return jdkId;
}

function removeStaleTemps(dir: string): void {
  for (const name of readdirSync(dir)) {
    const pid = /\.tmp-(\d+)-/.exec(name)?.[1];
    if (pid !== undefined && !isProcessAlive(Number(pid))) rmSync(join(dir, name), { force: true });
  }
}

export function classDataArchive(distribution: KafkaDistribution, role: ArchiveRole): ArchiveUse {
  if (process.env.GEO_HARNESS_CDS === "0") return OFF;
  const jdk = currentJdk(distribution.javaBin);
  if (jdk === null) return OFF;
  const dir = join(distribution.dir, ".cds");
  const archive = join(dir, `${role}-${jdk}.jsa`);
  try {
    if (statSync(archive).size > 0) {
      return {
        flags: [...QUIET, `-XX:SharedArchiveFile=${archive}`],
        writing: false,
        settle: () => {},
      };
    }
  } catch {
    // Not written yet.
  }
  if (writers.has(archive)) return OFF;
  try {
    mkdirSync(dir, { recursive: true });
    removeStaleTemps(dir);
  } catch {
    return OFF;
  }
  writers.add(archive);
  // Written under a private name and renamed, so no JVM ever maps a half-written archive.
  const temp = `${archive}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  return {
    flags: [...QUIET, `-XX:ArchiveClassesAtExit=${temp}`],
    writing: true,
    settle(exit) {
      writers.delete(archive);
      // 143: SIGTERM handled by the JVM's shutdown hooks, which is how brokers stop.
      const clean = exit.code === 0 || exit.code === 143;
      try {
        if (clean && statSync(temp).size > 0) renameSync(temp, archive);
        else rmSync(temp, { force: true });
      } catch {
        rmSync(temp, { force: true });
      }
    },
  };
}
