import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";

const pbkdf2Async = promisify(pbkdf2);

/** The mechanisms this transport speaks, as kafkajs's `sasl.mechanism` spells them. */
export type SaslMechanism = "plain" | "scram-sha-256" | "scram-sha-512";

export interface SaslCredentials {
  mechanism: SaslMechanism;
  username: string;
  password: string;
}

/**
 * One SASL conversation: `first()` gives the client's first message, `next(challenge)` the
 * reply to each server message until it returns null (done). Throws on a server message
 * that does not verify.
 */
export interface SaslConversation {
  first(): Promise<Buffer>;
  next(challenge: Buffer): Promise<Buffer | null>;
}

/** `clientNonce` is for tests (RFC 7677's example); by default 24 random bytes. */
export function saslConversation(
  credentials: SaslCredentials,
  clientNonce = randomBytes(24).toString("base64url"),
): SaslConversation {
  if (credentials.mechanism === "plain") return plainConversation(credentials);
  const bits = credentials.mechanism === "scram-sha-256" ? 256 : 512;
  return new ScramConversation(credentials, bits, clientNonce);
}

function plainConversation({ username, password }: SaslCredentials): SaslConversation {
  return {
    // RFC 4616: authzid NUL authcid NUL passwd, with an empty authzid.
    first: async () => Buffer.from(`\u0000${username}\u0000${password}`, "utf8"),
    next: async () => null,
  };
}

/** RFC 5802 saslname: "=" and "," escaped. */
function saslName(name: string): string {
  return name.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

function parseAttributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

// Kafka's ScramMechanism requires at least 4096 iterations; fewer means a server to distrust.
const MIN_ITERATIONS = 4096;

/**
 * SCRAM-SHA-256/512 (RFC 5802, RFC 7677) as Kafka's ScramSaslClient does it: no channel
 * binding ("n,,"), no SASLprep of the password (Kafka encodes it as UTF-8 as is), and the
 * server's signature checked, so a broker that does not know the password is not trusted.
 */
class ScramConversation implements SaslConversation {
  private readonly digest: "sha256" | "sha512";
  private readonly firstBare: string;
  private step = 0;
  private expectedServerSignature: Buffer | undefined;

  constructor(
    private readonly credentials: SaslCredentials,
    private readonly bits: 256 | 512,
    private readonly clientNonce: string,
  ) {
    this.digest = bits === 256 ? "sha256" : "sha512";
    this.firstBare = `n=${saslName(credentials.username)},r=${this.clientNonce}`;
  }

  async first(): Promise<Buffer> {
    return Buffer.from(`n,,${this.firstBare}`, "utf8");
  }

  async next(challenge: Buffer): Promise<Buffer | null> {
    this.step += 1;
    const message = challenge.toString("utf8");
    if (this.step === 1) return this.finalMessage(message);
    if (this.step === 2) {
      this.verifyServerFinal(message);
      return null;
    }
    throw new Error("SCRAM: unexpected server message after the final one");
  }

  private hmac(key: Buffer, data: string): Buffer {
    return createHmac(this.digest, key).update(data, "utf8").digest();
  }

  private async finalMessage(serverFirst: string): Promise<Buffer> {
    const attrs = parseAttributes(serverFirst);
    const nonce = attrs.get("r");
    const salt = attrs.get("s");
    const iterations = Number(attrs.get("i"));
    if (attrs.has("e")) throw new Error(`SCRAM: server refused: ${attrs.get("e")}`);
    if (nonce === undefined || !nonce.startsWith(this.clientNonce) || salt === undefined) {
      throw new Error("SCRAM: the server's first message is malformed or has a foreign nonce");
    }
    if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS) {
      throw new Error(`SCRAM: ${attrs.get("i")} iterations, Kafka requires at least 4096`);
    }
    const saltedPassword = await pbkdf2Async(
      Buffer.from(this.credentials.password, "utf8"),
      Buffer.from(salt, "base64"),
      iterations,
      this.bits / 8,
      this.digest,
    );
    const clientKey = this.hmac(saltedPassword, "Client Key");
    const storedKey = createHash(this.digest).update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`; // biws = base64("n,,")
    const authMessage = `${this.firstBare},${serverFirst},${withoutProof}`;
    const signature = this.hmac(storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
    const serverKey = this.hmac(saltedPassword, "Server Key");
    this.expectedServerSignature = this.hmac(serverKey, authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString("base64")}`, "utf8");
  }

  private verifyServerFinal(serverFinal: string): void {
    const attrs = parseAttributes(serverFinal);
    if (attrs.has("e")) throw new Error(`SCRAM: server refused: ${attrs.get("e")}`);
    const verifier = Buffer.from(attrs.get("v") ?? "", "base64");
    const expected = this.expectedServerSignature;
    if (
      expected === undefined ||
      verifier.length !== expected.length ||
      !timingSafeEqual(verifier, expected)
    ) {
      throw new Error("SCRAM: the server's signature does not verify");
    }
  }
}
