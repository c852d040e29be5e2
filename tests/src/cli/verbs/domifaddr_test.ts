import assert from "node:assert/strict";
import {
  formatInterfaceAddresses,
  INTERFACE_ADDRESSES_HEADER,
} from "../../../../src/cli/verbs/domifaddr.ts";

const IFACE = {
  name: "vnet1n0",
  hwaddr: "52:54:00:6b:00:01",
  addrs: [
    { type: "ipv4" as const, addr: "10.214.7.11", prefix: 24 },
    { type: "ipv6" as const, addr: "fd00::11", prefix: 64 },
  ],
};

Deno.test("domifaddr prints virsh's fixed columns, the name only on the first address", () => {
  assert.equal(
    INTERFACE_ADDRESSES_HEADER,
    " Name       MAC address          Protocol     Address\n" + "-".repeat(79) + "\n",
  );
  assert.equal(
    formatInterfaceAddresses([IFACE], false),
    " vnet1n0    52:54:00:6b:00:01    ipv4         10.214.7.11/24\n" +
      " -          -                    ipv6         fd00::11/64\n",
  );
  assert.equal(
    formatInterfaceAddresses([IFACE], true).split("\n")[1],
    " vnet1n0    52:54:00:6b:00:01    ipv6         fd00::11/64",
  );
  assert.equal(formatInterfaceAddresses([IFACE], false, "vnet9n0"), "");
});
