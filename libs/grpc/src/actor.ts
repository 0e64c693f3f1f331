import type { HandlerContext } from "./service-impl.js";

/** Request metadata naming who makes a change, for clients that do not fill `actor` fields. */
export const actorMetadataKey = "x-geo-actor";

/**
 * Who makes a change, for the history: the request's `actor` field when set, else the
 * `x-geo-actor` metadata, else the peer address (`peer:ipv4:10.0.0.7:51234`), so a change is
 * never recorded without a name. With authorization on, the authenticated caller's name.
 */
export function resolveActor(requestActor: string, context: HandlerContext): string {
  // An authenticated caller is recorded by its own name; only services (a standby coordinator
  // forwarding a change it received) may name someone else.
  const caller = context.caller;
  if (caller !== undefined && !caller.roles.includes("service")) {
    return requestActor.length > 0 && requestActor !== caller.name
      ? `${caller.name} (as "${requestActor}")`
      : caller.name;
  }
  if (requestActor.length > 0) return requestActor;
  const fromMetadata = context.metadataValue(actorMetadataKey);
  if (fromMetadata !== undefined && fromMetadata.length > 0) return fromMetadata;
  return `peer:${context.peer}`;
}
