// One Metadata request (v4, no topics) over a plain socket: which brokers does this broker know?
// The harness uses it for readiness instead of a full client, so starting a cluster loads no
// Kafka client library and logs nothing. v4 is the oldest version Kafka 4.x still accepts (KIP-896).
import { connect } from "node:net";

const METADATA = 3;
const VERSION = 4;
const CLIENT_ID = "geo-harness";

function request(correlationId: number): Buffer {
  const clientId = Buffer.from(CLIENT_ID);
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1);
  let at = body.writeInt16BE(METADATA, 0);
  at = body.writeInt16BE(VERSION, at);
  at = body.writeInt32BE(correlationId, at);
  at = body.writeInt16BE(clientId.length, at);
  at += clientId.copy(body, at);
  at = body.writeInt32BE(0, at); // topics: empty array, so no topic metadata
  body.writeInt8(0, at); // allow_auto_topic_creation: false
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

function parseBrokerIds(response: Buffer, correlationId: number): number[] {
  let at = 0;
  if (response.readInt32BE(at) !== correlationId) throw new Error("correlation id mismatch");
  at += 4 + 4; // correlation id, throttle_time_ms
  const count = response.readInt32BE(at);
  at += 4;
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(response.readInt32BE(at));
    at += 4;
    at += 2 + response.readInt16BE(at); // host
    at += 4; // port
    const rack = response.readInt16BE(at);
    at += 2 + Math.max(0, rack); // nullable rack: -1 is null
  }
  return ids.sort((a, b) => a - b);
}

/** Node ids of the live, unfenced brokers that the broker at `port` knows of. */
export function probeBrokers(port: number, timeoutMs = 2000): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const correlationId = 1 + Math.floor(Math.random() * 1_000_000);
    const socket = connect({ host: "127.0.0.1", port });
    let data = Buffer.alloc(0);
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no Metadata response from port ${port}`)));
    socket.on("error", fail);
    socket.on("connect", () => socket.write(request(correlationId)));
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.length < 4 || data.length < 4 + data.readInt32BE(0)) return;
      socket.destroy();
      try {
        resolve(parseBrokerIds(data.subarray(4, 4 + data.readInt32BE(0)), correlationId));
      } catch (error) {
        reject(error as Error);
      }
    });
  });
}
