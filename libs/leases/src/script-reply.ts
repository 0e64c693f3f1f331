import { LeaseError } from "./lease-error";

/** A script's reply as an array of at least `min` fields; UNEXPECTED_REPLY otherwise. */
export function tuple(reply: unknown, min: number, what: string): unknown[] {
  if (!Array.isArray(reply) || reply.length < min) {
    throw new LeaseError("UNEXPECTED_REPLY", `${what} answered ${JSON.stringify(reply)}`);
  }
  return reply;
}
