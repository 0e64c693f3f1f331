import { closeSync, openSync } from "node:fs";
import { classDataArchive } from "./class-data-archive";
import { HarnessError } from "./harness-error";
import { brokerJvmArgs } from "./jvm-flags";
import type { Broker, BrokerSetup } from "./kafka-broker";
import { logFileSize, readLogFrom, readLogTail } from "./log-file";
import { describeExit, spawnManaged } from "./managed-process";
import { progressWatch } from "./process-state";
import { pastBound, STARVED_BOUNDS, sleep } from "./start-bounds";

const STARTED = /Kafka Server started/;
const VERSION = /Kafka version: (\S+)/;
const BIND_FAILED = /BindException|Address already in use/;

export interface Launch {
  version: string | undefined;
}

/** Start the broker's JVM and wait for "Kafka Server started" in the part of the log it writes. */
export async function launchBroker(
  setup: BrokerSetup,
  broker: Broker,
  deadline: number,
): Promise<Launch> {
  const { javaBin } = setup.distribution;
  const from = logFileSize(broker.logFile);
  const log = openSync(broker.logFile, "a");
  const cds = classDataArchive(setup.distribution, "broker");
  broker.writingArchive = cds.writing;
  try {
    broker.process = spawnManaged(javaBin, brokerJvmArgs(setup, broker, cds.flags), {
      stdio: ["ignore", log, log],
      cwd: broker.dir,
    });
  } finally {
    closeSync(log);
  }
  const jvm = broker.process;
  const working = progressWatch(() => [jvm.pid]);
  const limit = deadline + (STARVED_BOUNDS - 1) * setup.startTimeoutMs;
  let exited = false;
  void jvm.exited.then((exit) => {
    exited = true;
    broker.writingArchive = false;
    cds.settle(exit);
  });
  for (;;) {
    const text = readLogFrom(broker.logFile, from);
    if (STARTED.test(text)) return { version: VERSION.exec(text)?.[1] };
    const failure = (code: HarnessError["code"], what: string) => {
      void jvm.kill();
      return new HarnessError(
        code,
        `Kafka broker ${broker.nodeId} of cluster ${setup.name} ${what}; last lines of ${broker.logFile}:\n${readLogTail(broker.logFile)}`,
      );
    };
    if (BIND_FAILED.test(text)) {
      const address = /failed to bind to (\S+?):? Address/.exec(text)?.[1];
      throw failure(
        "PORT_IN_USE",
        `could not bind ${address ?? `port ${broker.port} or ${broker.controllerPort}`} (address in use)`,
      );
    }
    if (exited) {
      const exit = await jvm.exited;
      throw failure("START_FAILED", `exited during start-up (${describeExit(exit)})`);
    }
    if (pastBound(deadline, limit, working())) {
      throw failure(
        "START_TIMEOUT",
        `did not log "Kafka Server started" within ${Math.round((Date.now() - deadline + setup.startTimeoutMs) / 1000)} s (bound ${Math.round(setup.startTimeoutMs / 1000)} s, longer while its JVM uses CPU)`,
      );
    }
    await sleep(100);
  }
}
