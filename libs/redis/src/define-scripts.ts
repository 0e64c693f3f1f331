import type { Redis } from "ioredis";

/**
 * Runs one of the scripts given to {@link defineScripts} with its keys and arguments. A library
 * whose scripts all take the same keys or answer alike narrows `Keys` and `Reply`.
 */
export type ScriptRunner<
  Name extends string,
  Keys extends readonly string[] = readonly string[],
  Reply = unknown,
> = (name: Name, keys: Keys, args: readonly (string | number)[]) => Promise<Reply>;

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
