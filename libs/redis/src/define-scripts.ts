import type { Redis } from "ioredis";

/** Runs one of the scripts given to {@link defineScripts} with its keys and arguments. */
export type ScriptRunner<Name extends string> = (
  name: Name,
  keys: readonly string[],
  args: readonly (string | number)[],
) => Promise<unknown>;

/**
 * Defines Lua scripts on the client once (as ioredis commands named after the keys of
 * `scripts`; prefix them so they cannot clash with other libraries') and returns a runner.
 * ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT, which is what a restarted Redis
 * answers. A failure goes through `toError` with the script's name.
 */
export function defineScripts<Name extends string>(
  redis: Redis,
  scripts: Readonly<Record<Name, string>>,
  toError: (name: Name, error: unknown) => Error,
): ScriptRunner<Name> {
  const commands = redis as unknown as Record<string, unknown>;
  for (const [name, lua] of Object.entries<string>(scripts)) {
    if (typeof commands[name] !== "function") redis.defineCommand(name, { lua });
  }
  return async (name, keys, args) => {
    const command = commands[name] as (...params: (string | number)[]) => Promise<unknown>;
    try {
      return await command.call(redis, keys.length, ...keys, ...args);
    } catch (error) {
      throw toError(name, error);
    }
  };
}
