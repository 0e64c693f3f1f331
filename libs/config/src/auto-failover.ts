// flowGroups[].autoFailover: the health service fails a group over by itself once its active
// cluster has been unreachable for a while. Off unless enabled: an automatic move of the active
// region is a decision many operators want to take themselves.
import type { AutoFailoverConfig } from "./geo-config";

type Seg = string | number;

/** The parts of parse-config's checker used here. */
export interface AutoFailoverChecker {
  record(value: unknown, path: readonly Seg[], what: string): Record<string, unknown> | undefined;
  keys(obj: Record<string, unknown>, path: readonly Seg[], allowed: readonly string[]): void;
  bool(value: unknown, path: readonly Seg[], fallback: boolean): boolean;
  int(
    value: unknown,
    path: readonly Seg[],
    fallback: number,
    range: { min: number; max: number; unit?: string },
  ): number;
}

export const AUTO_FAILOVER_DEFAULTS: AutoFailoverConfig = {
  enabled: false,
  unreachableForMs: 60_000,
};

export function buildAutoFailover(
  value: unknown,
  path: readonly Seg[],
  check: AutoFailoverChecker,
): AutoFailoverConfig {
  if (value === undefined || value === null) return AUTO_FAILOVER_DEFAULTS;
  const raw = check.record(value, path, "autoFailover") ?? {};
  check.keys(raw, path, ["enabled", "unreachableForMs"]);
  return {
    enabled: check.bool(raw.enabled, [...path, "enabled"], AUTO_FAILOVER_DEFAULTS.enabled),
    unreachableForMs: check.int(
      raw.unreachableForMs,
      [...path, "unreachableForMs"],
      AUTO_FAILOVER_DEFAULTS.unreachableForMs,
      { min: 1000, max: 86_400_000, unit: "ms" },
    ),
  };
}
