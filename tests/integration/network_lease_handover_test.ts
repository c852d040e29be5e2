/**
 * Leases survive dnsmasq's replacement, for real, inside network namespaces of the test's own:
 * the service runs its network in one, two DHCP clients (busybox udhcpc) sit in a second one
 * on veth pairs whose host ends join the bridge. A client leases the address it asks for;
 * then dnsmasq is replaced by `net-update` (a TXT record), killed and brought back by
 * `net-start`, and the service itself is killed with SIGKILL and restarted. After each,
 * `net-dhcp-leases` shows the same lease, the new dnsmasq knows it (a second client asking
 * for the same address gets another one, which a dnsmasq started without the leases would
 * hand out), and the first client asking again gets its address back.
 *
 * @module
 */

import assert from "node:assert/strict";
import { processRunning } from "../support/child_process.ts";
import { missing, testIf } from "../support/environment.ts";
import { mustRun, netnsSkipReason, type TestNamespace, withNetns } from "../support/netns.ts";
import { withNetnsService } from "../support/netns_service.ts";

const NAME = "evtlease";
const BRIDGE = "evtlease0";
const WANTED = "10.214.7.17";
const FIRST_MAC = "52:54:00:07:00:01";
const SECOND_MAC = "52:54:00:07:00:02";

/** Longest wait for a lease to reach the log (ms); the service reads them every second. */
const LEASE_WAIT_MS = 15_000;

const XML = `<network><name>${NAME}</name><uuid>${crypto.randomUUID()}</uuid>` +
  `<forward mode='nat'/><bridge name='${BRIDGE}'/>` +
  `<ip address='10.214.7.1' prefix='24'><dhcp><range start='10.214.7.10' end='10.214.7.30'/>` +
  `</dhcp></ip></network>`;

function skipReason(): string | undefined {
  return netnsSkipReason() ?? missing("busybox");
}

/**
 * One DHCP exchange of busybox udhcpc in `client` on `dev`, asking for `wanted`; the address
 * leased (its "lease of … obtained" line).
 */
async function lease(client: TestNamespace, dev: string, wanted: string): Promise<string> {
  const run = await client.exec([
    ..."busybox udhcpc -i".split(" "),
    dev,
    ..."-n -q -f -s /bin/true -t 15 -T 1 -A 1 -r".split(" "),
    wanted,
  ]);
  const obtained = /lease of (\S+) obtained/.exec(run.stderr + run.stdout);
  assert.ok(obtained, `udhcpc on ${dev}: ${run.stderr}`);
  return obtained[1];
}

testIf(
  "a network's leases pass to the dnsmasq that replaces its dnsmasq and survive a service kill",
  skipReason(),
  () =>
    withNetnsService((rig) =>
      withNetns(async (client) => {
        const { ns, evirt } = rig;
        const dnsmasqPid = () => rig.dnsmasqPid(NAME);
        /** Waits until `net-dhcp-leases` lists `ip` for `mac`; its output. */
        const leased = async (mac: string, ip: string) => {
          const deadline = Date.now() + LEASE_WAIT_MS;
          for (;;) {
            const listed = (await evirt("net-dhcp-leases", NAME, "--mac", mac)).stdout;
            if (listed.includes(` ${ip}/24 `)) return listed;
            if (Date.now() > deadline) assert.fail(`no lease of ${ip} for ${mac}: ${listed}`);
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        };
        const xmlPath = `${rig.base}/lease.xml`;
        await Deno.writeTextFile(xmlPath, XML);
        assert.equal((await evirt("net-define", xmlPath)).code, 0);
        const started = await evirt("net-start", NAME);
        assert.equal(started.code, 0, started.stderr);
        for (const [index, mac] of [FIRST_MAC, SECOND_MAC].entries()) {
          const host = `evtlh${index}`;
          await mustRun("ip", [
            "-n",
            ns.name,
            ..."link add".split(" "),
            host,
            ..."type veth peer name".split(" "),
            `evtlc${index}`,
            "netns",
            client.name,
          ]);
          await mustRun("ip", ["-n", ns.name, "link", "set", host, "master", BRIDGE, "up"]);
          await mustRun("ip", [
            "-n",
            client.name,
            ..."link set".split(" "),
            `evtlc${index}`,
            "address",
            mac,
            "up",
          ]);
        }

        assert.equal(await lease(client, "evtlc0", WANTED), WANTED);
        /** When the first client last leased: its expiry is that second plus the lease time. */
        let renewedAt = Date.now();
        /** The lease as listed before a replacement (a renewal moves its expiry). */
        let before = await leased(FIRST_MAC, WANTED);
        /** The lease is kept, known to the running dnsmasq, and the client's again. */
        const kept = async (when: string) => {
          const listed = await leased(FIRST_MAC, WANTED);
          assert.equal(listed, before, `listed as before ${when}`);
          const other = await lease(client, "evtlc1", WANTED);
          assert.notEqual(other, WANTED, `dnsmasq knows the lease ${when}`);
          // A renewal in the same second as the last one would list the same expiry: the
          // steps run well within a second on an idle machine.
          await new Promise((resolve) =>
            setTimeout(resolve, Math.max(0, renewedAt + 1_100 - Date.now()))
          );
          assert.equal(await lease(client, "evtlc0", WANTED), WANTED, `renewed ${when}`);
          renewedAt = Date.now();
          // The renewal is recorded before the next replacement is looked at.
          const deadline = Date.now() + LEASE_WAIT_MS;
          while ((before = await leased(FIRST_MAC, WANTED)) === listed) {
            if (Date.now() > deadline) assert.fail(`the renewal ${when} was not recorded`);
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        };

        // net-update that needs a new dnsmasq (a TXT record is on its command line).
        const pid = await dnsmasqPid();
        const txt = await evirt(
          "net-update",
          NAME,
          "add",
          "dns-txt",
          "<txt name='k' value='v'/>",
        );
        assert.equal(txt.code, 0, txt.stderr);
        const replaced = await dnsmasqPid();
        assert.notEqual(replaced, pid, "dnsmasq was replaced");
        await kept("after net-update replaced dnsmasq");

        // dnsmasq dies; net-start on the running network brings a new one.
        Deno.kill(replaced, "SIGKILL");
        const deadline = Date.now() + LEASE_WAIT_MS;
        while (processRunning(replaced) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const again = await evirt("net-start", NAME);
        assert.equal(again.code, 0, again.stderr);
        const third = await dnsmasqPid();
        assert.notEqual(third, replaced);
        assert.ok(processRunning(third));
        await kept("after net-start replaced the dead dnsmasq");
        const refused = await evirt("net-start", NAME);
        assert.equal(refused.code, 1, "a running network with its dnsmasq is not restarted");
        assert.match(refused.stderr, /network is already active/);
        assert.equal(await dnsmasqPid(), third);

        // The service killed outright: the leases are the log's after the restart.
        const service = await rig.restart("SIGKILL");
        assert.doesNotMatch(service.log(), /runs incomplete/);
        await kept("after the service was killed and restarted");
        assert.equal(await dnsmasqPid(), third, "dnsmasq re-adopted, not replaced");

        const destroyed = await evirt("net-destroy", NAME);
        assert.equal(destroyed.code, 0, destroyed.stderr);
        assert.ok(!processRunning(third), "dnsmasq is gone");
        for (const index of [0, 1]) {
          await mustRun("ip", ["-n", ns.name, "link", "del", `evtlh${index}`]);
        }
        await rig.assertAsBefore();
      }), [NAME]),
);
