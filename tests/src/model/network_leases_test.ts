import assert from "node:assert/strict";
import {
  applyLeaseEvents,
  LEASE_SCRIPT,
  leaseDatabase,
  parseLeaseEvents,
} from "../../../src/model/network_leases.ts";

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

Deno.test("the lease database handed to a new dnsmasq holds the unexpired leases in dnsmasq's format", () => {
  const text = leaseDatabase([
    {
      mac: "52:54:00:00:00:01",
      ip: "10.0.0.5",
      expirySeconds: 2000,
      hostname: "ga",
      clientId: "01:52:54:00:00:00:01",
    },
    { mac: "52:54:00:00:00:02", ip: "10.0.0.6", expirySeconds: 1000 },
    { mac: "52:54:00:00:00:03", ip: "10.0.0.7", expirySeconds: 0 },
    {
      mac: "52:54:00:00:00:04",
      ip: "fd00::5",
      expirySeconds: 3000,
      iaid: "5678",
      clientId: "00:01:00:01:aa",
    },
  ], 1000);
  assert.equal(
    text,
    "2000 52:54:00:00:00:01 10.0.0.5 ga 01:52:54:00:00:00:01\n" +
      "0 52:54:00:00:00:03 10.0.0.7 * *\n" +
      "3000 5678 fd00::5 * 00:01:00:01:aa\n",
  );
});

Deno.test("the lease script answers init with the lease database it is given", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/script`, LEASE_SCRIPT, { mode: 0o755 });
    await Deno.writeTextFile(`${dir}/leases`, "2000 52:54:00:00:00:01 10.0.0.5 * *\n");
    const run = (env: Record<string, string>) =>
      new Deno.Command("sh", { args: [`${dir}/script`, "init"], env, clearEnv: true }).output();
    const given = await run({ EVIRT_LEASE_DATABASE: `${dir}/leases` });
    assert.equal(new TextDecoder().decode(given.stdout), "2000 52:54:00:00:00:01 10.0.0.5 * *\n");
    assert.equal(given.code, 0);
    const none = await run({ EVIRT_LEASE_DATABASE: `${dir}/absent` });
    assert.equal(new TextDecoder().decode(none.stdout), "");
    assert.equal(none.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
