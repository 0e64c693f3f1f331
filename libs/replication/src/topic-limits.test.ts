import assert from "node:assert/strict";
import { test } from "node:test";
import type { Admin, ClusterAdmin } from "@geo/kafka";
import { describeMaxMessageBytes, TopicConfigError, TopicLimits } from "./topic-limits";

/** An admin whose DescribeConfigs fails as kafkajs does when one of the topics is missing. */
function fakeAdmin(limits: Record<string, string>) {
  const requests: string[][] = [];
  const admin = {
    describeConfigs: async ({ resources }: { resources: { name: string }[] }) => {
      requests.push(resources.map((r) => r.name));
      const missing = resources.find((r) => limits[r.name] === undefined);
      if (missing !== undefined) throw new Error("This server does not host this topic-partition");
      return {
        resources: resources.map((r) => ({
          resourceName: r.name,
          configEntries: [{ configName: "max.message.bytes", configValue: limits[r.name] }],
        })),
      };
    },
  } as unknown as Admin;
  const cluster: ClusterAdmin = {
    alias: "a",
    use: (action) => action(admin),
    close: async () => {},
  };
  return { cluster, requests };
}

test("one DescribeConfigs for every topic asked at once, cached per topic until refresh", async () => {
  const { cluster, requests } = fakeAdmin({ orders: "2000000", "a.orders": "100000" });
  const limits = new TopicLimits(describeMaxMessageBytes(cluster, 1000));
  // Eight partitions of two topics starting together.
  const read = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      limits.maxMessageBytes(i % 2 === 0 ? "orders" : "a.orders"),
    ),
  );
  assert.deepEqual(read.slice(0, 2), [2_000_000, 100_000]);
  assert.deepEqual(requests, [["orders", "a.orders"]]);
  assert.equal(await limits.maxMessageBytes("orders"), 2_000_000);
  assert.equal(requests.length, 1);
  limits.refresh();
  await limits.maxMessageBytes("orders");
  assert.deepEqual(requests.at(-1), ["orders"]);
});

test("a topic that cannot be described fails alone and is asked again next time", async () => {
  const { cluster, requests } = fakeAdmin({ orders: "1048588", bad: "none" });
  const limits = new TopicLimits(describeMaxMessageBytes(cluster, 1000));
  const [orders, missing, bad] = await Promise.allSettled([
    limits.maxMessageBytes("orders"),
    limits.maxMessageBytes("a.missing"),
    limits.maxMessageBytes("bad"),
  ]);
  assert.deepEqual(orders, { status: "fulfilled", value: 1_048_588 });
  assert.equal(missing.status, "rejected");
  assert.ok(missing.reason instanceof TopicConfigError);
  assert.match(missing.reason.message, /does not host/);
  assert.equal(bad.status, "rejected");
  assert.match((bad.reason as Error).message, /bad: max\.message\.bytes is "none"/);
  // The whole request failed, then each topic was asked on its own.
  assert.deepEqual(requests, [["orders", "a.missing", "bad"], ["orders"], ["a.missing"], ["bad"]]);
  await assert.rejects(limits.maxMessageBytes("a.missing"), TopicConfigError);
  assert.deepEqual(requests.at(-1), ["a.missing"], "failures are not cached");
  assert.equal(await limits.maxMessageBytes("orders"), 1_048_588);
  assert.equal(requests.length, 5, "successes are");
});
