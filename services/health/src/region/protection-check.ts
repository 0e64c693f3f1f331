// A drill's look at passive protection (passive-acls.ts): whether the region passive now has its
// replicated topics read-only for applications (a real transition lifts that first), and whether
// the region the transition would make passive can be protected at all (an authorizer). Nothing
// is changed. A cluster without an authorizer does not fail the drill: the step says that writes
// there are detected, not prevented. A cluster whose ACLs cannot be read does, since the real
// transition's ACL steps would fail there too, and so does one whose ACLs this service may read
// but not change (no ALTER on the cluster): on either side, since the transition lifts the
// passive region's denials before it protects the other.
import type { PassiveProtectionReport } from "@geo/region-state";
import type {
  AclRights,
  TopicWriteGuard,
  TransitionDependencies,
  WriteGuardReading,
} from "./dependencies";
import { remoteTopicSelector } from "./passive-acls";
import type { StepRecorder } from "./step-recorder";
import type { Plan } from "./transition-plan";

const DETECTED = "writes there are detected (geo_passive_foreign_writes_total), not prevented";

const listed = (topics: readonly string[]) => topics.join(", ");

/** The step's detail for the region passive now. */
function passiveNowDetail(cluster: string, reading: WriteGuardReading): string {
  if (!reading.authorizer)
    return `cluster ${cluster} has no authorizer: its replicated topics cannot be made read-only; ${DETECTED}`;
  if (reading.denied.length + reading.open.length === 0) return "no replicated topic there yet";
  const open =
    reading.open.length === 0
      ? ""
      : `applications may write to ${listed(reading.open)} (no write denial yet: the health service's protection keeper adds it at its next pass, flowGroups[].passiveProtection, as does a transition that makes a region passive)`;
  const denied =
    reading.denied.length === 0 ? "" : `read-only for applications: ${listed(reading.denied)}`;
  return [denied, open].filter((part) => part !== "").join("; ");
}

/** The step's detail for the region the transition would make passive. */
function nextPassiveDetail(cluster: string, kind: string, reading: WriteGuardReading): string {
  if (!reading.authorizer)
    return `cluster ${cluster} has no authorizer: after the ${kind} its replicated topics stay writable; ${DETECTED}`;
  const topics = [...reading.denied, ...reading.open].sort();
  if (topics.length === 0)
    return `authorizer present; no replicated topic there yet (topics created later are protected by the protection keeper, flowGroups[].passiveProtection)`;
  return `authorizer present: the ${kind} makes ${listed(topics)} read-only for applications`;
}

/** The kafka-acls command that gives the service ALTER on the cluster, and why it needs it. */
function missingAlterRight(cluster: string, rights: AclRights): string {
  const principal = rights.principal ?? "User:<the health service's principal>";
  return (
    `the health service (${principal}) may read the ACLs of cluster ${cluster} but not change them: ` +
    "it lacks ALTER on the cluster resource, which creating and deleting ACLs needs; grant it with " +
    `kafka-acls.sh --bootstrap-server ${rights.bootstrapServers.join(",")} --command-config <an admin's client properties> ` +
    `--add --allow-principal ${principal} --operation Alter --cluster`
  );
}

/**
 * Reading ACLs needs DESCRIBE on the cluster, protecting topics ALTER: a drill asks the
 * authorizer (changing nothing) and fails when the real transition's ACL steps would be refused.
 */
async function aclAlterRights(
  cluster: string,
  aclRights: NonNullable<TopicWriteGuard["aclRights"]>,
): Promise<string> {
  const rights = await aclRights(cluster).catch((error: Error) => {
    throw new Error(`could not ask cluster ${cluster} for this service's rights: ${error.message}`);
  });
  if (rights === undefined)
    return "not checked whether this service may change its ACLs (the broker does not say)";
  if (!rights.alter) throw new Error(missingAlterRight(cluster, rights));
  return "this service may change its ACLs (ALTER on the cluster)";
}

function report(
  region: { region: string; cluster: string },
  passiveNow: boolean,
  reading: WriteGuardReading | { error: string },
): PassiveProtectionReport {
  const base = {
    region: region.region,
    cluster: region.cluster,
    passiveNow,
    protectedTopics: [],
    unprotectedTopics: [],
  };
  if ("error" in reading) return { ...base, authorizer: false, error: reading.error };
  if (!reading.authorizer) return { ...base, authorizer: false };
  return {
    ...base,
    authorizer: true,
    protectedTopics: reading.denied,
    unprotectedTopics: reading.open,
  };
}

/** Records both checks as steps; returns the structured report for the drill's record. */
export async function checkPassiveProtection(
  p: Pick<Plan, "from" | "to" | "forward" | "reverse"> & {
    readonly request: { readonly kind: string };
  },
  steps: StepRecorder,
  deps: Pick<TransitionDependencies, "writeGuard" | "probes">,
): Promise<PassiveProtectionReport[]> {
  const out: PassiveProtectionReport[] = [];
  const read = async (
    region: { region: string; cluster: string },
    passiveNow: boolean,
    flows: Plan["forward"],
  ) => {
    try {
      const reading = await deps.writeGuard.read(
        region.cluster,
        remoteTopicSelector(flows, region.cluster),
      );
      out.push(report(region, passiveNow, reading));
      return reading;
    } catch (error) {
      const message = `could not read the ACLs of cluster ${region.cluster}: ${(error as Error).message}`;
      out.push(report(region, passiveNow, { error: message }));
      throw new Error(message);
    }
  };
  await steps.run(
    "check-passive-protection",
    `${p.to.cluster} (${p.to.region}), passive now: its replicated topics read-only for applications`,
    async () => {
      // The transition lifts these denials first (and the keeper adds them): ALTER again.
      const reading = await read(p.to, true, p.forward);
      const detail = passiveNowDetail(p.to.cluster, reading);
      if (!reading.authorizer || deps.writeGuard.aclRights === undefined) return detail;
      return `${detail}; ${await aclAlterRights(p.to.cluster, deps.writeGuard.aclRights)}`;
    },
  );
  await steps.run(
    "check-protectable",
    `${p.from.cluster} (${p.from.region}), passive after the ${p.request.kind}: can be protected`,
    async () => {
      const failures = deps.probes.consecutiveFailures(p.from.cluster);
      if (p.request.kind === "failover" && failures > 0) {
        const skipped = `not checked: cluster ${p.from.cluster} failed its last ${failures} probes; a real failover does not try to protect it, the failback does`;
        out.push(report(p.from, false, { error: skipped }));
        return skipped;
      }
      const reading = await read(p.from, false, p.reverse);
      const detail = nextPassiveDetail(p.from.cluster, p.request.kind, reading);
      if (!reading.authorizer || deps.writeGuard.aclRights === undefined) return detail;
      return `${detail}; ${await aclAlterRights(p.from.cluster, deps.writeGuard.aclRights)}`;
    },
  );
  return out;
}
