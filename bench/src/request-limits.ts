// Issue 14: how long the coordinator's flow validation (limits and overlap with the other flows)
// holds the event loop for large filters. 8,000 literal patterns once held it for 17 s.
import { parseConfig, validateFlows } from "@geo/config";
import { printReport, type Row } from "./report";

const clusters = parseConfig(
  "clusters:\n  east: { bootstrapServers: ['127.0.0.1:1'] }\n  west: { bootstrapServers: ['127.0.0.1:2'] }\n",
  { source: "bench", env: {} },
).clusters;

const flow = (name: string, include: string[]) => ({
  name,
  source: "east",
  target: "west",
  topics: { include },
});
const literals = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

function timed(flows: unknown[]): { ms: number; outcome: string } {
  const started = performance.now();
  let outcome = "accepted";
  try {
    validateFlows(flows, clusters);
  } catch (error) {
    outcome = `refused: ${((error as { issues?: { message: string }[] }).issues?.[0]?.message ?? "").slice(0, 40)}`;
  }
  return { ms: Math.round((performance.now() - started) * 10) / 10, outcome };
}

const fileFlow = flow("file-orders", ["orders", "orders-.*"]);
const rows: Row[] = [];
for (const count of [100, 1000, 8000, 200_000]) {
  rows.push({
    case: `${count} literals vs a 2-pattern flow`,
    ...timed([fileFlow, flow("new", literals("t", count))]),
  });
}
rows.push({
  case: "1000 literals vs 1000 literals",
  ...timed([flow("a", literals("a", 1000)), flow("b", literals("b", 1000))]),
});
rows.push({
  case: "1000 prefix patterns vs 1000 prefix patterns",
  ...timed([
    flow(
      "a",
      literals("a", 1000).map((p) => `${p}-.*`),
    ),
    flow(
      "b",
      literals("b", 1000).map((p) => `${p}-.*`),
    ),
  ]),
});
printReport("request-limits", rows);
