/**
 * The service runs virtual networks for real, inside a network namespace of the test's own
 * (the service is started there with `ip netns exec`): `net-define` + `net-start` of a nat
 * network with DHCP makes the bridge with its address, a dnsmasq listening on it (DNS 53,
 * DHCP 67) and the network's nftables chains; a service killed with SIGKILL and restarted
 * re-adopts it (same dnsmasq pid); `net-destroy` leaves the namespace's links and tables as
 * they were; a start refused on the host (bridge name taken) leaves nothing; `net-create`
 * runs a transient network that `net-destroy` forgets; `virsh` over evirt's libvirt socket
 * starts and destroys one too.
 *
 * @module
 */

import { processRunning } from "../support/child_process.ts";
import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { netnsSkipReason } from "../support/netns.ts";
import { withNetnsService } from "../support/netns_service.ts";

const NAME = "evtsvc";
const BRIDGE = "evtsvc0";

function natXml(uuid: string): string {
  return `<network><name>${NAME}</name><uuid>${uuid}</uuid><forward mode='nat'/>` +
    `<bridge name='${BRIDGE}'/><mac address='52:54:00:aa:bb:01'/>` +
    `<ip address='10.214.3.1' prefix='24'><dhcp><range start='10.214.3.10' end='10.214.3.20'/>` +
    `</dhcp></ip></network>`;
}

testIf(
  "the service starts, re-adopts and destroys a nat network in a namespace",
  netnsSkipReason(),
  () =>
    withNetnsService(async (rig) => {
      const { ns, evirt } = rig;
      const xmlPath = `${rig.base}/nat.xml`;
      await Deno.writeTextFile(xmlPath, natXml(crypto.randomUUID()));
      const defined = await evirt("net-define", xmlPath);
      assert.equal(defined.code, 0, defined.stderr);
      const started = await evirt("net-start", NAME);
      assert.equal(started.stdout, `Network ${NAME} started\n\n`, started.stderr);

      const addr = JSON.parse(
        (await ns.exec(["ip", "-j", "addr", "show", "dev", BRIDGE])).stdout,
      )[0];
      assert.equal(addr.address, "52:54:00:aa:bb:01");
      assert.ok(
        addr.addr_info.some((a: { local: string; prefixlen: number }) =>
          a.local === "10.214.3.1" && a.prefixlen === 24
        ),
      );
      const pid = await rig.dnsmasqPid(NAME);
      assert.ok(processRunning(pid), "dnsmasq runs");
      const udp = (await ns.exec(["ss", "-H", "-lnup"])).stdout;
      assert.match(udp, /10\.214\.3\.1(%evtsvc0)?:53\b/);
      assert.match(udp, /:67\b/);
      assert.match(udp, new RegExp(`pid=${pid},`));
      const table = (await ns.exec(["nft", "list", "table", "inet", "evirt"])).stdout;
      for (const hook of ["input", "output", "forward", "postrouting"]) {
        assert.match(table, new RegExp(`chain br_${BRIDGE}_${hook} `));
      }

      // Killed outright and restarted: the network is re-adopted as it runs.
      const service = await rig.restart("SIGKILL");
      const info = await evirt("net-info", NAME);
      assert.match(info.stdout, /^Active: +yes$/m, info.stderr);
      assert.ok(processRunning(pid), "the same dnsmasq runs");
      assert.equal(await rig.dnsmasqPid(NAME), pid);
      assert.doesNotMatch(service.log(), /runs incomplete/);

      const destroyed = await evirt("net-destroy", NAME);
      assert.equal(destroyed.stdout, `Network ${NAME} destroyed\n\n`, destroyed.stderr);
      assert.ok(!processRunning(pid), "dnsmasq is gone");
      await rig.assertAsBefore();
      assert.match((await evirt("net-info", NAME)).stdout, /^Active: +no$/m);

      // The bridge name is taken by another link: refused, nothing made, nothing recorded.
      const taken = await ns.exec([
        "ip",
        "link",
        "add",
        BRIDGE,
        "type",
        "veth",
        "peer",
        "name",
        "evtsvcpeer",
      ]);
      assert.equal(taken.code, 0, taken.stderr);
      const linksTaken = await ns.links();
      const refused = await evirt("net-start", NAME);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /error creating bridge interface evtsvc0: File exists/);
      assert.match((await evirt("net-info", NAME)).stdout, /^Active: +no$/m);
      assert.deepEqual(await ns.links(), linksTaken);
      assert.deepEqual(await ns.tables(), rig.before.tables);
      await ns.exec(["ip", "link", "del", BRIDGE]);

      // A transient network: created running, gone once destroyed.
      const transientPath = `${rig.base}/transient.xml`;
      await Deno.writeTextFile(
        transientPath,
        `<network><name>evttr</name><uuid>${crypto.randomUUID()}</uuid>` +
          `<bridge name='evttr0'/><ip address='10.214.4.1' prefix='24'/></network>`,
      );
      const created = await evirt("net-create", transientPath);
      assert.equal(created.code, 0, created.stderr);
      assert.ok((await ns.links()).includes("evttr0"));
      const gone = await evirt("net-destroy", "evttr");
      assert.equal(gone.code, 0, gone.stderr);
      assert.notEqual((await evirt("net-info", "evttr")).code, 0);
      await rig.assertAsBefore();
    }),
  { sanitizeResources: false, sanitizeOps: false },
);

testIf(
  "virsh starts and destroys an isolated network of a service in a namespace",
  netnsSkipReason() ?? missing("virsh"),
  () =>
    withNetnsService(async (rig) => {
      const { ns, virsh } = rig;
      const xmlPath = `${rig.base}/isolated.xml`;
      await Deno.writeTextFile(
        xmlPath,
        `<network><name>evtiso</name><uuid>${crypto.randomUUID()}</uuid>` +
          `<bridge name='evtiso0'/><ip address='10.214.5.1' prefix='24'>` +
          `<dhcp><range start='10.214.5.10' end='10.214.5.20'/></dhcp></ip></network>`,
      );
      assert.equal((await virsh("net-define", xmlPath)).code, 0);
      const started = await virsh("net-start", "evtiso");
      assert.equal(started.stdout, "Network evtiso started\n\n", started.stderr);
      assert.match((await virsh("net-info", "evtiso")).stdout, /^Active: +yes$/m);
      assert.ok((await ns.links()).includes("evtiso0"));
      assert.match(
        (await ns.exec(["ss", "-H", "-lnup"])).stdout,
        /10\.214\.5\.1(%evtiso0)?:53\b/,
      );
      const again = await virsh("net-start", "evtiso");
      assert.match(again.stderr, /network is already active/);
      const destroyed = await virsh("net-destroy", "evtiso");
      assert.equal(destroyed.stdout, "Network evtiso destroyed\n\n", destroyed.stderr);
      await rig.assertAsBefore();
      assert.equal((await ns.exec(["ss", "-H", "-lnup"])).stdout.trim(), "");
    }),
  { sanitizeResources: false, sanitizeOps: false },
);
