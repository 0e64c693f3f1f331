import type { ProduceOptions } from "@geo/kafka-wire";
import type { Epoch } from "@geo/positions";
import type { UnitKey } from "@geo/progress";
import type { UnitContext } from "./unit-context";

/**
 * Fencing of one unit by its lease: whether it may still write, and until when its batches may
 * be delivered. Once the lease is not trusted the unit is told (`onLost`) and stays fenced.
 */
export class UnitFence {
  private lost = false;
  /** Once stopping: batches not acknowledged by then give up (monotonic ms). */
  private stopDeadline = Infinity;
  /** How the unit's batches are sent: their delivery deadline follows the lease when known. */
  readonly produceOptions: ProduceOptions;

  constructor(
    private readonly key: UnitKey,
    private readonly epoch: Epoch,
    private readonly ctx: Pick<UnitContext, "leaseGuard" | "leaseDeadline">,
    private readonly onLost: () => void,
  ) {
    // With a lease, a batch is retried (same producer id and sequence numbers) for as long as the
    // lease is trusted, each renewal moving its deadline on; a rewind would write again what
    // the target did take but had not acknowledged yet. Without one, deliveryTimeoutMs bounds it.
    this.produceOptions =
      ctx.leaseDeadline === undefined
        ? {}
        : { deadline: () => this.deliveryDeadline(), deliveryTimeoutMs: Infinity };
  }

  get leaseLost(): boolean {
    return this.lost;
  }

  /** Whether the lease is trusted now; when not, the unit is told once. */
  check(): boolean {
    if (this.lost) return false;
    let ok: boolean;
    try {
      ok = this.ctx.leaseGuard(this.key, this.epoch);
    } catch {
      ok = false;
    }
    if (!ok) this.onLost();
    return ok;
  }

  /** Marks the lease lost; false when it already was. */
  markLost(): boolean {
    if (this.lost) return false;
    this.lost = true;
    return true;
  }

  /** A graceful stop began: batches get no later delivery deadline than `deadline`. */
  stopBy(deadline: number): void {
    this.stopDeadline = Math.min(this.stopDeadline, deadline);
  }

  /**
   * The delivery deadline of this unit's batches now (monotonic ms): its lease's local deadline,
   * and once a graceful stop began, no later than deliveryTimeoutMs after it.
   */
  private deliveryDeadline(): number {
    // The producer takes a throw or NaN as "passed" too.
    if (this.lost) return -Infinity;
    return Math.min(this.ctx.leaseDeadline?.(this.key, this.epoch) ?? -Infinity, this.stopDeadline);
  }
}
