import assert from "node:assert/strict";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import {
  interfaceIndexOf,
  interfaceTuneOf,
  rateSettings,
  withInterfaceTune,
} from "../../../src/model/interface_tune.ts";

Deno.test("the seven parameters read 0 where unset, in libvirt's order", () => {
  assert.deepEqual(interfaceTuneOf({ inbound: { average: 100, floor: 5 } }).map((p) => p.value), [
    100,
    0,
    0,
    5,
    0,
    0,
    0,
  ]);
  assert.equal(interfaceTuneOf(undefined)[4].name, "outbound.average");
});

Deno.test("a named direction is replaced whole, an unnamed one kept, as libvirt", () => {
  const before = { inbound: { average: 100, peak: 200, burst: 10 }, outbound: { average: 7 } };
  assert.deepEqual(
    withInterfaceTune(before, [{ name: "inbound.average", value: 300 }, {
      name: "inbound.floor",
      value: 50,
    }]),
    { inbound: { average: 300, floor: 50 }, outbound: { average: 7 } },
  );
  assert.deepEqual(withInterfaceTune(before, [{ name: "inbound.average", value: 0 }]), {
    outbound: { average: 7 },
  });
  assert.equal(
    withInterfaceTune({ outbound: { average: 7 } }, [{ name: "outbound.average", value: 0 }]),
    undefined,
  );
  assert.deepEqual(withInterfaceTune(undefined, [{ name: "inbound.floor", value: 5 }]), {
    inbound: { floor: 5 },
  });
});

Deno.test("unknown parameters and out-of-range values are refused with code 8", () => {
  for (
    const setting of [{ name: "inbound.bogus", value: 1 }, { name: "inbound.peak", value: -1 }]
  ) {
    assert.throws(
      () => withInterfaceTune(undefined, [setting]),
      (error) => isVirtError(error, ErrorCode.INVALID_ARG),
    );
  }
});

Deno.test("virsh's rate texts become the parameters virsh sends", () => {
  assert.deepEqual(rateSettings("inbound", "300,0,0,50"), [
    { name: "inbound.average", value: 300 },
    { name: "inbound.floor", value: 50 },
  ]);
  assert.deepEqual(rateSettings("outbound", "0"), [{ name: "outbound.average", value: 0 }]);
  assert.throws(
    () => rateSettings("inbound", "0,5"),
    (error) =>
      isVirtError(error, ErrorCode.INVALID_ARG) &&
      error.message.includes("either inbound average or floor is mandatory"),
  );
  assert.throws(() => rateSettings("outbound", "1,2,3,4"), /malformed outbound rate/);
});

Deno.test("an interface is found by MAC (any case) or host-side device", () => {
  const interfaces = [
    { type: "network", mac: "52:54:00:00:00:01", target: { dev: "vnet1n0" } },
    { type: "bridge", mac: "52:54:00:00:00:02" },
  ];
  assert.equal(interfaceIndexOf(interfaces, "52:54:00:00:00:02".toUpperCase()), 1);
  assert.equal(interfaceIndexOf(interfaces, "vnet1n0"), 0);
  assert.throws(
    () => interfaceIndexOf(interfaces, "nosuch"),
    (error) =>
      isVirtError(error, ErrorCode.INVALID_ARG) &&
      error.message === "'nosuch' is not a known interface",
  );
});
