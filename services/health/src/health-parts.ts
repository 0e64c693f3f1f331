import type { registerHealthMetrics } from "./monitoring/health-metrics";
import type { registerPassiveGuardMetrics } from "./monitoring/passive-guard-metrics";
import type { registerPassiveProtectionMetrics } from "./monitoring/passive-protection-metrics";

/**
 * The parts made once the server registers its metrics. Undefined until then: the monitor's and
 * the guard's callbacks, made earlier, read them from here when they run.
 */
export interface LateParts {
  heartbeatMetrics?: ReturnType<typeof registerHealthMetrics>;
  guardMetrics?: ReturnType<typeof registerPassiveGuardMetrics>;
  protectionMetrics?: ReturnType<typeof registerPassiveProtectionMetrics>;
  /** The fleet metrics' loop, which ends when the service stops. */
  fleet?: Promise<void>;
}
