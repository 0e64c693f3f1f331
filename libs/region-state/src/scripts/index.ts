import { Code, GeoError } from "@geo/grpc";
import type { Redis } from "ioredis";
import { BEGIN } from "./begin";
import { FINISH, RECORD } from "./finish";
import { RESTORE } from "./restore";
import { STEP } from "./step";

// Command names on the ioredis client; prefixed so they cannot clash with other libraries'.
const SCRIPTS = {
  geoRegionRestore: RESTORE,
  geoRegionBegin: BEGIN,
  geoRegionStep: STEP,
  geoRegionFinish: FINISH,
  geoRegionRecord: RECORD,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

export type RunScript = (
  name: ScriptName,
  keys: readonly [string, string, string],
  args: readonly (string | number)[],
) => Promise<string[] | string>;

/**
 * Defines the scripts on the client once and returns a runner. ioredis sends EVALSHA and falls
 * back to EVAL on NOSCRIPT, which is what a restarted Redis answers.
 */
export function scriptRunner(redis: Redis): RunScript {
  const commands = redis as unknown as Record<string, unknown>;
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    if (typeof commands[name] !== "function") redis.defineCommand(name, { lua });
  }
  return async (name, keys, args) => {
    const command = commands[name] as (...params: (string | number)[]) => Promise<unknown>;
    try {
      return (await command.call(redis, keys.length, ...keys, ...args)) as string[] | string;
    } catch (error) {
      throw new GeoError(
        Code.UNAVAILABLE,
        `Redis did not run ${name}: ${(error as Error).message}`,
        {
          retriable: true,
          cause: error,
        },
      );
    }
  };
}
