// One jittered retry policy for every background loop (see backoff.ts), and the one-timer
// scheduling of loops that owe work at several future times (wake-timer.ts).
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
export { WakeTimer } from "./wake-timer";
