import {
  type AssignmentAgent,
  type AssignmentInput,
  type AssignmentResult,
  type AssignmentUnit,
  computeAssignment,
} from "@geo/assignment";
import { printReport, type Row } from "./report";

const UNITS = 100_000;
const AGENTS = 500;
const REPEATS = 5;

// mulberry32: the same loads on every run, so figures are comparable between runs.
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Shaped like real unit ids: flow, topic, partition.
function makeUnits(count: number, load: (i: number) => number): AssignmentUnit[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `us-east->eu-west/orders-${Math.floor(i / 64)}/${i % 64}`,
    load: load(i),
  }));
}

function makeAgents(count: number): AssignmentAgent[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `eu-west-agent-${String(i).padStart(4, "0")}`,
  }));
}

function timed(input: AssignmentInput): { result: AssignmentResult; ms: number } {
  const started = performance.now();
  const result = computeAssignment(input);
  return { result, ms: performance.now() - started };
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs every scenario; the first one must be the process's first call to the algorithm. */
export function runAssignmentBench(): Row[] {
  const random = seeded(2024);
  const base = makeUnits(UNITS, () => 1_000 + random() * 9_000);
  const skewed = base.map((unit) => ({
    id: unit.id,
    load: random() < 0.1 ? unit.load * 10 : unit.load,
  }));
  const idle = makeUnits(UNITS, () => 0);
  const agents = makeAgents(AGENTS);
  const joined = makeAgents(AGENTS + 1);
  const newcomer = joined[AGENTS]!.id;
  const departed = agents[AGENTS - 1]!.id;
  const left = agents.slice(0, AGENTS - 1);

  const rows: Row[] = [];
  const record = (
    scenario: string,
    input: AssignmentInput,
    expected: (result: AssignmentResult) => boolean,
    first?: { result: AssignmentResult; ms: number },
  ): AssignmentResult => {
    const run = first ?? timed(input);
    const repeats = first ? [] : Array.from({ length: REPEATS }, () => timed(input).ms);
    const { stats } = run.result;
    rows.push({
      scenario,
      units: input.units.length,
      agents: input.agents.length,
      ms: run.ms,
      medianMs: repeats.length > 0 ? median(repeats) : null,
      moves: stats.moved,
      maxOverMean: stats.maxOverMean,
      unitSpread: stats.maxUnits - stats.minUnits,
      passes: stats.passes,
      expected: expected(run.result),
    });
    return run.result;
  };

  const freshInput = { units: base, agents };
  const cold = timed(freshInput);
  record("cold: first call, fresh", freshInput, (r) => r.stats.withinBound, cold);
  const fresh = record("warm: fresh", freshInput, (r) => r.stats.withinBound);
  const previous = fresh.assignment;
  record("unchanged input", { units: base, agents, previous }, (r) => r.moves.length === 0);
  record(
    "+1 agent",
    { units: base, agents: joined, previous },
    (r) =>
      r.moves.length <= Math.ceil(UNITS / (AGENTS + 1)) && r.moves.every((m) => m.to === newcomer),
  );
  record(
    "-1 agent",
    { units: base, agents: left, previous },
    (r) => r.moves.every((m) => m.from === departed) && r.stats.withinBound,
  );
  record(
    "skewed load (10% at 10x), fresh",
    { units: skewed, agents },
    (r) => r.stats.maxOverMean <= 1.3,
  );
  const shifted = record(
    "skewed load appears on balanced",
    { units: skewed, agents, previous },
    (r) => r.stats.maxOverMean <= 1.3,
  );
  record(
    "skewed load, +1 agent",
    { units: skewed, agents: joined, previous: shifted.assignment },
    (r) => r.stats.maxOverMean <= 1.3 && r.moves.every((m) => m.to === newcomer),
  );
  record(
    "idle units (no load), fresh",
    { units: idle, agents },
    (r) => r.stats.maxUnits - r.stats.minUnits <= 1,
  );
  return rows;
}

if (require.main === module) {
  printReport("assignment: computeAssignment, 100k units over 500 agents", runAssignmentBench());
}
