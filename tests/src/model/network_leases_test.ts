import assert from "node:assert/strict";
import { applyLeaseEvents, parseLeaseEvents } from "../../../src/model/network_leases.ts";

Deno.test("lease events are read up to the last complete line; malformed lines are skipped", () => {
  const text = "add 52:54:00:AA:00:01 10.0.0.5 1700000000 ga 01:52:54:00:aa:00:01 *\n" +
    "bogus line\n" +
    "old 52:54:00:aa:00:02 10.0.0.6 0 * * *\n" +
    "del 52:54:00:aa:00:0";
  const { events, consumedBytes } = parseLeaseEvents(text);
  assert.deepEqual(events, [
    {
      action: "add",
      mac: "52:54:00:aa:00:01",
      ip: "10.0.0.5",
      expirySeconds: 1700000000,
      hostname: "ga",
      clientId: "01:52:54:00:aa:00:01",
    },
    { action: "old", mac: "52:54:00:aa:00:02", ip: "10.0.0.6", expirySeconds: 0 },
  ]);
  assert.equal(consumedBytes, text.lastIndexOf("\n") + 1);
  assert.deepEqual(parseLeaseEvents("add 52:54:00:aa:00:01"), { events: [], consumedBytes: 0 });
});

Deno.test("add and old set an address's lease, del removes it", () => {
  const lease = { mac: "52:54:00:aa:00:01", ip: "10.0.0.5", expirySeconds: 10 };
  let leases = applyLeaseEvents([], [{ action: "add", ...lease }]);
  leases = applyLeaseEvents(leases, [{ action: "old", ...lease, expirySeconds: 20 }]);
  assert.deepEqual(leases, [{ ...lease, expirySeconds: 20 }]);
  assert.deepEqual(applyLeaseEvents(leases, [{ action: "del", ...lease }]), []);
});
