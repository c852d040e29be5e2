import assert from "node:assert/strict";
import {
  containerBatch,
  containerLinks,
  defaultPrefix,
  hostBatch,
  withGuestNames,
} from "../../../drivers/lxc/container_network.ts";
import type { NetInterface } from "../../../src/model/domain.ts";
import { isVirtError } from "../../../src/model/errors.ts";
import { containerDefinition } from "../../integration/_lxc_rig.ts";

function withInterfaces(interfaces: NetInterface[]) {
  const definition = containerDefinition("net");
  definition.devices.interfaces = interfaces;
  return definition;
}

const BRIDGED: NetInterface = {
  type: "network",
  mac: "52:54:00:AA:00:01",
  source: { network: "default", bridge: "virbr0" },
  target: { dev: "vnet4n0" },
  ips: [{ address: "192.168.122.9" }, { address: "fd00::9", prefix: 48 }],
  routes: [{ address: "10.0.0.0", netmask: "255.255.0.0", gateway: "192.168.122.1", metric: 5 }],
};

Deno.test("guest names: their own, else eth0, eth1, … counting only those without one", () => {
  const named = withGuestNames(withInterfaces([
    { type: "ethernet" },
    { type: "bridge", guestDev: "lan" },
    { type: "ethernet" },
  ]));
  assert.deepEqual(named.devices.interfaces.map((nic) => nic.guestDev), ["eth0", "lan", "eth1"]);
  const none = withInterfaces([]);
  assert.equal(withGuestNames(none), none);
});

Deno.test("containerLinks: host ends, temporary container ends, class-based prefixes, netmask routes", () => {
  const links = containerLinks(
    withInterfaces([BRIDGED, { type: "ethernet", mac: "52:54:00:aa:00:02", link: "down" }]),
    4,
  );
  assert.deepEqual(links.map((link) => [link.hostDev, link.peerDev, link.guestDev, link.bridge]), [
    ["vnet4n0", "vnet4g0", "eth0", "virbr0"],
    ["vnet4n1", "vnet4g1", "eth1", undefined],
  ]);
  assert.equal(links[0].mac, "52:54:00:aa:00:01");
  assert.deepEqual(links[0].addresses, [{ local: "192.168.122.9/24" }, { local: "fd00::9/48" }]);
  assert.deepEqual(links[0].routes, [
    { destination: "10.0.0.0/16", gateway: "192.168.122.1", metric: 5 },
  ]);
  assert.equal(links[1].up, false);
  assert.deepEqual([defaultPrefix("10.1.2.3"), defaultPrefix("172.16.0.1"), defaultPrefix("::1")], [
    8,
    16,
    64,
  ]);
});

Deno.test("the ip batches: pair, MAC, bridge, up, move; then names, addresses, lo, routes", () => {
  const links = containerLinks(withInterfaces([{ ...BRIDGED, mtu: 1400 }]), 4);
  assert.deepEqual(hostBatch(links, 1234), [
    "link add vnet4n0 mtu 1400 type veth peer name vnet4g0 mtu 1400",
    "link set vnet4g0 address 52:54:00:aa:00:01",
    "link set vnet4n0 master virbr0",
    "link set vnet4n0 up",
    "link set vnet4g0 netns 1234",
  ]);
  assert.deepEqual(containerBatch(links), [
    "link set vnet4g0 name eth0",
    "address add 192.168.122.9/24 dev eth0",
    "address add fd00::9/48 dev eth0",
    "link set eth0 up",
    "link set lo up",
    "route add 10.0.0.0/16 via 192.168.122.1 dev eth0 metric 5",
  ]);
  assert.deepEqual(containerBatch([]), []);
});

Deno.test("refusals name the interface: type, script, bad names and addresses, no bridge or MAC", () => {
  const cases: Array<[NetInterface, string]> = [
    [{ type: "direct" }, "/domain/devices/interface[1]/@type"],
    [
      {
        ...BRIDGED,
        extra: { elements: [{ element: { name: "script", attributes: { path: "/x" } } }] },
      },
      "/domain/devices/interface[1]/script",
    ],
    [{ ...BRIDGED, guestDev: "eth0; reboot" }, "/domain/devices/interface[1]/guest/@dev"],
    [
      { ...BRIDGED, target: { dev: "a-name-far-too-long" } },
      "/domain/devices/interface[1]/target/@dev",
    ],
    [
      { ...BRIDGED, ips: [{ address: "10.0.0.300x" }] },
      "/domain/devices/interface[1]/ip[1]/@address",
    ],
    [
      { ...BRIDGED, ips: [{ address: "10.0.0.3", prefix: 33 }] },
      "/domain/devices/interface[1]/ip[1]/@prefix",
    ],
    [
      {
        ...BRIDGED,
        routes: [{ address: "10.0.0.0", netmask: "255.0.255.0", gateway: "10.0.0.1" }],
      },
      "/domain/devices/interface[1]/route[1]/@netmask",
    ],
    [{ ...BRIDGED, source: { network: "default" } }, "/domain/devices/interface[1]/source"],
    [{ ...BRIDGED, mac: undefined }, "/domain/devices/interface[1]/mac/@address"],
  ];
  for (const [nic, where] of cases) {
    assert.throws(
      () => containerLinks(withInterfaces([nic]), 1),
      (error) => isVirtError(error, 67) && error.where === where,
      where,
    );
  }
  assert.throws(
    () =>
      containerLinks(
        withInterfaces([{ ...BRIDGED, extra: { elements: [{ element: { name: "script" } }] } }]),
        1,
      ),
    /scripts are not supported on LXC network interfaces/,
  );
});
