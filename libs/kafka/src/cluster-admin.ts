import type { ClusterConfig } from "@geo/config";
import { CodedError } from "@geo/errors";
import type { Logger } from "@geo/logging";
import type { Admin } from "kafkajs";
import { createKafkaClient } from "./create-kafka-client";

export interface ClusterAdmin {
  readonly alias: string;
  /**
   * Runs `action` with a connected admin client, connecting first if needed. When the action
   * fails or takes longer than `timeoutMs`, the connection is dropped so the next call starts
   * afresh: kafkajs otherwise keeps retrying a dead broker in the background.
   */
  use<T>(action: (admin: Admin) => Promise<T>, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

/** Thrown when a cluster does not answer an admin request in time; worth retrying later. */
export class ClusterUnavailableError extends CodedError<"CLUSTER_UNAVAILABLE"> {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("CLUSTER_UNAVAILABLE", message, { retriable: true, cause: options.cause });
  }
}

/**
 * An admin connection to one cluster for periodic checks (health probes, cluster health): it
 * fails fast instead of retrying for half a minute, and reconnects on the next use.
 */
export function createClusterAdmin(
  cluster: ClusterConfig,
  options: { clientId: string; logger: Logger; defaultTimeoutMs?: number },
): ClusterAdmin {
  const kafka = createKafkaClient(cluster, {
    clientId: options.clientId,
    // Every failure reaches the caller of use(), which reports it once; kafkajs would log each
    // reconnect attempt of a probe at error level, every few seconds, for as long as a broker is down.
    logger: options.logger.child({}, { level: "fatal" }),
    connectionTimeoutMs: 3000,
    requestTimeoutMs: 5000,
    retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1000 },
  });
  let admin: Admin | undefined;
  let connecting: Promise<Admin> | undefined;
  const connected = () => {
    if (admin !== undefined) return Promise.resolve(admin);
    connecting ??= (async () => {
      const fresh = kafka.admin({
        retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1000 },
      });
      try {
        await fresh.connect();
        admin = fresh;
        return fresh;
      } catch (error) {
        await fresh.disconnect().catch(() => {});
        throw error;
      } finally {
        connecting = undefined;
      }
    })();
    return connecting;
  };
  const drop = async () => {
    const current = admin;
    admin = undefined;
    await current?.disconnect().catch(() => {});
  };
  return {
    alias: cluster.alias,
    use: async (action, timeoutMs = options.defaultTimeoutMs ?? 5000) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new ClusterUnavailableError(
                `cluster ${cluster.alias} did not answer within ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([connected().then(action), timeout]);
      } catch (error) {
        await drop();
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
    close: drop,
  };
}
