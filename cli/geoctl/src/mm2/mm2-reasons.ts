// Why an MM2 setting has no place in geo's YAML, by key pattern (after the cluster or flow prefix
// is removed). The first matching rule wins; anything unmatched gets the generic reason.

const CONNECT =
  "a Kafka Connect worker setting: geo does not run on Connect (its services keep their own state in Kafka and Redis)";
const DISCOVERY =
  "geo lists source topics and partitions and syncs topic configs every discovery.intervalMs (2 s by default) instead";
const HEARTBEATS =
  "the health service writes and reads its own heartbeats through every flow to measure end-to-end latency; MM2's heartbeats topic is not written";
const CHECKPOINTS =
  "the offset-translation service translates group offsets exactly from the offset map the agents write in the target (no periodic checkpoint interval to set)";
const OFFSET_SYNCS =
  "geo records an exact source->target offset map in the target cluster: nothing is written to the source, and offset.lag.max's approximation does not exist";

const RULES: readonly [RegExp, string][] = [
  [
    /^tasks\.max$/,
    "geo spreads a flow's partitions over the agents of the target region, balanced by measured load: run as many agents there as MM2 had workers (or more); there is no task count",
  ],
  [
    /^(groups|groups\.exclude|groups\.blacklist|groups\.whitelist|refresh\.groups\.(enabled|interval\.seconds))$/,
    "geo has no consumer group filter: any group's offsets can be translated on request (geoctl offsets translate/commit) and during switchover",
  ],
  [
    /^sync\.group\.offsets\.(enabled|interval\.seconds)$/,
    "geo commits translated group offsets on demand (geoctl offsets commit) and during switchover/failover, not periodically",
  ],
  [
    /^(emit\.checkpoints\.(enabled|interval\.seconds)|checkpoints\.topic\.replication\.factor)$/,
    CHECKPOINTS,
  ],
  [
    /^(emit\.heartbeats\.(enabled|interval\.seconds)|heartbeats\.topic\.replication\.factor)$/,
    HEARTBEATS,
  ],
  [
    /^(offset-syncs\.topic\.(location|replication\.factor)|offset\.lag\.max|emit\.offset-syncs\.enabled)$/,
    OFFSET_SYNCS,
  ],
  [
    /^(refresh\.topics\.(enabled|interval\.seconds)|sync\.topic\.configs\.(enabled|interval\.seconds))$/,
    DISCOVERY,
  ],
  [
    /^sync\.topic\.acls\.(enabled|interval\.seconds)$/,
    "geo does not copy ACLs: grant the consumers of remote topics READ in the target cluster yourself",
  ],
  [
    /^replication\.factor$/,
    "remote topics get min(3, brokers of the target) replicas; there is no setting for it",
  ],
  [/^(config|offset|status)\.storage\./, CONNECT],
  [/^(key|value|header)\.converter/, CONNECT],
  [
    /^(dedicated\.mode\.|listeners|rest\.|group\.id$|plugin\.path|connector\.class|consumer\.poll\.timeout\.ms|admin\.timeout\.ms)/,
    CONNECT,
  ],
  [
    /^(consumer|producer|admin)\./,
    "per-client tuning is not carried over: the agent forwards record batches as they are (no recompression) and sizes its own fetches and produces",
  ],
  [
    /^(topic\.filter\.class|group\.filter\.class|config\.property\.filter\.class|replication\.policy\.class)$/,
    "a custom Java class cannot run in geo",
  ],
];

export function reasonFor(setting: string): string {
  for (const [pattern, reason] of RULES) if (pattern.test(setting)) return reason;
  return "geo has no equivalent setting";
}
