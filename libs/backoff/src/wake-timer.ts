// One timer armed for the earliest of the wake-ups asked for: a loop that owes work at several
// future times (retry backoffs, request deadlines, fetch waits) asks for each and is woken once,
// at the soonest, instead of holding a timer per pending item.

export class WakeTimer {
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  constructor(private readonly onWake: () => void) {}

  /** Wakes at `at` (a `performance.now()` time) unless an earlier wake-up is armed already. */
  wakeAt(at: number): void {
    if (at === Infinity || at >= this.armedFor) return;
    this.cancel();
    this.armedFor = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.armedFor = Infinity;
        this.onWake();
      },
      Math.max(0, at - performance.now()),
    );
  }

  /** Disarms: a wake-up for work that is gone must not keep the process alive. */
  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }
}
