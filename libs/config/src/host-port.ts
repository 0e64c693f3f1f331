import type { HostPortConfig } from "./geo-config";

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6_CHARS = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/;

/**
 * Why `value` is not a usable "host:port" address, or undefined when it is. IPv6 hosts are
 * written in brackets ("[::1]:9092"), as Kafka and grpc-js expect.
 */
export function hostPortProblem(
  value: string,
  options: { allowPortZero?: boolean } = {},
): string | undefined {
  const split = splitHostPort(value);
  if (split === undefined) {
    return `"${value}" is not "host:port" (write e.g. "kafka-1.example.com:9092", "10.0.0.5:9092" or "[::1]:9092")`;
  }
  const { host, portText } = split;
  if (host === "") return `"${value}" has no host before the port`;
  if (host.startsWith("[")) {
    const inner = host.slice(1, -1);
    if (!IPV6_CHARS.test(inner) || !inner.includes(":")) {
      return `"${value}" has an invalid IPv6 address in brackets`;
    }
  } else if (!IPV4.test(host) && !HOSTNAME.test(host)) {
    return `"${value}" has an invalid host "${host}" (a DNS name or IPv4 address; IPv6 goes in brackets)`;
  }
  if (!/^\d{1,5}$/.test(portText)) return `"${value}" has a port that is not a number`;
  const port = Number(portText);
  const min = options.allowPortZero ? 0 : 1;
  if (port < min || port > 65535) {
    return `"${value}" has port ${port}, outside ${min}-65535`;
  }
  return undefined;
}

/** Parses "host:port" ("[v6]:port" for IPv6; the brackets are removed from `host`). */
export function parseHostPort(
  value: string,
  options: { allowPortZero?: boolean } = {},
): HostPortConfig {
  const problem = hostPortProblem(value, options);
  if (problem !== undefined) throw new TypeError(problem);
  const { host, portText } = splitHostPort(value)!;
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  return { host: bare, port: Number(portText) };
}

function splitHostPort(value: string): { host: string; portText: string } | undefined {
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    if (close < 0 || value[close + 1] !== ":") return undefined;
    return { host: value.slice(0, close + 1), portText: value.slice(close + 2) };
  }
  const colon = value.lastIndexOf(":");
  // More than one colon without brackets is a bare IPv6 address, ambiguous with the port.
  if (colon < 0 || value.indexOf(":") !== colon) return undefined;
  return { host: value.slice(0, colon), portText: value.slice(colon + 1) };
}
