// One jittered retry policy for every background loop (see backoff.ts).
export {
  type Backoff,
  type BackoffOptions,
  createBackoff,
  delayAfter,
  type LoopOptions,
  runLoop,
  sleep,
  validateBackoffOptions,
} from "./backoff";
