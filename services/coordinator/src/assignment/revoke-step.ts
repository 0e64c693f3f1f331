// The revoke step of a round: take a unit from its live owner before another agent gets it (the
// owner hands it back with Released), and stop the owners of units no longer wanted. Every
// revoke carries the term's fence; the owner's session gets a Revoke once per session and epoch.
import { type Epoch, epochToProto } from "@geo/positions";
import type { Revocation } from "./plan";
import {
  errorText,
  forEachLimit,
  KICK_DELAY_MS,
  RETRY_SLACK_MS,
  type RoundContext,
} from "./round-context";

/** Planned moves: revoke the live owner first. */
export async function revokePlannedMoves(
  ctx: RoundContext,
  revokes: readonly Revocation[],
  desired: ReadonlyMap<string, string>,
): Promise<void> {
  const { store, settings, notes } = ctx;
  const fence = ctx.term.lease.fence;
  await forEachLimit(revokes, settings.concurrency, async ({ unitId, from, epoch }) => {
    if (!ctx.isCurrent()) return;
    const to = desired.get(unitId);
    try {
      const result = await store.revokeUnit(unitId, { owner: from, epoch, fence });
      if (result.reason === "not-leader") return ctx.lostTerm();
      if (result.revoked || result.reason === "already-revoked") {
        ctx.leases.set(unitId, { owner: from, epoch, revoked: true });
        sendRevoke(ctx, unitId, from, epoch, `rebalance: moving to ${to}`);
        notes.set(unitId, `moving from ${from} to ${to}: revoked, waiting for ${from} to release`);
        // If the owner never answers, the grant may go ahead ttl + grace after the revoke.
        ctx.wake(settings.ttlMs + settings.graceMs + RETRY_SLACK_MS);
      } else {
        notes.set(unitId, `moving from ${from} to ${to}: the lease changed meanwhile`);
        ctx.wake(KICK_DELAY_MS);
      }
    } catch (error) {
      notes.set(unitId, `could not revoke from ${from}: ${errorText(error)}`);
      ctx.wake(Math.min(settings.intervalMs, 500));
    }
  });
}

/**
 * Pending revokes: make sure the owner's current session was told (a new leader, or the owner
 * reconnected since).
 */
export function resendPendingRevokes(ctx: RoundContext, activeIds: ReadonlySet<string>): void {
  for (const [unitId, lease] of ctx.leases) {
    if (lease.revoked && lease.owner !== undefined && activeIds.has(unitId)) {
      sendRevoke(ctx, unitId, lease.owner, lease.epoch, "rebalance");
    }
  }
}

/** Units this term granted that are no longer wanted: stop their owners. */
export async function revokeOrphans(
  ctx: RoundContext,
  orphans: readonly string[],
  pausedIds: ReadonlySet<string>,
): Promise<void> {
  const { term, store } = ctx;
  await forEachLimit(orphans, ctx.settings.concurrency, async (unitId) => {
    if (!ctx.isCurrent()) return;
    const held = term.confirmed.get(unitId);
    term.confirmed.delete(unitId);
    if (held === undefined) return;
    const reason = pausedIds.has(unitId)
      ? `flow ${unitId.slice(0, unitId.indexOf("/"))} paused`
      : "no longer replicated (source topic deleted, or flow changed or removed)";
    try {
      const result = await store.revokeUnit(unitId, {
        owner: held.agentId,
        epoch: held.epoch,
        fence: term.lease.fence,
      });
      if (result.reason === "not-leader") return ctx.lostTerm();
      if (result.revoked || result.reason === "already-revoked") {
        sendRevoke(ctx, unitId, held.agentId, held.epoch, reason);
      }
    } catch (error) {
      ctx.logger.warn({ unit: unitId, err: errorText(error) }, "could not revoke a unit");
      term.confirmed.set(unitId, held);
      ctx.wake(Math.min(ctx.settings.intervalMs, 500));
    }
  });
}

/** Tells the owner's open session to stop the unit, once per session and epoch. */
function sendRevoke(
  ctx: RoundContext,
  unitId: string,
  owner: string,
  epoch: Epoch,
  reason: string,
): void {
  const session = ctx.sessionOf.get(owner);
  if (session === undefined) return;
  const key = `${session.sessionId}/${epoch}`;
  if (ctx.term.revokeSent.get(unitId) === key) return;
  const ref = ctx.unitById.get(unitId) ?? parseUnitId(unitId);
  if (ref === undefined) return;
  ctx.directory.send(owner, session.sessionId, {
    message: {
      case: "revoke",
      value: {
        unit: { flow: ref.flow, sourceTopic: ref.sourceTopic, partition: ref.partition },
        epoch: epochToProto(epoch),
        reason,
      },
    },
  });
  ctx.term.revokeSent.set(unitId, key);
}

function parseUnitId(
  id: string,
): { flow: string; sourceTopic: string; partition: number } | undefined {
  const first = id.indexOf("/");
  const last = id.lastIndexOf("/");
  if (first < 0 || last <= first) return undefined;
  return {
    flow: id.slice(0, first),
    sourceTopic: id.slice(first + 1, last),
    partition: Number(id.slice(last + 1)),
  };
}
