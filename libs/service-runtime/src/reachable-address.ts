import { hostname } from "node:os";

/**
 * The address other components can dial: a wildcard bind is replaced by this host's name (the
 * container or pod name in Compose and Kubernetes), which is what a reachable address looks like
 * there; a specific bind address is kept.
 */
export function reachableAddress(bound: string): string {
  const at = bound.lastIndexOf(":");
  const host = bound.slice(0, at);
  return host === "0.0.0.0" || host === "[::]" || host === "::"
    ? `${hostname()}:${bound.slice(at + 1)}`
    : bound;
}
