// The grant step of a round: new owners, and confirmations of existing ones. A grant starts above
// the highest epoch the unit's target cluster recorded, so an empty Redis never reuses one; the
// grant script refuses while an earlier owner may still trust its lease, and says when to retry.
import type { GrantResult } from "@geo/leases";
import { type Epoch, NO_EPOCH } from "@geo/positions";
import type { MinEpochOf } from "./assignment-types";
import { errorText, forEachLimit, RETRY_SLACK_MS, type RoundContext } from "./round-context";

export async function grantPlanned(
  ctx: RoundContext,
  grants: ReadonlyMap<string, string>,
  minEpochOf: MinEpochOf,
): Promise<void> {
  const toGrant = [...grants];
  if (toGrant.length === 0) return;
  let minEpochs: ReadonlyMap<string, Epoch>;
  try {
    minEpochs = await minEpochOf(toGrant.map(([id]) => ctx.unitById.get(id)!));
  } catch (error) {
    // Without the epochs the target cluster saw, a grant after a Redis loss could reuse one.
    const why = errorText(error);
    for (const [unitId] of toGrant) {
      ctx.notes.set(unitId, `cannot read the unit's progress epochs: ${why}`);
    }
    ctx.wake(Math.min(ctx.settings.intervalMs, 1000));
    return;
  }
  await forEachLimit(toGrant, ctx.settings.concurrency, async ([unitId, to]) => {
    if (!ctx.isCurrent()) return;
    await grantUnit(ctx, unitId, to, minEpochs.get(unitId) ?? NO_EPOCH);
  });
}

async function grantUnit(
  ctx: RoundContext,
  unitId: string,
  to: string,
  minEpoch: Epoch,
): Promise<void> {
  const { term, settings } = ctx;
  let result: GrantResult;
  try {
    // Inside the try: an epoch beyond what the store accepts is this unit's problem only.
    result = await ctx.store.grantUnit(unitId, to, {
      minEpoch,
      graceMs: settings.graceMs,
      ttlMs: settings.ttlMs,
      fence: term.lease.fence,
    });
  } catch (error) {
    ctx.notes.set(unitId, `could not grant to ${to}: ${errorText(error)}`);
    ctx.wake(Math.min(settings.intervalMs, 500));
    return;
  }
  if (result.granted) {
    term.confirmed.set(unitId, { agentId: to, epoch: result.epoch });
    ctx.leases.set(unitId, { owner: to, epoch: result.epoch, revoked: false });
    if (result.reason !== "already-owner") {
      ctx.logger.debug(
        { unit: unitId, agent: to, epoch: String(result.epoch), reason: result.reason },
        "granted",
      );
    }
    return;
  }
  if (result.reason === "not-leader") return ctx.lostTerm();
  term.confirmed.delete(unitId);
  ctx.notes.set(unitId, refusalNote(to, result));
  if (result.retryInMs !== undefined) ctx.wake(result.retryInMs + RETRY_SLACK_MS);
}

function refusalNote(to: string, result: Extract<GrantResult, { granted: false }>): string {
  const retry =
    result.retryInMs === undefined ? "" : ` (about ${Math.ceil(result.retryInMs)} ms left)`;
  const owner = result.currentOwner ?? "the previous owner";
  switch (result.reason) {
    case "grace":
      return `waiting to grant to ${to}: the lease of ${owner} ended, grace period running${retry}`;
    case "revoking":
      return `waiting to grant to ${to}: revoked from ${owner}, waiting for it to release${retry}`;
    case "recovering":
      return `waiting to grant to ${to}: Redis came back empty; an earlier owner may still trust its lease${retry}`;
    case "owner-live":
      return `waiting to grant to ${to}: ${owner} still holds a live lease`;
    case "agent-not-live":
      return `cannot grant to ${to}: its liveness lease is gone`;
    case "not-leader":
      return "this coordinator is no longer the leader";
  }
}
