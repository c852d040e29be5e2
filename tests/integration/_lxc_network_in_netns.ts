/**
 * Container networking, run by `lxc_network_test.ts` inside a network namespace of its own
 * (`unshare --net`): a bridge with 10.77.0.1/24 made here, containers whose veth pairs join it.
 * Everything this file makes in the namespace ends with it; the containers are killed by pid.
 */

import assert from "node:assert/strict";
import { namespaceLinks } from "../../drivers/lxc/container_network.ts";
import { StatsReader } from "../../src/projections/stats_reader.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { NetInterface } from "../../src/model/domain.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { containerDefinition, filesystemElement, openLxcRig, rootfsDir } from "./_lxc_rig.ts";

/** Longest wait for something a container writes, in ms. */
const WAIT_MS = 15_000;

const BRIDGE = "evbr0";
const BRIDGE_ADDRESS = "10.77.0.1";
const GUEST_ADDRESS = "10.77.0.2";
const GUEST_MAC = "52:54:00:7e:00:02";

async function ip(...args: string[]): Promise<string> {
  const output = await new Deno.Command("ip", {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(10_000),
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`ip ${args.join(" ")}: ${text}`);
  return text;
}

/** busybox's ping from this namespace (the host's ping may be absent). */
async function ping(address: string): Promise<boolean> {
  const output = await new Deno.Command(`${rootfsDir}/bin/busybox`, {
    args: ["ping", "-c", "1", "-W", "5", address],
    stdout: "null",
    stderr: "null",
    signal: AbortSignal.timeout(10_000),
  }).output();
  return output.success;
}

async function waitForFile(path: string): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      const text = Deno.readTextFileSync(path);
      if (text.endsWith("\n")) return text;
    } catch {
      // Not yet.
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${path}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function waitUntil(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The container's program: its network as it sees it, a ping of the bridge, then the init. */
const PROBE = [
  `ping -c 1 -W 5 ${BRIDGE_ADDRESS} > /data/ping.txt 2>&1; echo $? > /data/ping.rc`,
  "ip -o addr > /data/addr.tmp; ip -o link >> /data/addr.tmp; mv /data/addr.tmp /data/addr.txt",
  "ip route > /data/route.tmp; mv /data/route.tmp /data/route.txt",
  "exec /sbin/evirt-init",
].join("; ");

function interfaces(): NetInterface[] {
  return [
    {
      type: "network",
      mac: GUEST_MAC,
      source: { network: "testnet" },
      ips: [{ address: GUEST_ADDRESS, family: "ipv4", prefix: 24 }],
      routes: [{ family: "ipv4", address: "10.99.0.0", prefix: 16, gateway: BRIDGE_ADDRESS }],
    },
    {
      type: "ethernet",
      guestDev: "side0",
      mac: "52:54:00:7e:00:03",
      ips: [{ address: "10.88.0.2", family: "ipv4", prefix: 24 }],
    },
  ];
}

async function setUpBridge(): Promise<void> {
  await ip("link", "set", "lo", "up");
  await ip("link", "add", BRIDGE, "type", "bridge");
  await ip("address", "add", `${BRIDGE_ADDRESS}/24`, "dev", BRIDGE);
  await ip("link", "set", BRIDGE, "up");
}

Deno.test("a container on a bridge: veth pair, addresses, routes, ping both ways, domifstat, cleanup", async () => {
  await setUpBridge();
  const rig = await openLxcRig();
  const data = Deno.makeTempDirSync({ prefix: "evirt-lxc-net-" });
  rig.host.setNetworkResolver((network) => {
    if (network !== "testnet") {
      throw new VirtError(
        ErrorCode.NO_NETWORK,
        `Network not found: no network with matching name '${network}'`,
      );
    }
    return { bridge: BRIDGE };
  });
  try {
    const definition = containerDefinition("ct-net", {
      init: "/bin/sh",
      initArgs: ["-c", PROBE],
      filesystems: [filesystemElement("mount", "/data", { dir: data })],
    });
    definition.devices.interfaces = interfaces();
    await rig.host.define(definition);
    await rig.host.start("ct-net");
    const live = rig.host.context("ct-net").live!;
    const id = rig.host.context("ct-net").id;
    const [nic, side] = live.devices.interfaces;
    // As libvirt's LXC driver: the network's bridge, the host end, the name inside.
    assert.equal(nic.source?.bridge, BRIDGE);
    assert.equal(nic.target?.dev, `vnet${id}n0`);
    assert.equal(nic.guestDev, "eth0");
    assert.equal(side.guestDev, "side0");
    assert.equal(rig.runtime("ct-net").links, `vnet${id}n0 vnet${id}n1`);
    // The host end is on the bridge and up; the ethernet one is on no bridge.
    const hostEnd = await ip("-o", "link", "show", `vnet${id}n0`);
    assert.match(hostEnd, new RegExp(`master ${BRIDGE}`));
    assert.match(hostEnd, /state UP|LOWER_UP/);
    assert.doesNotMatch(await ip("-o", "link", "show", `vnet${id}n1`), /master/);
    // The container's view.
    assert.equal(
      (await waitForFile(`${data}/ping.rc`)).trim(),
      "0",
      Deno.readTextFileSync(`${data}/ping.txt`),
    );
    const addr = await waitForFile(`${data}/addr.txt`);
    assert.match(addr, new RegExp(`eth0\\s+inet ${GUEST_ADDRESS}/24`));
    assert.match(addr, /side0\s+inet 10\.88\.0\.2\/24/);
    assert.match(addr, new RegExp(`eth0.*link/ether ${GUEST_MAC}`));
    assert.match(addr, /lo:.*UP/);
    assert.doesNotMatch(addr, /vnet/, "a container end kept its temporary name");
    const route = await waitForFile(`${data}/route.txt`);
    assert.match(route, new RegExp(`10\\.99\\.0\\.0/16 via ${BRIDGE_ADDRESS} dev eth0`));
    // The host's side reaches the container.
    assert.ok(await ping(GUEST_ADDRESS), "the bridge's side cannot ping the container");
    // domifstat: the host end's counters in the guest's view (it received the ping requests).
    const reader = new StatsReader(rig.host, { firstSampleWaitMs: 2_000 });
    const stats = await reader.interfaceStats("ct-net", `vnet${id}n0`);
    assert.ok(stats.rxPackets >= 1 && stats.txPackets >= 1, JSON.stringify(stats));
    const byMac = await reader.interfaceStats("ct-net", GUEST_MAC);
    assert.ok(byMac.rxBytes >= stats.rxBytes);
    // Reboot: the new run has its interfaces again.
    await rig.host.reset("ct-net");
    await waitUntil("the host end after the reset", () => namespaceLinks().has(`vnet${id}n0`));
    assert.ok(await ping(GUEST_ADDRESS), "no ping after the reset");
    // Destroy: no link left.
    await rig.host.destroy("ct-net");
    await waitUntil(
      "the links to go",
      () => ![...namespaceLinks().keys()].some((name) => name.startsWith("vnet")),
    );
  } finally {
    await rig.close();
    Deno.removeSync(data, { recursive: true });
  }
});

Deno.test("a container that dies takes its links; a start on a missing bridge leaves none", async () => {
  const rig = await openLxcRig();
  rig.host.setNetworkResolver((network) => ({
    bridge: network === "testnet" ? BRIDGE : "nosuchbr0",
  }));
  try {
    const definition = containerDefinition("ct-crash");
    definition.devices.interfaces = [interfaces()[0]];
    await rig.host.define(definition);
    await rig.host.start("ct-crash");
    const id = rig.host.context("ct-crash").id;
    assert.ok(namespaceLinks().has(`vnet${id}n0`));
    // Every process of the container killed: its end is seen, its links are gone.
    const runtime = rig.runtime("ct-crash");
    Deno.kill(Number(runtime.supervisorPid), "SIGKILL");
    Deno.kill(Number(runtime.pid), "SIGKILL");
    await waitUntil("the container's end", () => rig.stateText("ct-crash").startsWith("shut off"));
    await waitUntil("the links to go", () => !namespaceLinks().has(`vnet${id}n0`));

    const broken = containerDefinition("ct-nobridge");
    broken.devices.interfaces = [{ ...interfaces()[0], source: { network: "other" } }];
    await rig.host.define(broken);
    const before = [...namespaceLinks().keys()].sort();
    await assert.rejects(
      () => rig.host.start("ct-nobridge"),
      (error) =>
        isVirtError(error) && error.code === ErrorCode.SYSTEM_ERROR &&
        /nosuchbr0|No such device|Cannot find device/.test(error.message),
    );
    assert.deepEqual([...namespaceLinks().keys()].sort(), before);
    assert.equal(rig.stateText("ct-nobridge"), "shut off (unknown)");
  } finally {
    await rig.close();
  }
});
