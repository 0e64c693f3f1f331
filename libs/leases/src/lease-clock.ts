import { performance } from "node:perf_hooks";
import type { Epoch } from "@geo/positions";
import { LeaseError } from "./lease-error";
import type { RenewUnitsResult, UnitEpoch } from "./lease-store-types";
import { checkId, checkTtl } from "./validate";

export interface LeaseClockOptions {
  /** The TTL the renewals set in Redis. */
  readonly ttlMs: number;
  /**
   * Subtracted from every deadline: covers clock-rate drift between this host and Redis and the
   * time in-flight writes need to land (producer delivery timeouts must stay below it).
   */
  readonly safetyMarginMs: number;
  /** Monotonic milliseconds. Default performance.now; tests pass a fake clock. */
  readonly now?: () => number;
}

/** The moment a renewal was sent; take it BEFORE sending. */
export interface RenewTicket {
  readonly sentAt: number;
}

/**
 * The agent's own view of its leases. Redis starts a renewed lease's TTL when it runs the
 * script, which is after the request left this process, so `sentAt + ttl - margin` is a deadline
 * that cannot outlive the lease in Redis, whatever the network and Redis delays were. A process
 * that was paused (GC, SIGSTOP, a frozen VM) finds on waking that the deadline passed, even if a
 * successful answer arrives after the pause: no write may start then.
 */
export interface LeaseClock {
  /** Call right before sending a renewal. */
  beginRenew(): RenewTicket;
  /** The deadline a successful renewal sent at `ticket` gives. */
  deadlineOf(ticket: RenewTicket): number;
  /** Record units the renewal sent at `ticket` confirmed. Never moves a deadline back. */
  confirm(ticket: RenewTicket, units: readonly UnitEpoch[]): void;
  /** confirm() the units renewed, forget() the lost ones; returns the lost unit ids. */
  apply(ticket: RenewTicket, result: RenewUnitsResult): string[];
  /** Stop trusting a unit (lost, released, stopped). */
  forget(unitId: string): void;
  /** True while the unit's deadline has not passed (and its epoch matches, when given). */
  isTrusted(unitId: string, epoch?: Epoch): boolean;
  /** The unit's deadline on the clock given, or undefined if it was never confirmed. */
  deadline(unitId: string): number | undefined;
  /** Milliseconds until the unit's deadline; 0 when past or unknown. */
  msLeft(unitId: string): number;
  /** Units currently known (trusted or not). */
  units(): string[];
}

export function createLeaseClock(options: LeaseClockOptions): LeaseClock {
  const ttlMs = checkTtl("ttlMs", options?.ttlMs);
  const margin = options.safetyMarginMs;
  if (typeof margin !== "number" || !Number.isFinite(margin) || margin < 0 || margin >= ttlMs) {
    throw new LeaseError(
      "INVALID_ARGUMENT",
      `safetyMarginMs must be at least 0 and below ttlMs (${ttlMs}), got ${String(margin)}`,
    );
  }
  const now = options.now ?? (() => performance.now());
  const leases = new Map<string, { epoch: Epoch; deadline: number }>();

  const deadlineOf = (ticket: RenewTicket) => ticket.sentAt + ttlMs - margin;
  const confirm = (ticket: RenewTicket, units: readonly UnitEpoch[]) => {
    const until = deadlineOf(ticket);
    for (const { unitId, epoch } of units) {
      checkId("unitId", unitId);
      const held = leases.get(unitId);
      // Answers can arrive out of order; an older renewal never shortens a newer one. A new
      // epoch replaces the old one's deadline entirely.
      if (held === undefined || held.epoch !== epoch || held.deadline < until) {
        leases.set(unitId, { epoch, deadline: until });
      }
    }
  };

  return {
    beginRenew: () => ({ sentAt: now() }),
    deadlineOf,
    confirm,
    apply(ticket, result) {
      const lost: string[] = [];
      const renewed: UnitEpoch[] = [];
      for (const unit of result.units) {
        if (unit.ok) renewed.push(unit);
        else {
          lost.push(unit.unitId);
          // A late answer about an epoch the unit no longer runs must not drop the new one.
          if (leases.get(unit.unitId)?.epoch === unit.epoch) leases.delete(unit.unitId);
        }
      }
      confirm(ticket, renewed);
      return lost;
    },
    forget: (unitId) => void leases.delete(unitId),
    isTrusted(unitId, epoch) {
      const held = leases.get(unitId);
      if (held === undefined || (epoch !== undefined && held.epoch !== epoch)) return false;
      return now() < held.deadline;
    },
    deadline: (unitId) => leases.get(unitId)?.deadline,
    msLeft(unitId) {
      const held = leases.get(unitId);
      return held === undefined ? 0 : Math.max(0, held.deadline - now());
    },
    units: () => [...leases.keys()],
  };
}
