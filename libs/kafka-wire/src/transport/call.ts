import type { KafkaWireError } from "../kafka-wire-error";
import type { WireRequest } from "../wire-transport";

/** A request waiting to be written or answered. */
export class Call {
  version = -1;
  correlationId = -1;
  timer: NodeJS.Timeout | undefined;
  settled = false;

  constructor(
    readonly request: WireRequest<unknown>,
    private readonly onValue: (value: unknown) => void,
    private readonly onError: (error: KafkaWireError) => void,
  ) {}

  resolve(value: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.onValue(value);
  }

  fail(error: KafkaWireError): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.onError(error);
  }
}
