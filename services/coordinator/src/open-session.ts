// One agent session's way out: messages to the agent queue here until the session ends, and the
// call yields them as they come.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { GeoError } from "@geo/grpc";
import type { agentV1 } from "@geo/proto";

export type CoordinatorMessage = MessageInitShape<typeof agentV1.CoordinatorMessageSchema>;

export class OpenSession {
  private readonly outbox: CoordinatorMessage[] = [];
  /** null: ended cleanly; an error: ended with it; undefined: open. */
  private ended: GeoError | null | undefined;
  private wake: (() => void) | undefined;

  constructor(
    readonly sessionId: string,
    readonly agentId: string,
  ) {}

  send(message: CoordinatorMessage): void {
    if (this.ended !== undefined) return;
    this.outbox.push(message);
    this.wake?.();
  }

  /** Ends the session once: the first end's error (null for none) is the one the call ends with. */
  end(error: GeoError | null): void {
    if (this.ended !== undefined) return;
    this.ended = error;
    this.wake?.();
  }

  /** The queued messages, in order, then the end: returns when clean, throws its error if not. */
  async *messages(): AsyncGenerator<CoordinatorMessage, void> {
    for (;;) {
      const message = this.outbox.shift();
      if (message !== undefined) {
        yield message;
        continue;
      }
      if (this.ended === null) return;
      if (this.ended !== undefined) throw this.ended;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }
}
