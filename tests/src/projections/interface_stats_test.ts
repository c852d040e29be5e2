import assert from "node:assert/strict";
import { findInterface } from "../../../src/projections/interface_stats.ts";
import { guestDefinition, guestSamples } from "./_stats_fixtures.ts";

Deno.test("findInterface finds an interface by target device or MAC, any case", () => {
  const definition = guestDefinition();
  const samples = guestSamples().interfaces!;
  assert.equal(findInterface(definition, samples, "tap0"), 0);
  assert.equal(findInterface(definition, samples, "52:54:00:12:34:57"), 1);
  assert.equal(findInterface(definition, samples, "52:54:00:12:34:56".toUpperCase()), 0);
  assert.equal(findInterface(definition, samples, "vnet9"), undefined);
});

Deno.test("findInterface finds an interface by the name its driver chose", () => {
  const definition = guestDefinition((each) => {
    each.devices.interfaces[0].target = undefined;
  });
  const samples = [{ ...guestSamples().interfaces![0], name: "tap7" }];
  assert.equal(findInterface(definition, samples, "tap7"), 0);
  assert.equal(findInterface(definition, [], "tap7"), undefined);
});
