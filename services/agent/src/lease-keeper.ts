// Keeps the agent's liveness and unit leases alive in Redis, and its own monotonic view of how
// long each lease can be trusted. A unit whose renewal fails, or whose local deadline passes
// without a successful renewal (Redis unreachable, this process paused), is no longer trusted:
// the replication engine checks that before every batch, so the agent stops writing before
// another agent could have been granted the unit.

import { type AgentInfo, createLeaseClock, type LeaseStore, type UnitEpoch } from "@geo/leases";
import type { Logger } from "@geo/logging";
import type { Epoch } from "@geo/positions";

export interface LeaseKeeperOptions {
  store: LeaseStore;
  agentId: string;
  info: AgentInfo;
  ttlMs: number;
  renewIntervalMs: number;
  safetyMarginMs: number;
  logger: Logger;
  /** Units Redis says this agent no longer holds; stop them at once. */
  onLost(unitIds: readonly string[], reason: string): void;
  /**
   * Units the coordinator revoked for a planned move. They stay trusted until the deadline of
   * their last renewal (not extended any more), which ends before the coordinator may grant them
   * elsewhere without a release: hand them back (stop, flush, release) like on a Revoke message.
   */
  onRevoked(units: readonly UnitEpoch[]): void;
  /** Another live process holds this agent id; this one must not run any unit. */
  onConflict(message: string): void;
  /** A renewal did not reach Redis (counted in geo_agent_lease_renewal_failures_total). */
  onRenewalFailed?(): void;
  /**
   * Units that were not trusted before a renewal (their local deadline had passed: Redis was
   * unreachable or frozen, or this process paused) and are again after it: Redis still names
   * this agent at the same epoch, so a unit stopped for the lapse may start again at once.
   */
  onRegained?(units: readonly UnitEpoch[]): void;
}

export interface LeaseKeeper {
  /** The units (id → epoch) the agent runs; renewed from now on, trusted after the next renewal. */
  setUnits(units: ReadonlyMap<string, Epoch>): void;
  /** True while the unit's lease, at this epoch, is trusted on the local monotonic clock. */
  isTrusted(unitId: string, epoch: Epoch): boolean;
  /**
   * Until when the unit's lease, at this epoch, is trusted (`performance.now()` ms; each renewal
   * moves it on); undefined once it is not: past, lost, forgotten, another epoch.
   */
  deadline(unitId: string, epoch: Epoch): number | undefined;
  /** Renews now instead of waiting for the interval (after new units arrived). */
  renewNow(): Promise<void>;
  /** Whether the last renewal reached Redis. */
  healthy(): boolean;
  stop(): Promise<void>;
}

export function startLeaseKeeper(options: LeaseKeeperOptions): LeaseKeeper {
  const { store, agentId, logger } = options;
  const clock = createLeaseClock({ ttlMs: options.ttlMs, safetyMarginMs: options.safetyMarginMs });
  let units = new Map<string, Epoch>();
  let lastOk = false;
  let inFlight: Promise<void> | undefined;
  let stopped = false;
  let failures = 0;

  const renew = async () => {
    const sent: UnitEpoch[] = [...units].map(([unitId, epoch]) => ({ unitId, epoch }));
    const ticket = clock.beginRenew();
    try {
      const result = await store.renewUnits(agentId, sent, options.ttlMs, options.info);
      if (!result.agent.ok) {
        lastOk = false;
        options.onConflict(
          `agent id "${agentId}" is held by another live process (instance ${result.agent.liveInstance}); give each agent process its own --id`,
        );
        return;
      }
      lastOk = true;
      failures = 0;
      // A revoked unit is still this agent's until it releases it (the coordinator grants it
      // elsewhere after the release, or a TTL after the revoke): it keeps the deadline of its
      // last renewal and is handed back with what it copied recorded, as on the Revoke message
      // that may arrive after this answer. Stopped at once, its last copies would be copied again.
      const revoked = result.units.filter(
        (unit) => !unit.ok && unit.reason === "revoked" && units.get(unit.unitId) === unit.epoch,
      );
      const untrusted = sent.filter((unit) => !clock.isTrusted(unit.unitId, unit.epoch));
      const lost = clock.apply(ticket, {
        ...result,
        units: result.units.filter((unit) => !revoked.includes(unit)),
      });
      if (lost.length > 0) {
        const reasons = result.units
          .filter((unit) => !unit.ok && lost.includes(unit.unitId))
          .map((unit) => `${unit.unitId}: ${unit.ok ? "" : unit.reason}`);
        for (const unitId of lost) units.delete(unitId);
        logger.warn({ lost: reasons }, "leases lost; stopping those units");
        options.onLost(lost, "lease lost");
      }
      const regained = untrusted.filter(
        (unit) => clock.isTrusted(unit.unitId, unit.epoch) && units.get(unit.unitId) === unit.epoch,
      );
      if (regained.length > 0) {
        options.onRegained?.(regained.map(({ unitId, epoch }) => ({ unitId, epoch })));
      }
      if (revoked.length > 0) {
        options.onRevoked(revoked.map(({ unitId, epoch }) => ({ unitId, epoch })));
      }
    } catch (error) {
      lastOk = false;
      failures += 1;
      options.onRenewalFailed?.();
      // Deadlines run out on their own: nothing to do here but say so, with less noise over time.
      if (failures === 1 || failures % 10 === 0) {
        logger.warn({ err: (error as Error).message, failures }, "lease renewal failed; retrying");
      }
    }
  };
  const renewOnce = () => {
    inFlight ??= renew().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
  const timer = setInterval(() => {
    if (!stopped) void renewOnce();
  }, options.renewIntervalMs);
  void renewOnce();

  return {
    setUnits: (next) => {
      for (const unitId of units.keys()) if (!next.has(unitId)) clock.forget(unitId);
      units = new Map(next);
    },
    isTrusted: (unitId, epoch) => units.get(unitId) === epoch && clock.isTrusted(unitId, epoch),
    deadline: (unitId, epoch) =>
      units.get(unitId) === epoch && clock.isTrusted(unitId, epoch)
        ? clock.deadline(unitId)
        : undefined,
    renewNow: async () => {
      await inFlight;
      await renewOnce();
    },
    healthy: () => lastOk,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
}
