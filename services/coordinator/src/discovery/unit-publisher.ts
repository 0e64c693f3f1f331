// The current desired units of all flows, and the listeners told when a round changed them.
import type { Logger } from "@geo/logging";
import { errorMessage } from "./topic-admin";
import { compareUnits, type DesiredUnit } from "./types";

export interface UnitPublisher {
  current(): readonly DesiredUnit[];
  /** Takes a round's units (any order); logs and tells the listeners when the set changed. */
  publish(units: readonly DesiredUnit[]): void;
  onChange(listener: (units: readonly DesiredUnit[]) => void): () => void;
}

export function createUnitPublisher(logger: Logger): UnitPublisher {
  const listeners = new Set<(units: readonly DesiredUnit[]) => void>();
  let current: readonly DesiredUnit[] = [];

  const tell = (units: readonly DesiredUnit[]): void => {
    for (const listener of listeners) {
      try {
        listener(units);
      } catch (error) {
        logger.error({ err: errorMessage(error) }, "a discovery listener failed");
      }
    }
  };

  return {
    current: () => current,
    publish(roundUnits) {
      const units = [...roundUnits].sort(compareUnits);
      if (sameUnits(units, current)) return;
      logger.info(
        { units: units.length, before: current.length },
        `desired units changed: ${current.length} -> ${units.length}`,
      );
      current = units;
      tell(units);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function sameUnits(a: readonly DesiredUnit[], b: readonly DesiredUnit[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((unit, index) => compareUnits(unit, b[index] as DesiredUnit) === 0);
}
