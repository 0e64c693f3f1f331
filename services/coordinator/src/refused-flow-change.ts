import type { AuthorizationDecision } from "@geo/grpc";
import { CoordinatorService } from "@geo/proto";

const FLOW_CHANGES = new Set(["CreateFlow", "UpdateFlow", "DeleteFlow", "PauseFlow", "ResumeFlow"]);

/** The flow a refused flow change was about, so the history can record the refusal. */
export function refusedFlowChange(decision: AuthorizationDecision): string | undefined {
  const [service, method] = decision.method.split("/");
  if (decision.allowed || service !== CoordinatorService.typeName || !FLOW_CHANGES.has(method!)) {
    return undefined;
  }
  const request = decision.request as { name?: unknown; flow?: { name?: unknown } } | undefined;
  const name = request?.flow?.name ?? request?.name;
  // Only names a flow could have: a refused caller must not write megabytes into the history.
  return typeof name === "string" && name.length > 0 && name.length <= 100 ? name : undefined;
}
