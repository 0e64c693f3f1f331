import { type UnitKey, unitId } from "@geo/progress";
import type { ReplicationEngine } from "@geo/replication";
import type { CoordinatorSession } from "./coordinator-session";
import { toUnitReport } from "./unit-messages";

/**
 * Reports units to the coordinator: every unit at an interval (a complete report), and a unit
 * whose state changed at once, gathered over 100 ms, so that the coordinator's status shows a
 * takeover when it happens, not seconds later.
 */
export class UnitReporter {
  private readonly changed = new Map<string, UnitKey>();
  private changeTimer: NodeJS.Timeout | undefined;
  private reporting: NodeJS.Timeout | undefined;

  constructor(
    private readonly engine: () => ReplicationEngine,
    private readonly send: CoordinatorSession["send"],
  ) {}

  /** Complete reports every `intervalMs` from now on. */
  start(intervalMs: number): void {
    this.reporting = setInterval(() => {
      this.send({
        message: {
          case: "unitReports",
          value: { complete: true, reports: this.engine().statuses().map(toUnitReport) },
        },
      });
    }, intervalMs);
  }

  /** The unit's state changed: reported within 100 ms. */
  reportSoon(unit: UnitKey): void {
    this.changed.set(unitId(unit), unit);
    this.changeTimer ??= setTimeout(() => {
      this.changeTimer = undefined;
      const units = [...this.changed.values()];
      this.changed.clear();
      const reports = this.engine().statuses(units).map(toUnitReport);
      if (reports.length === 0) return;
      this.send({ message: { case: "unitReports", value: { complete: false, reports } } });
    }, 100);
  }

  stop(): void {
    clearInterval(this.reporting);
    clearTimeout(this.changeTimer);
  }
}
