import type { AssignmentLoop } from "./assignment/assignment-loop";
import type { LeaderForwarder } from "./assignment/leader-forwarding";
import type { Leadership } from "./assignment/leadership";
import type { Discovery } from "./discovery";

/**
 * The parts made once the server registers its services (discovery, loop, forwarder) or once it
 * listens (leadership, which announces the server's address). Undefined until then: the callbacks
 * made earlier read them from here when they run.
 */
export interface LateParts {
  leadership?: Leadership;
  loop?: AssignmentLoop;
  forwarder?: LeaderForwarder;
  discovery?: Discovery;
}
