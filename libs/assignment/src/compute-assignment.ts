import { AssignmentError } from "./assignment-error";
import { balanceByLoad } from "./balance-by-load";
import { spreadByCount } from "./spread-by-count";

export interface AssignmentUnit {
  readonly id: string;
  /** Measured bytes/s; 0 when idle or not measured yet (such units are spread by count). */
  readonly load: number;
}

export interface AssignmentAgent {
  readonly id: string;
  /** Relative weight, default 1: an agent of capacity 2 gets twice the share of one of 1. */
  readonly capacity?: number;
}

export interface AssignmentInput {
  /** Units of one target region; all agents given are live agents of that region. */
  readonly units: readonly AssignmentUnit[];
  readonly agents: readonly AssignmentAgent[];
  /** Unit id to agent id of the current assignment; entries naming other agents are ignored. */
  readonly previous?: ReadonlyMap<string, string>;
}

export interface AssignmentOptions {
  /**
   * Width of the band (default 1.3) in which stickiness wins over balance: an agent above
   * `maxLoadRatio ×` its fair share of the load sheds units until it is back inside; one below
   * `fair share / maxLoadRatio` is refilled up to its fair share. Must be >= 1; 1 rebalances on
   * any difference.
   */
  readonly maxLoadRatio?: number;
}

export interface Move {
  readonly unitId: string;
  /** Absent when the unit had no previous agent. */
  readonly from?: string;
  readonly to: string;
}

export interface AssignmentStats {
  readonly units: number;
  readonly agents: number;
  /** Sum of the units' loads, bytes/s. */
  readonly totalLoad: number;
  /** totalLoad / agents, 0 without agents. */
  readonly meanLoad: number;
  readonly maxLoad: number;
  readonly minLoad: number;
  /**
   * Highest ratio of an agent's load to its fair share (totalLoad × its capacity / total
   * capacity): maxLoad / meanLoad when capacities are equal; 0 without load.
   */
  readonly maxOverMean: number;
  readonly maxUnits: number;
  readonly minUnits: number;
  readonly moved: number;
  readonly unassigned: number;
  /** Units heavier than maxLoadRatio × a fair share on their own; each has an agent to itself. */
  readonly oversizeUnits: string[];
  /** Every agent not holding an oversize unit is within maxLoadRatio × its fair share. */
  readonly withinBound: boolean;
  /** Rebalancing passes run (1 when the first pass found nothing more to do). */
  readonly passes: number;
}

export interface AssignmentResult {
  /** Unit id to agent id, in the order of the input units. */
  readonly assignment: Map<string, string>;
  /** Units whose agent differs from `previous`, in the order of the input units. */
  readonly moves: Move[];
  /** Units left without an agent: all of them when there is no agent, otherwise none. */
  readonly unassigned: string[];
  readonly stats: AssignmentStats;
}

export const DEFAULT_MAX_LOAD_RATIO = 1.3;

const NO_PREVIOUS: ReadonlyMap<string, string> = new Map();

/**
 * Assigns units to agents, balanced by load then by count, moving only what balance requires.
 * The result depends on the sets given, not on their order: units and agents are ranked by
 * load and id before anything is decided.
 */
export function computeAssignment(
  input: AssignmentInput,
  options: AssignmentOptions = {},
): AssignmentResult {
  const maxLoadRatio = checkedMaxLoadRatio(options.maxLoadRatio);
  const unitIds = validateUnits(input.units);
  const loads = new Float64Array(unitIds.length);
  for (let i = 0; i < loads.length; i++) loads[i] = input.units[i]!.load;
  const { agentIds, capacity } = validateAgents(input.agents);

  const n = unitIds.length;
  const agents = agentIds.length;
  let totalLoad = 0;
  for (let i = 0; i < n; i++) totalLoad += loads[i]!;
  if (agents === 0) {
    return {
      assignment: new Map(),
      moves: [],
      unassigned: unitIds.slice(),
      stats: emptyStats(n, totalLoad),
    };
  }

  const ranked = rankUnits(unitIds, loads, agentIds, input.previous ?? NO_PREVIOUS);
  const owner = new Int32Array(n).fill(-1);
  const unitCount = new Int32Array(agents);
  const previous = ranked.previousAgent;
  spreadByCount({ from: ranked.loadedEnd, to: n, previous, owner, capacity, unitCount });
  const { unitLoad, loadedEnd: end } = ranked;
  const balanced = balanceByLoad({
    end,
    unitLoad,
    previous,
    owner,
    capacity,
    unitCount,
    maxLoadRatio,
  });
  const placed = collectPlacement(unitIds, agentIds, ranked, owner);
  const stats = placementStats({ capacity, unitCount, totalLoad, maxLoadRatio }, placed, balanced);
  return {
    assignment: placed.assignment,
    moves: placed.moves,
    unassigned: [],
    stats: {
      ...stats,
      units: n,
      moved: placed.moves.length,
      oversizeUnits: balanced.oversize.map((r) => unitIds[ranked.byRank[r]!]!),
      passes: balanced.passes,
    },
  };
}

function checkedMaxLoadRatio(value: number | undefined): number {
  const maxLoadRatio = value ?? DEFAULT_MAX_LOAD_RATIO;
  if (typeof maxLoadRatio !== "number" || !Number.isFinite(maxLoadRatio) || maxLoadRatio < 1) {
    throw new AssignmentError(
      "INVALID_OPTION",
      `maxLoadRatio must be a finite number >= 1, got ${String(maxLoadRatio)}`,
    );
  }
  return maxLoadRatio;
}

/** Units by rank (descending load), with each rank's load and previous agent index. */
interface RankedUnits {
  /** Per rank: the input index of the unit. */
  readonly byRank: number[];
  /** Per input index: the unit's rank. */
  readonly rankOf: Int32Array;
  readonly unitLoad: Float64Array;
  /** Per rank: the index of the live agent that held the unit, or -1. */
  readonly previousAgent: Int32Array;
  /** Per input index: the agent id that held the unit, live or not. */
  readonly previousId: (string | undefined)[];
  /** Ranks from here on carry no load. */
  readonly loadedEnd: number;
}

function rankUnits(
  unitIds: readonly string[],
  loads: Float64Array,
  agentIds: readonly string[],
  previous: ReadonlyMap<string, string>,
): RankedUnits {
  const n = unitIds.length;
  const agentIndex = new Map<string, number>();
  for (let a = 0; a < agentIds.length; a++) agentIndex.set(agentIds[a]!, a);

  // Equal loads (all idle units, typically) are ordered by a hash of the id: comparing numbers
  // is several times faster than comparing ids that share a long prefix, and the scrambled
  // order spreads a topic's partitions over agents instead of handing out runs of them.
  const idHash = new Uint32Array(n);
  for (let i = 0; i < n; i++) idHash[i] = fnv1a(unitIds[i]!);
  const byRank = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) =>
      loads[b]! - loads[a]! || idHash[a]! - idHash[b]! || compareIds(unitIds[a]!, unitIds[b]!),
  );
  const unitLoad = new Float64Array(n);
  const previousAgent = new Int32Array(n);
  const rankOf = new Int32Array(n);
  const previousId = new Array<string | undefined>(n);
  let loadedEnd = n;
  for (let r = 0; r < n; r++) {
    const i = byRank[r]!;
    rankOf[i] = r;
    unitLoad[r] = loads[i]!;
    if (loads[i] === 0 && loadedEnd === n) loadedEnd = r;
    const held = previous.get(unitIds[i]!);
    previousId[i] = held;
    previousAgent[r] = held === undefined ? -1 : (agentIndex.get(held) ?? -1);
  }
  return { byRank, rankOf, unitLoad, previousAgent, previousId, loadedEnd };
}

interface Placement {
  readonly assignment: Map<string, string>;
  readonly moves: Move[];
  readonly agentLoad: Float64Array;
}

function collectPlacement(
  unitIds: readonly string[],
  agentIds: readonly string[],
  ranked: RankedUnits,
  owner: Int32Array,
): Placement {
  const assignment = new Map<string, string>();
  const moves: Move[] = [];
  const agentLoad = new Float64Array(agentIds.length);
  for (let i = 0; i < unitIds.length; i++) {
    const r = ranked.rankOf[i]!;
    const a = owner[r]!;
    const unitId = unitIds[i]!;
    const to = agentIds[a]!;
    agentLoad[a]! += ranked.unitLoad[r]!;
    assignment.set(unitId, to);
    const from = ranked.previousId[i];
    if (from !== to) moves.push(from === undefined ? { unitId, to } : { unitId, from, to });
  }
  return { assignment, moves, agentLoad };
}

interface StatsInput {
  readonly capacity: Float64Array;
  readonly unitCount: Int32Array;
  readonly totalLoad: number;
  readonly maxLoadRatio: number;
}

function placementStats(
  { capacity, unitCount, totalLoad, maxLoadRatio }: StatsInput,
  { agentLoad }: Placement,
  { pinned }: { readonly pinned: Uint8Array },
): Omit<AssignmentStats, "units" | "moved" | "oversizeUnits" | "passes"> {
  const agents = capacity.length;
  let totalCapacity = 0;
  for (let a = 0; a < agents; a++) totalCapacity += capacity[a]!;
  let maxLoad = 0;
  let minLoad = Number.POSITIVE_INFINITY;
  let maxOverMean = 0;
  let maxUnits = 0;
  let minUnits = Number.POSITIVE_INFINITY;
  let withinBound = true;
  for (let a = 0; a < agents; a++) {
    const load = agentLoad[a]!;
    maxLoad = Math.max(maxLoad, load);
    minLoad = Math.min(minLoad, load);
    maxUnits = Math.max(maxUnits, unitCount[a]!);
    minUnits = Math.min(minUnits, unitCount[a]!);
    const fair = (totalLoad * capacity[a]!) / totalCapacity;
    if (fair > 0) maxOverMean = Math.max(maxOverMean, load / fair);
    if (pinned[a] === 0 && load > fair * maxLoadRatio * (1 + 1e-9)) withinBound = false;
  }
  const meanLoad = totalLoad / agents;
  return {
    agents,
    totalLoad,
    meanLoad,
    maxLoad,
    minLoad,
    maxOverMean,
    maxUnits,
    minUnits,
    unassigned: 0,
    withinBound,
  };
}

// 32-bit FNV-1a over UTF-16 code units: fixed, so the order it gives never changes between runs.
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

// Code-unit order: the same on every platform and locale, which is all determinism needs.
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function validateUnits(units: readonly AssignmentUnit[]): string[] {
  const ids = new Array<string>(units.length);
  const seen = new Set<string>();
  for (let i = 0; i < units.length; i++) {
    const unit = units[i]!;
    const id = unit.id;
    if (typeof id !== "string" || id === "") {
      throw new AssignmentError("INVALID_UNIT", `unit #${i} has no id`);
    }
    if (seen.has(id)) throw new AssignmentError("DUPLICATE_UNIT", `unit ${id} is listed twice`);
    seen.add(id);
    const load = unit.load;
    if (typeof load !== "number" || !(load >= 0) || load === Number.POSITIVE_INFINITY) {
      throw new AssignmentError(
        "INVALID_UNIT",
        `unit ${id} has load ${String(load)}; expected a finite number of bytes/s >= 0`,
      );
    }
    ids[i] = id;
  }
  return ids;
}

function validateAgents(agents: readonly AssignmentAgent[]): {
  agentIds: string[];
  capacity: Float64Array;
} {
  const seen = new Set<string>();
  for (let i = 0; i < agents.length; i++) {
    const agent = agents[i]!;
    const id = agent.id;
    if (typeof id !== "string" || id === "") {
      throw new AssignmentError("INVALID_AGENT", `agent #${i} has no id`);
    }
    if (seen.has(id)) throw new AssignmentError("DUPLICATE_AGENT", `agent ${id} is listed twice`);
    seen.add(id);
    const capacity = agent.capacity ?? 1;
    if (typeof capacity !== "number" || !Number.isFinite(capacity) || !(capacity > 0)) {
      throw new AssignmentError(
        "INVALID_AGENT",
        `agent ${id} has capacity ${String(capacity)}; expected a finite number > 0`,
      );
    }
  }
  const sorted = agents.slice().sort((a, b) => compareIds(a.id, b.id));
  return {
    agentIds: sorted.map((agent) => agent.id),
    capacity: Float64Array.from(sorted, (agent) => agent.capacity ?? 1),
  };
}

function emptyStats(units: number, totalLoad: number): AssignmentStats {
  return {
    units,
    agents: 0,
    totalLoad,
    meanLoad: 0,
    maxLoad: 0,
    minLoad: 0,
    maxOverMean: 0,
    maxUnits: 0,
    minUnits: 0,
    moved: 0,
    unassigned: units,
    oversizeUnits: [],
    withinBound: true,
    passes: 0,
  };
}
