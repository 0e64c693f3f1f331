import { kafkaErrorName } from "../kafka-error-codes";
import { KafkaWireError } from "../kafka-wire-error";
import { WireReader } from "../wire-reader";
import { WireWriter } from "../wire-writer";
import { type SaslCredentials, type SaslMechanism, saslConversation } from "./sasl";

export const SaslApiKey = { SaslHandshake: 17, SaslAuthenticate: 36 } as const;

/** The name a broker knows a mechanism by (`sasl.enabled.mechanisms`). */
export function brokerMechanismName(mechanism: SaslMechanism): string {
  return mechanism.toUpperCase();
}

export class AuthenticationError extends KafkaWireError {
  constructor(message: string, broker: string) {
    super("AUTHENTICATION_FAILED", message, { retriable: false, broker });
  }
}

/** SaslHandshake v1 request body: the mechanism name. */
export function encodeSaslHandshake(mechanism: string): Buffer {
  return new WireWriter(64).string(mechanism).finish();
}

export function decodeSaslHandshake(payload: Buffer): { errorCode: number; mechanisms: string[] } {
  const r = new WireReader(payload, "SaslHandshake response");
  const errorCode = r.int16();
  return { errorCode, mechanisms: r.array((x) => x.string()) };
}

/** SaslAuthenticate v0-v1 request body: the mechanism's bytes. */
export function encodeSaslAuthenticate(authBytes: Buffer): Buffer {
  return new WireWriter(authBytes.length + 8).bytes(authBytes).finish();
}

export interface SaslAuthenticateResponse {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Buffer;
  /** v1+: the broker closes the connection after this long unless it re-authenticates (KIP-368); 0 = never. */
  sessionLifetimeMs: number;
}

export function decodeSaslAuthenticate(version: number, payload: Buffer): SaslAuthenticateResponse {
  const r = new WireReader(payload, "SaslAuthenticate response");
  const errorCode = r.int16();
  const errorMessage = r.nullableString();
  const authBytes = Buffer.from(r.nullableBytes() ?? Buffer.alloc(0));
  const sessionLifetimeMs = version >= 1 ? Number(r.int64()) : 0;
  return { errorCode, errorMessage, authBytes, sessionLifetimeMs };
}

/** How {@link authenticate} talks to the broker: requests written at once, in turn. */
export interface SaslExchange {
  broker: string;
  versionIn(apiKey: number, min: number, max: number): number | null;
  send(apiKey: number, apiName: string, version: number, body: Buffer): Promise<Buffer>;
}

/**
 * SaslHandshake v1, then SaslAuthenticate until the mechanism is done (KIP-152). Returns the
 * session lifetime the broker granted (0: no re-authentication needed).
 */
export async function authenticate(sasl: SaslCredentials, exchange: SaslExchange): Promise<number> {
  const name = brokerMechanismName(sasl.mechanism);
  const fail = (why: string) =>
    new AuthenticationError(
      `SASL ${name} authentication as "${sasl.username}" failed: ${why}`,
      exchange.broker,
    );
  const authVersion = exchange.versionIn(SaslApiKey.SaslAuthenticate, 0, 1);
  if (authVersion === null || exchange.versionIn(SaslApiKey.SaslHandshake, 1, 1) === null) {
    throw fail("the broker does not support SaslHandshake v1 and SaslAuthenticate (Kafka 1.0+)");
  }
  const handshake = decodeSaslHandshake(
    await exchange.send(SaslApiKey.SaslHandshake, "SaslHandshake", 1, encodeSaslHandshake(name)),
  );
  if (handshake.errorCode !== 0) {
    const offered = handshake.mechanisms.join(", ") || "no mechanism";
    throw fail(`the broker offers ${offered} (${kafkaErrorName(handshake.errorCode)})`);
  }
  const conversation = saslConversation(sasl);
  let message: Buffer | null = await conversation.first();
  let sessionLifetimeMs = 0;
  while (message !== null) {
    const response = decodeSaslAuthenticate(
      authVersion,
      await exchange.send(
        SaslApiKey.SaslAuthenticate,
        "SaslAuthenticate",
        authVersion,
        encodeSaslAuthenticate(message),
      ),
    );
    if (response.errorCode !== 0) {
      throw fail(response.errorMessage ?? kafkaErrorName(response.errorCode));
    }
    sessionLifetimeMs = response.sessionLifetimeMs;
    try {
      message = await conversation.next(response.authBytes);
    } catch (e) {
      throw fail((e as Error).message);
    }
  }
  return sessionLifetimeMs;
}
