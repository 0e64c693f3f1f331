import { agentArgs, parseLiveness } from "./agent-liveness";
import type { LeaseKeys } from "./keys";
import { LeaseError } from "./lease-error";
import type { AgentInfo, RenewUnitsResult, UnitEpoch, UnitRenewal } from "./lease-store-types";
import type { RunScript } from "./scripts";
import { RENEW_CODES } from "./scripts/renew-units";
import { checkEpoch, checkId } from "./validate";

/** Most units one renewUnits call accepts; above this, split the batch. */
export const MAX_RENEW_BATCH = 20_000;

/** LeaseStore.renewUnits: the agent's liveness and all its units in one EVALSHA. */
export async function renewUnits(
  run: RunScript,
  keys: LeaseKeys,
  agentId: string,
  units: readonly UnitEpoch[],
  ttlMs: number,
  info: AgentInfo,
): Promise<RenewUnitsResult> {
  const args = agentArgs(agentId, ttlMs, info);
  if (!Array.isArray(units) || units.length > MAX_RENEW_BATCH) {
    throw new LeaseError(
      "INVALID_ARGUMENT",
      `units must be an array of at most ${MAX_RENEW_BATCH} { unitId, epoch }`,
    );
  }
  const unitKeys: string[] = new Array(units.length);
  const epochs: string[] = new Array(units.length);
  units.forEach((unit, i) => {
    unitKeys[i] = keys.unit(checkId(`units[${i}].unitId`, unit?.unitId));
    epochs[i] = checkEpoch(`units[${i}].epoch`, unit.epoch);
  });
  const reply = await run(
    "geoLeaseRenewUnits",
    [keys.agent(agentId), keys.agents, keys.era, ...unitKeys],
    [...args, ...epochs],
  );
  const agent = parseLiveness(reply);
  if (!agent.ok) {
    return {
      agent,
      units: units.map(({ unitId, epoch }) => ({
        unitId,
        epoch,
        ok: false,
        reason: "instance-conflict",
      })),
      lost: units.length,
    };
  }
  const codes = String((reply as unknown[])[2] ?? "");
  if (codes.length !== units.length) {
    throw new LeaseError(
      "UNEXPECTED_REPLY",
      `geoLeaseRenewUnits answered ${codes.length} codes for ${units.length} units`,
    );
  }
  let lost = 0;
  const results = units.map(({ unitId, epoch }, i): UnitRenewal => {
    const code = codes[i] as keyof typeof RENEW_CODES;
    const answer = RENEW_CODES[code];
    if (answer === "ok") return { unitId, epoch, ok: true };
    lost++;
    return { unitId, epoch, ok: false, reason: answer };
  });
  return { agent, units: results, lost };
}
