import assert from "node:assert/strict";
import { isBridgedInterface, nextTapName, tapNamePrefix } from "../../../src/model/tap_names.ts";

Deno.test("tap names share their instance's prefix, which no other instance's starts with", () => {
  assert.equal(tapNamePrefix(1), "vnet1n");
  assert.ok(!`${tapNamePrefix(12)}0`.startsWith(tapNamePrefix(1)));
  assert.throws(() => tapNamePrefix(-1), RangeError);
});

Deno.test("the next tap name is one past the highest of the instance's, never a freed one", () => {
  assert.equal(nextTapName(3, []), "vnet3n0");
  assert.equal(
    nextTapName(3, [
      { type: "network", target: { dev: "vnet3n2" } },
      { type: "bridge", target: { dev: "vnet33n7" } },
      { type: "bridge", target: { dev: "mytap" } },
    ]),
    "vnet3n3",
  );
});

Deno.test("only network and bridge interfaces get a tap on a bridge", () => {
  assert.deepEqual(
    ["network", "bridge", "user", "ethernet", "direct"].map((type) => isBridgedInterface({ type })),
    [true, true, false, false, false],
  );
});
