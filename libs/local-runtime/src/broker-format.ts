import { randomUUID } from "node:crypto";
import { classDataArchive } from "./class-data-archive";
import { HarnessError } from "./harness-error";
import { quickJvmFlags } from "./jvm-flags";
import type { Broker, BrokerSetup } from "./kafka-broker";
import { brokerLog4jFile } from "./kafka-files";
import { describeExit, spawnManaged } from "./managed-process";

/** A v4 UUID as Kafka writes cluster ids: base64url without padding, never starting with "-". */
export function newClusterId(): string {
  for (;;) {
    const id = Buffer.from(randomUUID().replaceAll("-", ""), "hex").toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

/** kafka-storage format of the broker's log dir, with the cluster's id and SCRAM credentials. */
export async function formatBroker(setup: BrokerSetup, broker: Broker): Promise<void> {
  const { javaBin, classpath } = setup.distribution;
  const cds = classDataArchive(setup.distribution, "format");
  const formatter = spawnManaged(
    javaBin,
    [
      ...quickJvmFlags(),
      ...cds.flags,
      `-Dlog4j.configuration=file:${brokerLog4jFile(setup.dir)}`,
      "-cp",
      classpath,
      "kafka.tools.StorageTool",
      "format",
      "-t",
      setup.clusterId,
      "-c",
      broker.propertiesFile,
      ...setup.scramArgs,
    ],
    { stdio: ["ignore", "pipe", "pipe"], keepAlive: true },
  );
  let output = "";
  formatter.child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  formatter.child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const timer = setTimeout(() => void formatter.kill(), setup.startTimeoutMs);
  const exit = await formatter.exited;
  clearTimeout(timer);
  cds.settle(exit);
  if (exit.code !== 0) {
    throw new HarnessError(
      "FORMAT_FAILED",
      `kafka-storage format of ${setup.name} broker ${broker.nodeId} failed (${describeExit(exit)}):\n${output.trim()}`,
    );
  }
}
