/**
 * `net-update` on a running network, for real, inside a network namespace of the test's own
 * (the service runs there with `ip netns exec`): a DHCP host added `--live --config` lands in
 * dnsmasq's hosts file with dnsmasq sent SIGHUP (same pid) and in both XMLs; a DNS host added
 * live is answered by the same dnsmasq at once (a DNS query from the namespace); a TXT record
 * (on dnsmasq's command line) replaces dnsmasq; a service killed with SIGKILL re-adopts the
 * replaced dnsmasq; after `net-destroy` the namespace's links and tables are as before and the
 * live-only changes are gone from the definition.
 *
 * @module
 */

import { processRunning } from "../support/child_process.ts";
import assert from "node:assert/strict";
import { netnsSkipReason } from "../support/netns.ts";
import { withNetnsService } from "../support/netns_service.ts";
import { testIf } from "../support/environment.ts";

const NAME = "evtupd";
const BRIDGE = "evtupd0";

const XML = `<network><name>${NAME}</name><uuid>${crypto.randomUUID()}</uuid>` +
  `<forward mode='nat'/><bridge name='${BRIDGE}'/><mac address='52:54:00:aa:bc:01'/>` +
  `<ip address='10.214.5.1' prefix='24'><dhcp><range start='10.214.5.10' end='10.214.5.20'/>` +
  `<host mac='52:54:00:00:05:01' name='first' ip='10.214.5.2'/></dhcp></ip></network>`;

/** Asks the DNS server at `server` for `name`'s A record; prints the address or nothing. */
const DNS_QUERY = `
import random, socket, struct, sys
server, name = sys.argv[1], sys.argv[2]
ident = random.randrange(65536)
question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\\0"
packet = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(packet, (server, 53))
reply = s.recv(512)
answers = struct.unpack(">H", reply[6:8])[0]
if answers > 0 and reply[-6:-4] == b"\\0\\4":
    print(socket.inet_ntoa(reply[-4:]))
`;

testIf(
  "net-update changes a running network's dnsmasq as libvirt does, in a namespace",
  netnsSkipReason(),
  () =>
    withNetnsService(async (rig) => {
      const { evirt } = rig;
      const dnsmasqPid = () => rig.dnsmasqPid(NAME);
      const resolve = async (name: string) =>
        (await rig.ns.exec(["python3", "-c", DNS_QUERY, "10.214.5.1", name])).stdout.trim();
      const xmlPath = `${rig.base}/upd.xml`;
      await Deno.writeTextFile(xmlPath, XML);
      assert.equal((await evirt("net-define", xmlPath)).code, 0);
      const started = await evirt("net-start", NAME);
      assert.equal(started.code, 0, started.stderr);
      const pid = await dnsmasqPid();

      const host = "<host mac='52:54:00:00:05:02' name='second' ip='10.214.5.3'/>";
      const added = await evirt(
        "net-update",
        NAME,
        "add",
        "ip-dhcp-host",
        host,
        "--live",
        "--config",
      );
      assert.equal(
        added.stdout,
        `Updated network ${NAME} persistent config and live state\n`,
        added.stderr,
      );
      const hostsFile = await Deno.readTextFile(`${rig.dirs.runtimeDir}/network/${NAME}.hostsfile`);
      assert.match(hostsFile, /^52:54:00:00:05:02,10\.214\.5\.3,second$/m);
      assert.match(hostsFile, /^52:54:00:00:05:01,10\.214\.5\.2,first$/m);
      assert.equal(await dnsmasqPid(), pid, "refreshed by SIGHUP, not replaced");
      assert.ok(processRunning(pid));
      for (const flags of [[], ["--inactive"]]) {
        const xml = (await evirt("net-dumpxml", ...flags, NAME)).stdout;
        assert.match(xml, /<host mac='52:54:00:00:05:02' name='second' ip='10\.214\.5\.3'\/>/);
      }

      // A DNS host, live only: the same dnsmasq answers for it at once.
      assert.equal(await resolve("fresh"), "", "not known before the update");
      const dns = "<host ip='10.214.5.77'><hostname>fresh</hostname></host>";
      const dnsAdded = await evirt("net-update", NAME, "add", "dns-host", dns);
      assert.equal(dnsAdded.stdout, `Updated network ${NAME} live state\n`, dnsAdded.stderr);
      assert.equal(await resolve("fresh"), "10.214.5.77");
      assert.equal(await dnsmasqPid(), pid);

      // A TXT record is on dnsmasq's command line: dnsmasq is replaced.
      const txt = await evirt(
        "net-update",
        NAME,
        "add",
        "dns-txt",
        "<txt name='k' value='v'/>",
      );
      assert.equal(txt.code, 0, txt.stderr);
      const replaced = await dnsmasqPid();
      assert.notEqual(replaced, pid);
      assert.ok(!processRunning(pid), "the old dnsmasq is gone");
      assert.ok(processRunning(replaced));
      assert.equal(await resolve("fresh"), "10.214.5.77", "the new dnsmasq has the DNS host");
      assert.match((await evirt("net-dumpxml", NAME)).stdout, /<txt name='k' value='v'\/>/);
      assert.doesNotMatch(
        (await evirt("net-dumpxml", "--inactive", NAME)).stdout,
        /<txt|fresh/,
        "live-only updates stay out of the persistent definition",
      );

      // Refused on a running network: nothing changes.
      const duplicate = await evirt("net-update", NAME, "add", "ip-dhcp-host", host);
      assert.equal(duplicate.code, 1);
      assert.match(duplicate.stderr, /there is an existing dhcp host entry/);
      assert.equal(await dnsmasqPid(), replaced);

      // Killed outright and restarted: the replaced dnsmasq is the one re-adopted.
      const service = await rig.restart("SIGKILL");
      assert.match((await evirt("net-info", NAME)).stdout, /^Active: +yes$/m);
      assert.doesNotMatch(service.log(), /runs incomplete/);
      assert.ok(processRunning(replaced));

      const destroyed = await evirt("net-destroy", NAME);
      assert.equal(destroyed.code, 0, destroyed.stderr);
      assert.ok(!processRunning(replaced), "dnsmasq is gone");
      await rig.assertAsBefore();
      const after = (await evirt("net-dumpxml", NAME)).stdout;
      assert.match(after, /name='second'/, "the --config host stays");
      assert.doesNotMatch(after, /<txt|fresh/, "the live-only records went with the run");
    }, [NAME]),
);
