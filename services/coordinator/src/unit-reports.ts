// What connected agents report per unit, kept twice: on each agent's record (its latest report per
// unit) and indexed by unit (every connected agent's report of it), which status reads and the
// assignment loop's load balancing look up.
import { unitId as unitIdOf } from "@geo/progress";
import { type agentV1, replicationV1 } from "@geo/proto";
import type { AgentRecord } from "./agent-record";
import type { ReportedUnit } from "./assignment/unit-status";

export class UnitReports {
  /** unit id → agent id → report, over connected agents. */
  private readonly byUnit = new Map<string, Map<string, agentV1.UnitReport>>();

  /** Takes the reports; a complete set also drops the record's units it does not name. */
  apply(record: AgentRecord, reports: readonly agentV1.UnitReport[], complete: boolean): void {
    const seen = new Set<string>();
    for (const report of reports) {
      if (report.unit === undefined) continue;
      const unitId = unitIdOf(report.unit);
      seen.add(unitId);
      this.set(record, unitId, report);
    }
    if (complete) {
      for (const unitId of [...record.reports.keys()]) {
        if (!seen.has(unitId)) this.drop(record, unitId);
      }
    }
  }

  drop(record: AgentRecord, unitId: string): void {
    record.reports.delete(unitId);
    const reporters = this.byUnit.get(unitId);
    reporters?.delete(record.id);
    if (reporters?.size === 0) this.byUnit.delete(unitId);
  }

  /** Drops every report of the record (its session ended or was replaced). */
  dropAll(record: AgentRecord): void {
    for (const unitId of [...record.reports.keys()]) this.drop(record, unitId);
  }

  /** What connected agents report for a unit. */
  reportsFor(unitId: string): ReportedUnit[] {
    const reporters = this.byUnit.get(unitId);
    if (reporters === undefined) return [];
    return [...reporters].map(([agentId, report]) => ({ agentId, report }));
  }

  /** See AgentDirectory.unitLoad. */
  unitLoad(unitId: string): number | undefined {
    const reporters = this.byUnit.get(unitId);
    let load: number | undefined;
    for (const report of reporters?.values() ?? []) {
      if (report.state !== replicationV1.UnitState.RUNNING) continue;
      // The source's growth, not the copy rate: a unit catching up after a move copies faster
      // than its steady load, and balancing on that would move units again and again. Not yet
      // measured (a unit's first seconds): the unit keeps the load it was last known by.
      const bytes = report.loadBytesPerSecond;
      if (bytes === undefined || !Number.isFinite(bytes)) continue;
      load = Math.max(load ?? 0, Math.max(0, bytes));
    }
    return load;
  }

  private set(record: AgentRecord, unitId: string, report: agentV1.UnitReport): void {
    record.reports.set(unitId, report);
    let reporters = this.byUnit.get(unitId);
    if (reporters === undefined) {
      reporters = new Map();
      this.byUnit.set(unitId, reporters);
    }
    reporters.set(record.id, report);
  }
}
