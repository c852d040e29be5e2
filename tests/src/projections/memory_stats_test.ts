import assert from "node:assert/strict";
import { memoryStats } from "../../../src/projections/memory_stats.ts";
import { guestDefinition, guestSamples } from "./_stats_fixtures.ts";

Deno.test("memoryStats gives actual, the guest's statistics, then rss", () => {
  const definition = guestDefinition((each) => {
    each.devices.memballoon = { model: "virtio", statsPeriod: 5 };
  });
  assert.deepEqual(memoryStats(definition, guestSamples()), [
    ["actual", 524288],
    ["unused", 100_000],
    ["last_update", 1700000000],
    ["rss", 200_000],
  ]);
});

Deno.test("memoryStats without a balloon gives no actual", () => {
  const samples = { ...guestSamples(), guestMemory: undefined };
  assert.deepEqual(memoryStats(guestDefinition(), samples), [["rss", 200_000]]);
});
