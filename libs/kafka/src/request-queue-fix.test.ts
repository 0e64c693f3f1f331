import assert from "node:assert/strict";
import { test } from "node:test";
import { fixKafkajsRequestQueue } from "./request-queue-fix";

interface Queue {
  pending: unknown[];
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  throttledUntil: number;
  checkPendingRequests(): void;
  destroy(): void;
}
const RequestQueue = require("kafkajs/src/network/requestQueue") as new (options: object) => Queue;
const { createLogger, LEVELS } = require("kafkajs/src/loggers") as {
  createLogger(options: object): { namespace(name: string): unknown };
  LEVELS: { NOTHING: number };
};

const newQueue = () =>
  new RequestQueue({
    instrumentationEmitter: { emit: () => {} },
    maxInFlightRequests: 1,
    requestTimeout: 30_000,
    enforceRequestTimeout: true,
    clientId: "test",
    broker: "127.0.0.1:9092",
    logger: createLogger({ level: LEVELS.NOTHING, logCreator: () => () => {} }).namespace("test"),
    isConnected: () => true,
  });

test("an idle kafkajs request queue arms no timer; a throttled one with work still does", () => {
  assert.equal(fixKafkajsRequestQueue(), true, "the pinned kafkajs is the one the fix fits");
  const idle = newQueue();
  // What kafkajs does after every response: with the bug this armed a 1 ms timer, forever.
  idle.checkPendingRequests();
  assert.equal(idle.throttleCheckTimeoutId, null);
  idle.destroy();

  const throttled = newQueue();
  throttled.throttledUntil = Date.now() + 60_000;
  throttled.pending.push({});
  throttled.checkPendingRequests();
  assert.notEqual(throttled.throttleCheckTimeoutId, null, "pending work is checked later");
  clearTimeout(throttled.throttleCheckTimeoutId!);
  throttled.pending.length = 0;
  throttled.destroy();
});
