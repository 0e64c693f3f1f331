import type { LeaseStore } from "@geo/leases";
import type { Logger } from "@geo/logging";
import { type Epoch, epochFromProto, epochToProto, offsetToProto } from "@geo/positions";
import { type UnitKey, unitId } from "@geo/progress";
import type { agentV1 } from "@geo/proto";
import type { ReplicationEngine, UnitAssignment } from "@geo/replication";
import { type ApplyTrace, traceApplyingAssignment } from "./assignment-trace";
import type { CoordinatorSession } from "./coordinator-session";
import type { LeaseKeeper } from "./lease-keeper";
import { toUnitAssignment, unitKeyMessage } from "./unit-messages";

export interface AssignmentApplierOptions {
  agentId: string;
  logger: Logger;
  keeper: LeaseKeeper;
  leaseStore: LeaseStore;
  /** The engine, once created (with the server); undefined before. */
  engine: () => ReplicationEngine | undefined;
  /** Sends to the coordinator on the open session (dropped while there is none). */
  send: CoordinatorSession["send"];
}

/**
 * The units this agent should run, and their way into the engine: the coordinator's snapshots
 * and revokes, and what lease renewals say (lost, revoked, regained). Changes are applied one
 * after another, in the order they came; a unit that leaves is handed back (stopped with its
 * progress flushed, its lease released, the coordinator told where it stopped).
 */
export class AssignmentApplier {
  private desired: UnitAssignment[] = [];
  private lastGeneration = -1n;
  private generationSession = "";
  private applying: Promise<void> = Promise.resolve();
  // Units being handed back stay in the keeper's set until released: their last progress is
  // written under their lease, which dropping them from the set would stop trusting at once.
  private readonly handingBack = new Map<string, Epoch>();

  constructor(private readonly o: AssignmentApplierOptions) {}

  /** Resolves once the changes queued so far are applied. */
  get settled(): Promise<void> {
    return this.applying;
  }

  private get engine(): ReplicationEngine {
    return this.o.engine()!;
  }

  /** Redis says these units are no longer this agent's: stop them at once. */
  onLeasesLost(lost: readonly string[]): void {
    const lostIds = new Set(lost);
    this.desired = this.desired.filter((unit) => !lostIds.has(unitId(unit.unit)));
    this.apply();
  }

  onLeasesRevoked(revoked: readonly { unitId: string; epoch: Epoch }[]): void {
    for (const { unitId: id, epoch } of revoked) {
      const unit = this.desired.find((a) => unitId(a.unit) === id && a.epoch === epoch);
      if (unit === undefined) continue;
      this.desired = this.desired.filter((a) => a !== unit);
      this.handBack(unit.unit, epoch, "revoked (seen on lease renewal)");
    }
  }

  onLeasesRegained(regained: readonly { unitId: string; epoch: Epoch }[]): void {
    // A unit whose trust lapsed stopped as "lease lost"; Redis still says it is this agent's at
    // the same epoch, and the coordinator has no reason to send anything new: start it again.
    const engine = this.o.engine();
    if (engine === undefined) return;
    const ids = new Set(regained.map((unit) => unit.unitId));
    const stopped = engine
      .statuses()
      .filter((status) => status.state === "stopped" && ids.has(unitId(status.unit)));
    if (stopped.length === 0) return;
    this.o.logger.info(
      { units: stopped.map((status) => unitId(status.unit)) },
      "leases trusted again after a lapse; restarting the units stopped for it",
    );
    this.apply();
  }

  /** The coordinator's full desired set, on the session `sessionId`. */
  onAssignment(snapshot: agentV1.AssignmentSnapshot, sessionId: string): void {
    // Within a session generations only grow, and an older snapshot must not undo a newer
    // one. A new session's leader starts its own count: after Redis came back empty its leader
    // epoch, and so its generations, restart low, and its snapshots are still the truth.
    if (sessionId !== this.generationSession) {
      this.generationSession = sessionId;
      this.lastGeneration = -1n;
    }
    const generation = BigInt(snapshot.generation);
    if (generation < this.lastGeneration) return;
    this.lastGeneration = generation;
    let next: UnitAssignment[];
    try {
      next = snapshot.units.map(toUnitAssignment);
    } catch (error) {
      this.o.logger.error({ err: error }, "ignoring an assignment the agent cannot read");
      return;
    }
    // A snapshot is the full set: units it leaves out are stopped, released and reported,
    // before the new set is applied (which would stop them without a word). A unit listed with
    // another epoch is restarted at that epoch by the engine instead.
    const kept = new Set(next.map((unit) => unitId(unit.unit)));
    const dropped = this.desired.filter((unit) => !kept.has(unitId(unit.unit)));
    this.desired = next;
    for (const unit of dropped) this.handBack(unit.unit, unit.epoch, "left out of the assignment");
    this.apply(traceApplyingAssignment(snapshot, this.o.agentId));
  }

  onRevoke(revoke: agentV1.Revoke): void {
    const unit = revoke.unit;
    if (unit === undefined) return;
    const id = unitId(unit);
    this.desired = this.desired.filter((assigned) => unitId(assigned.unit) !== id);
    this.handBack(unit, epochFromProto(revoke.epoch, "revoke.epoch"), revoke.reason);
  }

  private holdLeases(): void {
    this.o.keeper.setUnits(
      new Map([
        ...this.handingBack,
        ...this.desired.map((a) => [unitId(a.unit), a.epoch] as const),
      ]),
    );
  }

  private apply(traced: ApplyTrace = { end: () => {} }): void {
    const snapshot = this.desired;
    this.applying = this.applying
      .then(async () => {
        this.holdLeases();
        // A new unit is trusted only after a renewal that includes it succeeded.
        await this.o.keeper.renewNow();
        await this.engine.assign(snapshot);
        traced.end();
      })
      .catch((error: unknown) => {
        traced.end(error);
        this.o.logger.error({ err: error }, "applying the assignment failed");
      });
  }

  // Stops a unit (its acknowledged progress flushed), gives its lease back in Redis and tells the
  // coordinator where it stopped, so the next owner can be granted at once.
  private handBack(unit: UnitKey, epoch: Epoch, reason: string): void {
    const id = unitId(unit);
    this.handingBack.set(id, epoch);
    this.applying = this.applying.then(async () => {
      try {
        // Once per unit and epoch: a revoke is seen on renewal and in a Revoke message.
        const engine = this.engine;
        if (!engine.statuses().some((s) => unitId(s.unit) === id && s.epoch === epoch)) return;
        const { nextSourceOffset } = await engine.release(unit);
        await this.o.leaseStore.releaseUnit(id, this.o.agentId, epoch);
        this.o.send({
          message: {
            case: "released",
            value: {
              unit: unitKeyMessage(unit),
              epoch: epochToProto(epoch),
              nextSourceOffset: offsetToProto(nextSourceOffset),
              reason,
            },
          },
        });
        this.o.logger.info({ unit: id, epoch: String(epoch), reason }, "unit handed back");
      } catch (error) {
        this.o.logger.error(
          { err: error, unit: id },
          "handing a unit back failed; its lease will lapse",
        );
      } finally {
        if (this.handingBack.get(id) === epoch) this.handingBack.delete(id);
        this.holdLeases();
      }
    });
  }
}
