// Past its start bound a broker whose JVM still uses CPU is starved (a loaded machine), not
// stuck: it gets up to this many bounds in all. One that used no CPU for 30 s fails at the bound.
export const STARVED_BOUNDS = 3;

/** Past the start bound, and either past the starved limit or not working any more. */
export function pastBound(deadline: number, limit: number, working: boolean): boolean {
  const now = Date.now();
  return now > deadline && (now > limit || !working);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
