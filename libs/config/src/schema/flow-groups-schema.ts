// A flow group as written: its pair and active region are resolved in ../flow-groups.ts.
import { z } from "zod";
import { clusterRef, flowRef, type SchemaContext } from "./context";
import { flag, int, ms, optionalText, requiredText, section } from "./fields";

const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const CONSUMER_GROUP = /^[A-Za-z0-9._-]{1,249}$/;

// flowGroups: pairs of clusters whose active region the health service moves

/**
 * flowGroups[].autoFailover: the health service fails a group over by itself once its active
 * cluster has been unreachable for a while. Off unless enabled: an automatic move of the active
 * region is a decision many operators want to take themselves.
 */
const autoFailoverSchema = section({
  enabled: flag().default(false).describe("default false: only an operator moves the region"),
  unreachableForMs: ms(1000, 86_400_000)
    .default(60_000)
    .describe("the active cluster failed every probe this long before the service fails over"),
}).prefault({});

/**
 * flowGroups[].passiveProtection: the health service keeps the passive region's replicated
 * topics read-only for applications between transitions too (the group's first passive region,
 * topics created after a move, a failed transition's leftovers).
 */
const passiveProtectionSchema = section({
  reconcileIntervalMs: ms(0, 3_600_000)
    .default(10_000)
    .superRefine((value, ctx) => {
      if (value === 0 || value >= 500) return;
      ctx.addIssue({
        code: "custom",
        message: `is ${value} ms: use 0 (only transitions move the protection) or at least 500 ms`,
      });
    })
    .describe("0: only transitions move the protection; otherwise how often it is checked"),
}).prefault({});

/** One flow group, before its pair and active region are resolved (flow-groups.ts). */
export function flowGroupSchema(context: SchemaContext) {
  return section(
    {
      name: requiredText().superRefine((value, ctx) => {
        if (!GROUP_NAME.test(value)) {
          ctx.addIssue({
            code: "custom",
            message: `"${value}" is not valid: use letters, digits, ".", "_" and "-", starting with a letter or digit`,
          });
        }
      }),
      clusters: z
        .array(clusterRef(context))
        .optional()
        .describe("the two cluster aliases, in two regions; optional when flows are named"),
      flows: z.array(flowRef(context)).default([]).describe("default: every flow of the pair"),
      initialActive: optionalText().describe("region (or alias) active until a transition"),
      consumerGroups: z
        .array(
          requiredText().superRefine((group, ctx) => {
            if (!CONSUMER_GROUP.test(group)) {
              ctx.addIssue({
                code: "custom",
                message: `"${group}" is not a valid consumer group id: use letters, digits, ".", "_" and "-"`,
              });
            }
          }),
        )
        .default([]),
      drainTimeoutMs: ms(100, 3_600_000).default(60_000),
      catchUpTimeoutMs: ms(100, 86_400_000).default(600_000),
      failoverAfterProbeFailures: int({ min: 1, max: 1000 }).default(3),
      autoFailover: autoFailoverSchema,
      passiveProtection: passiveProtectionSchema,
    },
    { what: "a flow group", empty: "a flow group needs a name and its clusters or flows" },
  );
}
