/**
 * Real QEMU guests on evirt's networks, the service running inside a network namespace of the
 * test's own (`ip netns exec`): a guest's `<interface type='network'>` and `type='bridge'` get a
 * tap on the network's bridge (attached by QEMU, shown in the live XML), a hotplugged one gets
 * its own and loses it at unplug, and every tap is gone once the guest is destroyed — also
 * after the service was killed and restarted in between. A network that does not exist or does
 * not run refuses the start with libvirt's errors and leaves no link behind. Two guests on a nat
 * network keep their leases and answer after the service is killed and restarted. Each network
 * interface gets a network port (as libvirtd's reads it), released at destroy, unplug and after a
 * crash the service missed; an interface's `<bandwidth>` goes on its tap with tc (or the start is
 * refused with libvirt's error, leaving nothing, where the kernel cannot), and `domiftune` reads
 * and changes it on the running guest.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runEvirt } from "../support/cli_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  guestSkipReason,
  waitForSerialMarker,
} from "../support/guest.ts";
import {
  mustRun,
  netnsSkipReason,
  runCommand,
  type TestNamespace,
  withNetns,
} from "../support/netns.ts";
import { libvirtdSkipReason, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";
import type { XmlElement } from "../../src/model/domain.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { guestDefinition } from "./_qemu_guest.ts";

const NETWORK = "evtg";
const BRIDGE = "evtg0";
const RUNTIME_ON = { EVIRT_NETWORK_RUNTIME: "on" };
/** A port's uuid in the live XML. */
const UUID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
/** How long a tap may take to go after QEMU let go of it, in ms. */
const TAP_GONE_TIMEOUT_MS = 10_000;

const skip = netnsSkipReason() ?? guestSkipReason() ?? missing("qemu-system-x86_64", "busybox");

function networkXml(): string {
  return `<network><name>${NETWORK}</name><uuid>${crypto.randomUUID()}</uuid>` +
    `<bridge name='${BRIDGE}'/><ip address='10.214.6.1' prefix='24'>` +
    `<dhcp><range start='10.214.6.10' end='10.214.6.20'/></dhcp></ip></network>`;
}

/** The links on `bridge` in the namespace: name and whether it has carrier (QEMU holds it). */
async function bridgePorts(
  ns: TestNamespace,
  bridge: string,
): Promise<{ name: string; attached: boolean; mac: string }[]> {
  const listed = await ns.exec(["ip", "-j", "link", "show", "master", bridge]);
  assert.equal(listed.code, 0, listed.stderr);
  const links = JSON.parse(listed.stdout || "[]") as {
    ifname: string;
    flags: string[];
    address: string;
  }[];
  return links.map((link) => ({
    name: link.ifname,
    attached: link.flags.includes("LOWER_UP"),
    mac: link.address,
  })).sort((a, b) => a.name.localeCompare(b.name));
}

async function waitForLinks(ns: TestNamespace, expected: string[]): Promise<void> {
  const deadline = Date.now() + TAP_GONE_TIMEOUT_MS;
  for (;;) {
    const links = await ns.links();
    if (JSON.stringify(links) === JSON.stringify(expected)) return;
    if (Date.now() > deadline) assert.deepEqual(links, expected);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The guest on the network and on its bridge (i440fx: its kernel acknowledges PCI unplug). */
function guestOnNetwork(name: string, serialPath: string, network = NETWORK) {
  const definition = guestDefinition(name, { serial: { file: serialPath } });
  definition.os.machine = "pc";
  definition.devices.interfaces.push(
    {
      type: "network",
      mac: "52:54:00:6a:00:01",
      source: { network },
      model: "virtio",
    },
    { type: "bridge", mac: "52:54:00:6a:00:02", source: { bridge: BRIDGE }, model: "virtio" },
  );
  return definition;
}

/** A service in a namespace of its own with the network defined; `fn` gets the CLI. */
async function withNetworkService(
  extraEnv: Record<string, string>,
  fn: (
    ns: TestNamespace,
    evirt: (...args: string[]) => ReturnType<typeof runEvirt>,
    base: string,
    restart: (whileDown?: () => Promise<void>) => Promise<void>,
    service: () => ServiceProcess,
  ) => Promise<void>,
): Promise<void> {
  const dirs = await serviceDirs();
  const base = dirs.stateDir.replace(/\/state$/, "");
  try {
    await withNetns(async (ns) => {
      const launcher = ["ip", "netns", "exec", ns.name];
      const env = { ...RUNTIME_ON, ...extraEnv };
      let service: ServiceProcess | undefined = await startServiceProcess(dirs, env, launcher);
      const evirt = (...args: string[]) =>
        runEvirt(args, { ...service!.env, EVIRT_DEFAULT_URI: "evirt:///system" });
      try {
        await Deno.writeTextFile(`${base}/net.xml`, networkXml());
        assert.equal((await evirt("net-define", `${base}/net.xml`)).code, 0);
        await fn(ns, evirt, base, async (whileDown) => {
          await service!.stop("SIGKILL");
          service = undefined;
          await whileDown?.();
          service = await startServiceProcess(dirs, env, launcher);
        }, () => service!);
      } finally {
        // Destroyed, so the guest files its QEMU was given are given back.
        for (const name of ["g1", "ga", "gb", "gp"]) {
          if (service !== undefined) await evirt("destroy", name);
        }
        await service?.stop("SIGTERM");
      }
    });
  } finally {
    await removeServiceDirs(dirs);
  }
}

/** The uuids `net-port-list` shows for `network`. */
async function portsOf(
  evirt: (...args: string[]) => ReturnType<typeof runEvirt>,
  network = NETWORK,
): Promise<string[]> {
  const listed = await evirt("net-port-list", network);
  assert.equal(listed.code, 0, listed.stderr);
  return listed.stdout.split("\n").slice(2).map((line) => line.trim()).filter((line) =>
    line !== ""
  );
}

/** Waits until `network` has `count` ports (a release follows the guest's end). */
async function waitForPorts(
  evirt: (...args: string[]) => ReturnType<typeof runEvirt>,
  count: number,
  network = NETWORK,
): Promise<string[]> {
  const deadline = Date.now() + TAP_GONE_TIMEOUT_MS;
  for (;;) {
    const ports = await portsOf(evirt, network);
    if (ports.length === count) return ports;
    if (Date.now() > deadline) assert.fail(`${network} has ports ${ports.join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Whether every user may open the tun device (Debian's default; a container's may not). */
function tunOpenByAll(): boolean {
  try {
    return ((Deno.statSync("/dev/net/tun").mode ?? 0) & 0o006) === 0o006;
  } catch {
    return false;
  }
}

testIf(
  "a guest's network and bridge interfaces get taps on the bridge, removed by destroy, also after a service restart",
  skip,
  async () => {
    await withNetworkService({}, async (ns, evirt, base, restart, service) => {
      await service().client.define({ definition: guestOnNetwork("g1", `${base}/g1.log`) });
      await service().client.define({
        definition: guestOnNetwork("g2", `${base}/g2.log`, "nosuch"),
      });
      const linksIdle = await ns.links();

      // The network does not run, or does not exist: libvirt's errors, nothing made.
      const inactive = await evirt("start", "g1");
      assert.equal(
        inactive.stderr,
        "error: Failed to start domain 'g1'\n" +
          "error: Requested operation is not valid: network 'evtg' is not active\n",
      );
      const unknown = await evirt("start", "g2");
      assert.equal(
        unknown.stderr,
        "error: Failed to start domain 'g2'\n" +
          "error: Network not found: no network with matching name 'nosuch'\n",
      );
      assert.deepEqual(await ns.links(), linksIdle);
      assert.match((await evirt("domstate", "g1")).stdout, /^shut off/);

      assert.equal((await evirt("net-start", NETWORK)).code, 0);
      const linksNetwork = await ns.links();
      const started = await evirt("start", "g1");
      assert.equal(started.code, 0, started.stderr);
      const id = Number((await evirt("domid", "g1")).stdout.trim());
      const taps = [`vnet${id}n0`, `vnet${id}n1`];
      // Both taps on the bridge, held by QEMU, with the guest's MAC address behind fe.
      assert.deepEqual(await bridgePorts(ns, BRIDGE), [
        { name: taps[0], attached: true, mac: "fe:54:00:6a:00:01" },
        { name: taps[1], attached: true, mac: "fe:54:00:6a:00:02" },
      ]);
      const live = (await evirt("dumpxml", "g1")).stdout;
      assert.match(
        live,
        new RegExp(`<source network='${NETWORK}' portid='${UUID_PATTERN}' bridge='${BRIDGE}'/>`),
      );
      assert.match(live, new RegExp(`<target dev='${taps[0]}'/>`));
      assert.match(
        live,
        new RegExp(`<source bridge='${BRIDGE}'/>\\s*<target dev='${taps[1]}'/>`),
      );
      const inactiveXml = (await evirt("dumpxml", "--inactive", "g1")).stdout;
      assert.doesNotMatch(inactiveXml, /<target dev='vnet/);
      const domiflist = (await evirt("domiflist", "g1")).stdout;
      assert.match(
        domiflist,
        new RegExp(`^ ${taps[0]} +network +${NETWORK} +virtio +52:54:00:6a:00:01$`, "m"),
      );
      assert.match(
        domiflist,
        new RegExp(`^ ${taps[1]} +bridge +${BRIDGE} +virtio +52:54:00:6a:00:02$`, "m"),
      );
      if (!tunOpenByAll()) {
        // A confined QEMU cannot open the tun device here: a hotplug is refused, nothing made.
        const refused = await evirt("attach-interface", "g1", "network", NETWORK);
        assert.match(refused.stderr, /cannot open \/dev\/net\/tun/);
        assert.deepEqual(await ns.links(), [...linksNetwork, ...taps].sort());
      }

      // Killed and restarted: the guest keeps its taps; destroyed, they go.
      await restart();
      assert.match((await evirt("domstate", "g1")).stdout, /^running/);
      assert.equal((await bridgePorts(ns, BRIDGE)).filter((port) => port.attached).length, 2);
      const destroyed = await evirt("destroy", "g1");
      assert.equal(destroyed.code, 0, destroyed.stderr);
      await waitForLinks(ns, linksNetwork);
      assert.equal((await evirt("net-destroy", NETWORK)).code, 0);
      assert.deepEqual(await ns.links(), linksIdle);
    });
  },
  { sanitizeResources: false, sanitizeOps: false },
);

testIf(
  "an interface hotplugged on a network gets a tap on its bridge and loses it at unplug",
  skip,
  async () => {
    // QEMU runs as root here, so it opens the tun device itself as netdev_add asks it to.
    await withNetworkService({ EVIRT_QEMU_USER: "+0" }, async (ns, evirt, base, _, service) => {
      assert.equal((await evirt("net-start", NETWORK)).code, 0);
      const linksNetwork = await ns.links();
      // QEMU as root must not share the guest's files with the confined QEMUs of other tests
      // (their DAC ownership records would refuse a second owner): a copy of its own.
      const definition = guestOnNetwork("g1", `${base}/g1.log`);
      for (const key of ["kernel", "initrd"] as const) {
        const copy = `${base}/${key}`;
        Deno.copyFileSync(definition.os[key]!, copy);
        definition.os[key] = copy;
      }
      await service().client.define({ definition });
      const started = await evirt("start", "g1");
      assert.equal(started.code, 0, started.stderr);
      const id = Number((await evirt("domid", "g1")).stdout.trim());
      const taps = [`vnet${id}n0`, `vnet${id}n1`];

      // The guest acknowledges an unplug once its kernel runs.
      await waitForSerialMarker(`${base}/g1.log`, GUEST_READY_MARKER, {
        timeoutMs: GUEST_BOOT_TIMEOUT_MS,
      });
      const refused = await evirt("attach-interface", "g1", "network", "nosuch");
      assert.match(
        refused.stderr,
        /Network not found: no network with matching name 'nosuch'/,
      );
      const attached = await evirt(
        "attach-interface",
        "g1",
        "network",
        NETWORK,
        "--model",
        "virtio",
        "--mac",
        "52:54:00:6a:00:03",
      );
      assert.equal(attached.code, 0, attached.stderr);
      const plugged = `vnet${id}n2`;
      assert.equal((await portsOf(evirt)).length, 2, "the plugged interface has a port");
      assert.deepEqual(await bridgePorts(ns, BRIDGE), [
        { name: taps[0], attached: true, mac: "fe:54:00:6a:00:01" },
        { name: taps[1], attached: true, mac: "fe:54:00:6a:00:02" },
        { name: plugged, attached: true, mac: "fe:54:00:6a:00:03" },
      ]);
      assert.match(
        (await evirt("dumpxml", "g1")).stdout,
        new RegExp(
          `<source network='${NETWORK}' portid='${UUID_PATTERN}' bridge='${BRIDGE}'/>` +
            `\\s*<target dev='${plugged}'/>`,
        ),
      );
      const detached = await evirt(
        "detach-interface",
        "g1",
        "network",
        "--mac",
        "52:54:00:6a:00:03",
      );
      assert.equal(detached.stdout, "Interface detached successfully\n\n", detached.stderr);
      await waitForLinks(ns, [...linksNetwork, ...taps].sort());
      await waitForPorts(evirt, 1);
      assert.equal((await evirt("destroy", "g1")).code, 0);
      await waitForLinks(ns, linksNetwork);
      await waitForPorts(evirt, 0);
    });
  },
  { sanitizeResources: false, sanitizeOps: false },
);

/** The NAT network of the proof: two static hosts (the guests' fixed addresses) and a range. */
function natXml(): string {
  return `<network><name>${NETWORK}</name><uuid>${crypto.randomUUID()}</uuid>` +
    `<forward mode='nat'/><bridge name='${BRIDGE}'/><ip address='10.214.7.1' prefix='24'><dhcp>` +
    `<range start='10.214.7.100' end='10.214.7.120'/>` +
    `<host mac='52:54:00:6b:00:01' name='ga' ip='10.214.7.11'/>` +
    `<host mac='52:54:00:6b:00:02' name='gb' ip='10.214.7.12'/>` +
    `</dhcp></ip></network>`;
}

/** A guest with one virtio NIC on the network, asking DHCP for its address and pinging `peer`. */
function dhcpGuest(name: string, mac: string, serialPath: string, peer: string) {
  const definition = guestDefinition(name, { serial: { file: serialPath } });
  definition.os.cmdline =
    `${definition.os.cmdline} evirt.net=dhcp evirt.hostname=${name} evirt.ping=${peer}`;
  definition.devices.interfaces.push({
    type: "network",
    mac,
    source: { network: NETWORK },
    model: "virtio",
  });
  return definition;
}

/** How long a guest may take from start to its lease and a ping answered, in ms. */
const GUEST_NETWORK_TIMEOUT_MS = 90_000;

testIf(
  "two guests on a nat network get their fixed addresses, ping each other, and keep leases and answer across a service kill",
  skip,
  async () => {
    await withNetworkService({}, async (ns, evirt, base, restart, service) => {
      await Deno.writeTextFile(`${base}/nat.xml`, natXml());
      assert.equal((await evirt("net-undefine", NETWORK)).code, 0);
      assert.equal((await evirt("net-define", `${base}/nat.xml`)).code, 0);
      assert.equal((await evirt("net-start", NETWORK)).code, 0);
      const guests = [
        { name: "ga", mac: "52:54:00:6b:00:01", ip: "10.214.7.11", peer: "10.214.7.12" },
        { name: "gb", mac: "52:54:00:6b:00:02", ip: "10.214.7.12", peer: "10.214.7.11" },
      ];
      for (const guest of guests) {
        await service().client.define({
          definition: dhcpGuest(guest.name, guest.mac, `${base}/${guest.name}.log`, guest.peer),
        });
        const started = await evirt("start", guest.name);
        assert.equal(started.code, 0, started.stderr);
      }
      for (const guest of guests) {
        const serial = `${base}/${guest.name}.log`;
        await waitForSerialMarker(serial, `EVIRT-IP ${guest.ip}`, {
          timeoutMs: GUEST_NETWORK_TIMEOUT_MS,
        });
        await waitForSerialMarker(serial, `EVIRT-PING-OK ${guest.peer}`, {
          timeoutMs: GUEST_NETWORK_TIMEOUT_MS,
        });
      }
      // dnsmasq's lease script reported both leases: net-dhcp-leases lists them, as virsh
      // over evirt's libvirt socket does.
      const table = (await evirt("net-dhcp-leases", NETWORK)).stdout;
      const rows = table.split("\n").slice(2).filter((line) => line.trim() !== "");
      assert.equal(rows.length, 2, table);
      for (const [index, guest] of guests.entries()) {
        assert.match(
          rows[index],
          new RegExp(
            `^ \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d   ${guest.mac}   ipv4       ` +
              `${guest.ip.replaceAll(".", "\\.")}/24   ${guest.name} +-?`,
          ),
        );
      }
      assert.match(
        table,
        /^ Expiry Time +MAC address +Protocol +IP address +Hostname +Client ID or DUID$/m,
      );
      const one = (await evirt("net-dhcp-leases", NETWORK, "--mac", "52:54:00:6B:00:02")).stdout;
      assert.equal(one.split("\n").slice(2).filter((line) => line.trim() !== "").length, 1);
      assert.match(one, /10\.214\.7\.12\/24/);
      if (missing("virsh") === undefined) {
        const virsh = await runVirsh(socketUri(`${service().runtimeDir}/libvirt-sock`), [
          "net-dhcp-leases",
          NETWORK,
        ]);
        assert.equal(virsh.stdout, table, virsh.stderr);
      }
      // domifaddr: each guest's tap with its leased address, as virsh prints it.
      const ga = guests[0];
      const id = Number((await evirt("domid", ga.name)).stdout.trim());
      const addresses = await evirt("domifaddr", ga.name);
      assert.equal(
        addresses.stdout,
        " Name       MAC address          Protocol     Address\n" +
          `${"-".repeat(79)}\n` +
          ` vnet${id}n0    ${ga.mac}    ipv4         ${ga.ip}/24\n\n`,
        addresses.stderr,
      );
      const arp = await evirt("domifaddr", ga.name, "--source", "arp");
      assert.match(arp.stderr, /Failed to query for interfaces addresses/);
      if (missing("virsh") === undefined) {
        const virsh = await runVirsh(socketUri(`${service().runtimeDir}/libvirt-sock`), [
          "domifaddr",
          ga.name,
          "--source",
          "lease",
        ]);
        assert.equal(virsh.stdout, addresses.stdout, virsh.stderr);
      }
      // The service killed outright with both guests on the network: after the restart they
      // keep their leases and still answer on the network.
      await restart();
      assert.equal((await evirt("net-dhcp-leases", NETWORK)).stdout, table);
      for (const guest of guests) {
        const reply = await ns.exec(["busybox", "ping", "-c", "1", "-W", "5", guest.ip]);
        assert.equal(reply.code, 0, `${guest.name}: ${reply.stdout}${reply.stderr}`);
      }
      for (const guest of guests) assert.equal((await evirt("destroy", guest.name)).code, 0);
      const stopped = await evirt("domifaddr", ga.name);
      assert.match(stopped.stderr, /Requested operation is not valid: domain is not running/);
    });
  },
  { sanitizeResources: false, sanitizeOps: false },
);

/** The bridge-mode network of the port tests, on a bridge the test makes in its namespace. */
const PORT_NETWORK = "evtgp";
const PORT_BRIDGE = "evtgpbr0";
const PORT_MAC = "52:54:00:6c:00:01";

function portNetworkXml(name: string): string {
  return `<network><name>${name}</name><uuid>${crypto.randomUUID()}</uuid>` +
    `<forward mode='bridge'/><bridge name='${PORT_BRIDGE}'/></network>`;
}

/** A guest with one interface on `network`, its `<bandwidth>` children as given. */
function portGuest(base: string, network: string, bandwidth?: XmlElement[]) {
  const definition = guestDefinition("gp", { serial: { file: `${base}/gp.log` } });
  definition.devices.interfaces.push({
    type: "network",
    mac: PORT_MAC,
    source: { network },
    model: "virtio",
    ...(bandwidth === undefined
      ? {}
      : { extra: { elements: [{ element: { name: "bandwidth", children: bandwidth } }] } }),
  });
  return definition;
}

/** The pid of the QEMU running guest `name` in the namespace. */
async function qemuPidOf(ns: TestNamespace, name: string): Promise<number> {
  const pids = (await runCommand("ip", ["netns", "pids", ns.name])).stdout.split("\n")
    .map(Number).filter((pid) => pid > 0);
  for (const pid of pids) {
    const commandLine = (() => {
      try {
        return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
      } catch {
        return [];
      }
    })();
    if (commandLine.some((arg) => arg.startsWith(`guest=${name},`))) return pid;
  }
  return assert.fail(`no QEMU of ${name} in ${ns.name}`);
}

testIf(
  "a guest's network interface gets a port as libvirtd's reads, gone at destroy, and after a crash the service missed",
  skip,
  async () => {
    await withNetworkService({}, async (ns, evirt, base, restart, service) => {
      await mustRun("ip", ["-n", ns.name, "link", "add", PORT_BRIDGE, "type", "bridge"]);
      await mustRun("ip", ["-n", ns.name, "link", "set", PORT_BRIDGE, "up"]);
      await Deno.writeTextFile(`${base}/port-net.xml`, portNetworkXml(PORT_NETWORK));
      assert.equal((await evirt("net-define", `${base}/port-net.xml`)).code, 0);
      assert.equal((await evirt("net-start", PORT_NETWORK)).code, 0);
      await service().client.define({ definition: portGuest(base, PORT_NETWORK) });
      assert.deepEqual(await portsOf(evirt, PORT_NETWORK), [], "no port before the start");

      const started = await evirt("start", "gp");
      assert.equal(started.code, 0, started.stderr);
      const [portid] = await portsOf(evirt, PORT_NETWORK);
      const owner = (await evirt("domuuid", "gp")).stdout.trim();
      assert.match(
        (await evirt("dumpxml", "gp")).stdout,
        new RegExp(
          `<source network='${PORT_NETWORK}' portid='${portid}' bridge='${PORT_BRIDGE}'/>`,
        ),
      );
      const dumped = await evirt("net-port-dumpxml", PORT_NETWORK, portid);
      assert.equal(
        dumped.stdout,
        `<networkport>\n  <uuid>${portid}</uuid>\n  <owner>\n    <name>gp</name>\n` +
          `    <uuid>${owner}</uuid>\n  </owner>\n  <mac address='${PORT_MAC}'/>\n` +
          `  <plug type='bridge' bridge='${PORT_BRIDGE}'/>\n</networkport>\n\n`,
        dumped.stderr,
      );
      const listed = await evirt("net-port-list", PORT_NETWORK);
      if (missing("virsh") === undefined) {
        // virsh over evirt's libvirt socket reads the same.
        const uri = socketUri(`${service().runtimeDir}/libvirt-sock`);
        const virshList = await runVirsh(uri, ["net-port-list", PORT_NETWORK]);
        assert.equal(virshList.stdout, listed.stdout, virshList.stderr);
        const virshDump = await runVirsh(uri, ["net-port-dumpxml", PORT_NETWORK, portid]);
        assert.equal(virshDump.stdout, dumped.stdout, virshDump.stderr);
      }
      if (libvirtdSkipReason === undefined) {
        // libvirtd 9.0's network driver given the port its QEMU driver builds from the same
        // interface (same uuid and owner) on the same network prints the same.
        const oracle = `${ORACLE_PREFIX}gport-${crypto.randomUUID().slice(0, 6)}`;
        await Deno.writeTextFile(`${base}/oracle-net.xml`, portNetworkXml(oracle));
        await Deno.writeTextFile(
          `${base}/oracle-port.xml`,
          `<networkport><uuid>${portid}</uuid><owner><name>gp</name><uuid>${owner}</uuid>` +
            `</owner><mac address='${PORT_MAC}'/></networkport>`,
        );
        try {
          assert.equal((await oracleVirsh(["net-define", `${base}/oracle-net.xml`])).code, 0);
          assert.equal((await oracleVirsh(["net-start", oracle])).code, 0);
          const created = await oracleVirsh(["net-port-create", oracle, `${base}/oracle-port.xml`]);
          assert.equal(created.code, 0, created.stderr);
          const theirs = await oracleVirsh(["net-port-dumpxml", oracle, portid]);
          assert.equal(dumped.stdout, theirs.stdout, "net-port-dumpxml as libvirtd's");
          const theirList = await oracleVirsh(["net-port-list", oracle]);
          assert.equal(listed.stdout, theirList.stdout, "net-port-list as libvirtd's");
        } finally {
          await oracleVirsh(["net-destroy", oracle]);
          await oracleVirsh(["net-undefine", oracle]);
        }
      }

      // The service killed outright: the port stays with the guest that runs on.
      await restart();
      assert.deepEqual(await portsOf(evirt, PORT_NETWORK), [portid]);
      // Killed again, and the guest's QEMU with it while nobody listens: the restart finds
      // the guest gone and deletes its port.
      const qemu = await qemuPidOf(ns, "gp");
      await restart(async () => {
        Deno.kill(qemu, "SIGKILL");
        const deadline = Date.now() + TAP_GONE_TIMEOUT_MS;
        while (Date.now() < deadline && (await ns.exec(["kill", "-0", String(qemu)])).code === 0) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      });
      assert.match((await evirt("domstate", "gp")).stdout, /^shut off/);
      assert.deepEqual(await portsOf(evirt, PORT_NETWORK), []);
      assert.match(service().log(), new RegExp(`port ${portid} of a guest that no longer runs`));

      // Started again: a new port; destroyed: gone.
      assert.equal((await evirt("start", "gp")).code, 0);
      const [again] = await portsOf(evirt, PORT_NETWORK);
      assert.notEqual(again, portid);
      assert.equal((await evirt("destroy", "gp")).code, 0);
      await waitForPorts(evirt, 0, PORT_NETWORK);
      assert.equal((await evirt("net-destroy", PORT_NETWORK)).code, 0);
      await mustRun("ip", ["-n", ns.name, "link", "del", PORT_BRIDGE]);
    });
  },
  { sanitizeResources: false, sanitizeOps: false },
);

/** Whether the namespace's kernel runs libvirt's tc rules for a tap (HTB, SFQ, fw, police). */
async function kernelShapesTaps(ns: TestNamespace): Promise<boolean> {
  const probe = "evtgbwp0";
  await ns.exec(["ip", "link", "add", probe, "type", "veth", "peer", "name", "evtgbwp1"]);
  try {
    const tries = [
      `qdisc add dev ${probe} root handle 1: htb default 1`,
      `class add dev ${probe} parent 1: classid 1:1 htb rate 10kbps`,
      `qdisc add dev ${probe} parent 1:1 handle 2: sfq perturb 10`,
      `filter add dev ${probe} parent 1:0 protocol all prio 1 handle 1 fw flowid 1`,
      `qdisc add dev ${probe} ingress`,
      `filter add dev ${probe} parent ffff: protocol all u32 match u32 0 0 police rate 10kbps burst 10kb mtu 64kb drop flowid :1`,
    ];
    for (const args of tries) {
      if ((await ns.exec(["tc", ...args.split(" ")])).code !== 0) return false;
    }
    return true;
  } finally {
    await ns.exec(["ip", "link", "del", probe]);
  }
}

testIf(
  "a guest interface's <bandwidth> is set on its tap with tc, or its start refused with libvirt's error leaving nothing",
  skip ?? missing("tc"),
  async () => {
    await withNetworkService({}, async (ns, evirt, base, _restart, service) => {
      assert.equal((await evirt("net-start", NETWORK)).code, 0);
      const shapes = await kernelShapesTaps(ns);
      const linksBefore = await ns.links();
      const shaped = portGuest(base, NETWORK, [
        { name: "inbound", attributes: { average: "1000", peak: "2000", burst: "256" } },
        { name: "outbound", attributes: { average: "500", burst: "128" } },
      ]);
      await service().client.define({ definition: shaped });
      const started = await evirt("start", "gp");
      if (shapes) {
        assert.equal(started.code, 0, started.stderr);
        const id = Number((await evirt("domid", "gp")).stdout.trim());
        const tap = `vnet${id}n0`;
        const qdiscs = (await ns.exec(["tc", "qdisc", "show", "dev", tap])).stdout;
        assert.match(qdiscs, /qdisc htb 1: root/);
        assert.match(qdiscs, /qdisc sfq 2: parent 1:1/);
        assert.match(qdiscs, /qdisc ingress ffff:/);
        const classes = (await ns.exec(["tc", "class", "show", "dev", tap])).stdout;
        assert.match(classes, /class htb 1:1 root leaf 2: prio 0 rate 8Mbit ceil 16Mbit/);
        const filters = (await ns.exec(["tc", "filter", "show", "dev", tap, "ingress"])).stdout;
        assert.match(filters, /police .* rate 4Mbit burst 128Kb/);
        assert.equal((await evirt("destroy", "gp")).code, 0);
      } else {
        // As libvirt: tc's own error, in libvirt's words for a failed child process.
        assert.match(
          started.stderr,
          new RegExp(
            "^error: Failed to start domain 'gp'\\n" +
              "error: internal error: Child process \\(tc qdisc add dev vnet\\d+n0 parent 1:1 " +
              "handle 2: sfq perturb 10\\) unexpected exit status 2: Error: Specified qdisc " +
              "kind is unknown\\.\\n$",
          ),
        );
        assert.match((await evirt("domstate", "gp")).stdout, /^shut off/);
      }
      // Nothing left: no tap, no port.
      await waitForLinks(ns, linksBefore);
      await waitForPorts(evirt, 0);

      // A floor needs the network's inbound QoS (libvirt's rule and words); nothing is made.
      await service().client.define({
        definition: {
          ...portGuest(base, NETWORK, [
            { name: "inbound", attributes: { average: "1000", floor: "200" } },
          ]),
          uuid: shaped.uuid,
        },
      });
      const floor = await evirt("start", "gp");
      assert.equal(
        floor.stderr,
        "error: Failed to start domain 'gp'\n" +
          `error: Operation not supported: Invalid use of 'floor' on interface with MAC address ${PORT_MAC} - network '${NETWORK}' has no inbound QoS set\n`,
      );
      assert.deepEqual(await ns.links(), linksBefore);
      assert.deepEqual(await portsOf(evirt), []);

      // domiftune on the running guest: read live; a change goes to the port and the tap, or,
      // where tc cannot, is refused with tc's error and leaves tap, port and XML as they were.
      await service().client.define({
        definition: { ...portGuest(base, NETWORK), uuid: shaped.uuid },
      });
      assert.equal((await evirt("start", "gp")).code, 0);
      const id = Number((await evirt("domid", "gp")).stdout.trim());
      const tap = `vnet${id}n0`;
      const [portid] = await portsOf(evirt);
      const zeros = "inbound.average: 0\ninbound.peak   : 0\ninbound.burst  : 0\n" +
        "inbound.floor  : 0\noutbound.average: 0\noutbound.peak  : 0\noutbound.burst : 0\n\n";
      assert.equal((await evirt("domiftune", "gp", PORT_MAC)).stdout, zeros);
      if (missing("virsh") === undefined) {
        const uri = socketUri(`${service().runtimeDir}/libvirt-sock`);
        assert.equal((await runVirsh(uri, ["domiftune", "gp", tap])).stdout, zeros);
      }
      const tuned = await evirt(
        "domiftune",
        "gp",
        PORT_MAC,
        "--live",
        "--inbound",
        "1000,2000,256",
      );
      if (shapes) {
        assert.equal(tuned.code, 0, tuned.stderr);
        assert.match(
          (await ns.exec(["tc", "qdisc", "show", "dev", tap])).stdout,
          /qdisc htb 1: root/,
        );
        assert.match(
          (await evirt("net-port-dumpxml", NETWORK, portid)).stdout,
          /<inbound average='1000' peak='2000' burst='256'\/>/,
        );
        assert.match((await evirt("domiftune", "gp", tap)).stdout, /^inbound.average: 1000$/m);
      } else {
        assert.match(
          tuned.stderr,
          new RegExp(
            "^error: Unable to set interface parameters\\n" +
              `error: internal error: Child process \\(tc qdisc add dev ${tap} parent 1:1 ` +
              "handle 2: sfq perturb 10\\) unexpected exit status 2: Error: Specified qdisc " +
              "kind is unknown\\.\\n$",
          ),
        );
        assert.equal((await evirt("domiftune", "gp", PORT_MAC)).stdout, zeros);
        assert.doesNotMatch((await evirt("dumpxml", "gp")).stdout, /<bandwidth>/);
        assert.doesNotMatch(
          (await evirt("net-port-dumpxml", NETWORK, portid)).stdout,
          /<bandwidth>/,
        );
        assert.doesNotMatch((await ns.exec(["tc", "qdisc", "show", "dev", tap])).stdout, /htb/);
      }
      // A floor on the running interface: the network refuses it (no inbound QoS).
      const floorLive = await evirt(
        "domiftune",
        "gp",
        PORT_MAC,
        "--live",
        "--inbound",
        "100,0,0,50",
      );
      assert.equal(
        floorLive.stderr,
        "error: Unable to set interface parameters\n" +
          `error: Operation not supported: Invalid use of 'floor' on interface with MAC address ${PORT_MAC} - network '${NETWORK}' has no inbound QoS set\n`,
      );
      assert.equal((await evirt("destroy", "gp")).code, 0);
      await waitForPorts(evirt, 0);
    });
  },
  { sanitizeResources: false, sanitizeOps: false },
);
