import { Code, GeoError } from "@geo/grpc";
import { defineScripts, type Redis, type ScriptRunner } from "@geo/redis";
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

/** Every script takes the group's state, change stream and history keys. */
export type RunScript = ScriptRunner<
  ScriptName,
  readonly [string, string, string],
  string[] | string
>;

/** Defines the scripts on the client once and returns a runner. */
export function scriptRunner(redis: Redis): RunScript {
  const run = defineScripts(
    redis,
    SCRIPTS,
    (name, error) =>
      new GeoError(Code.UNAVAILABLE, `Redis did not run ${name}: ${(error as Error).message}`, {
        retriable: true,
        cause: error,
      }),
  );
  return async (name, keys, args) => (await run(name, keys, args)) as string[] | string;
}
