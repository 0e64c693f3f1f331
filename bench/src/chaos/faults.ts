// The faults of the suite, one after another under load. Each injects its fault, heals it as an
// operator or orchestrator would (restart what was killed), and returns when the fault began and
// when it ended: from the end, every partition must advance again within TTL + 5 s.
import { sleep } from "../service-stack";
import type { ChaosStack } from "./chaos-stack";

export interface FaultWindow {
  startedAt: number;
  endedAt: number;
  note: string;
}

export type Fault = (stack: ChaosStack, ttlMs: number) => Promise<FaultWindow>;

const stopProcess = (pid: number) => process.kill(pid, "SIGSTOP");
const continueProcess = (pid: number) => process.kill(pid, "SIGCONT");

/** kill -9 of `name` (ends the fault), then a restart `restartAfterMs` later. */
function killAndRestart(
  pick: (stack: ChaosStack) => string,
  restartAfterMs: (ttl: number) => number,
): Fault {
  return async (stack, ttlMs) => {
    const name = pick(stack);
    const startedAt = Date.now();
    await stack.kill(name);
    await sleep(restartAfterMs(ttlMs));
    await stack.start(name);
    return {
      startedAt,
      endedAt: startedAt,
      note: `${name} killed, restarted ${Date.now() - startedAt} ms later`,
    };
  };
}

export const FAULTS: Record<string, Fault> = {
  // A killed agent's liveness must lapse before its id can be used again.
  "agent-kill": killAndRestart(
    (stack) => [...stack.services.keys()].find((name) => name.startsWith("agent-"))!,
    (ttl) => ttl + 1000,
  ),
  "coordinator-leader-kill": killAndRestart(
    (stack) => stack.leader() ?? "coordinator-0",
    () => 1000,
  ),
  "offsets-kill": killAndRestart(
    () => "offsets",
    () => 1000,
  ),
  "health-kill": killAndRestart(
    () => "health",
    () => 1000,
  ),
  "agent-sigstop": async (stack, ttlMs) => {
    const agents = [...stack.services.keys()].filter((name) => name.startsWith("agent-"));
    const name = agents.at(-1)!;
    const pid = stack.services.get(name)!.child.pid!;
    const startedAt = Date.now();
    stopProcess(pid);
    await sleep(ttlMs + 2000);
    continueProcess(pid);
    return { startedAt, endedAt: Date.now(), note: `${name} stopped ${ttlMs + 2000} ms` };
  },
  "redis-freeze": async (stack, ttlMs) => {
    const startedAt = Date.now();
    stopProcess(stack.redis.pid);
    await sleep(2 * ttlMs);
    continueProcess(stack.redis.pid);
    return { startedAt, endedAt: Date.now(), note: `SIGSTOP ${2 * ttlMs} ms` };
  },
  "redis-restart-empty": async (stack) => {
    const startedAt = Date.now();
    await stack.redis.kill();
    await sleep(1000);
    await stack.redis.restart();
    return { startedAt, endedAt: Date.now(), note: "kill -9, empty restart 1 s later" };
  },
  "target-broker-restart": async (stack) => {
    const broker = stack.target.brokers.at(-1)!.nodeId;
    const startedAt = Date.now();
    await stack.target.stopBroker(broker);
    await stack.target.startBroker(broker);
    return {
      startedAt,
      endedAt: Date.now(),
      note: `broker ${broker} of ${stack.target.brokers.length} stopped and started`,
    };
  },
  "source-broker-restart": async (stack) => {
    const broker = stack.source.brokers[0]!.nodeId;
    const startedAt = Date.now();
    await stack.source.stopBroker(broker);
    await stack.source.startBroker(broker);
    return { startedAt, endedAt: Date.now(), note: "the source's only broker stopped and started" };
  },
  "network-cut": async (stack) => {
    const startedAt = Date.now();
    stack.proxy.cut();
    await sleep(5000);
    stack.proxy.restore();
    return { startedAt, endedAt: Date.now(), note: "agents ↔ source cut 5 s" };
  },
  "network-delay": async (stack) => {
    const startedAt = Date.now();
    stack.proxy.delay(100);
    await sleep(10_000);
    stack.proxy.restore();
    return { startedAt, endedAt: Date.now(), note: "agents ↔ source +100 ms each way, 10 s" };
  },
};

/** The full run, in order. */
export const ALL_FAULTS = [
  "agent-kill",
  "coordinator-leader-kill",
  "offsets-kill",
  "health-kill",
  "agent-sigstop",
  "redis-freeze",
  "redis-restart-empty",
  "target-broker-restart",
  "source-broker-restart",
  "network-cut",
  "network-delay",
];
