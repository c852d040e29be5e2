import assert from "node:assert/strict";
import { formatNetworkLeases } from "../../../../src/cli/network_verbs.ts";

Deno.test("net-dhcp-leases prints virsh's table sorted by MAC address, '-' where none", () => {
  const expiry = new Date(2026, 11, 4, 17, 5, 9).getTime() / 1000;
  const table = formatNetworkLeases([
    {
      iface: "virbr1",
      expiryTime: expiry,
      type: "ipv4",
      mac: "52:54:00:6b:00:02",
      ipaddr: "10.214.7.12",
      prefix: 24,
    },
    {
      iface: "virbr1",
      expiryTime: expiry,
      type: "ipv4",
      mac: "52:54:00:6B:00:01",
      ipaddr: "10.214.7.11",
      prefix: 24,
      hostname: "ga",
      clientid: "01:52:54:00:6b:00:01",
    },
  ], false);
  assert.equal(
    table,
    " Expiry Time           MAC address         Protocol   IP address       Hostname   Client ID or DUID\n" +
      "-".repeat(104) + "\n" +
      " 2026-12-04 17:05:09   52:54:00:6B:00:01   ipv4       10.214.7.11/24   ga         01:52:54:00:6b:00:01\n" +
      " 2026-12-04 17:05:09   52:54:00:6b:00:02   ipv4       10.214.7.12/24   -          -\n",
  );
});
