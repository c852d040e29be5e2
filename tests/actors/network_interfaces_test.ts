import assert from "node:assert/strict";
import {
  type NetworkPortBinder,
  portsNamedBy,
  reconcileNetworkPorts,
  runningInterface,
  withNetworkInterfaces,
  withNetworkPorts,
} from "../../actors/network_interfaces.ts";
import type { NetworkPort } from "../../src/model/network_port.ts";
import { interfaceBandwidthOf } from "../../src/xml/interface_bandwidth.ts";
import { type DomainDefinition, emptyDevices, type NetInterface } from "../../src/model/domain.ts";
import { ErrorCode, isVirtError, VirtError } from "../../src/model/errors.ts";

function definitionWith(interfaces: NetInterface[]): DomainDefinition {
  const devices = emptyDevices();
  devices.interfaces.push(...interfaces);
  return {
    type: "qemu",
    name: "g",
    memoryKiB: 1024,
    vcpus: 1,
    os: { type: "hvm", boot: [] },
    devices,
  };
}

const bridges: Record<string, string> = { default: "virbr0" };
function resolve(network: string): { bridge: string } {
  const bridge = bridges[network];
  if (bridge === undefined) {
    throw new VirtError(ErrorCode.NO_NETWORK, `no network with matching name '${network}'`);
  }
  return { bridge };
}

Deno.test("a network interface runs on its network's bridge with a tap of the instance", () => {
  const live = withNetworkInterfaces(
    definitionWith([
      { type: "user" },
      { type: "network", source: { network: "default" }, mac: "52:54:00:00:00:01" },
      { type: "bridge", source: { bridge: "br0" }, target: { dev: "mine" } },
      { type: "bridge", source: { bridge: "br0" } },
    ]),
    5,
    resolve,
  );
  assert.deepEqual(live.devices.interfaces, [
    { type: "user" },
    {
      type: "network",
      source: { network: "default", bridge: "virbr0" },
      mac: "52:54:00:00:00:01",
      target: { dev: "vnet5n0" },
    },
    { type: "bridge", source: { bridge: "br0" }, target: { dev: "mine" } },
    { type: "bridge", source: { bridge: "br0" }, target: { dev: "vnet5n1" } },
  ]);
});

Deno.test("a definition without network or bridge interfaces is kept as it is", () => {
  const definition = definitionWith([{ type: "user" }]);
  assert.equal(withNetworkInterfaces(definition, 1, resolve), definition);
});

Deno.test("a network the resolver does not know, or no resolver, refuses the interface", () => {
  assert.throws(
    () => runningInterface({ type: "network", source: { network: "nosuch" } }, 1, [], resolve),
    (error) => isVirtError(error, ErrorCode.NO_NETWORK),
  );
  assert.throws(
    () => runningInterface({ type: "network", source: { network: "default" } }, 1, [], undefined),
    (error) => isVirtError(error, ErrorCode.CONFIG_UNSUPPORTED),
  );
  assert.throws(
    () => runningInterface({ type: "network" }, 1, [], resolve),
    (error) => isVirtError(error, ErrorCode.CONFIG_UNSUPPORTED),
  );
});

Deno.test("a hotplugged interface takes the tap name after the instance's others", () => {
  const nic = runningInterface(
    { type: "network", source: { network: "default" } },
    2,
    [{ type: "network", target: { dev: "vnet2n0" } }, {
      type: "bridge",
      target: { dev: "vnet2n3" },
    }],
    resolve,
  );
  assert.equal(nic.target?.dev, "vnet2n4");
});

/** A binder over an in-memory list of ports, allocating as a `nat` network on virbr0 does. */
function memoryBinder(failOn?: string) {
  const ports: { network: string; port: NetworkPort }[] = [];
  const binder: NetworkPortBinder = {
    create(network, port, reclaim) {
      if (network === failOn) {
        return Promise.reject(
          new VirtError(ErrorCode.OPERATION_INVALID, `network '${network}' is not active`),
        );
      }
      const allocated: NetworkPort = reclaim
        ? port
        : { ...port, plug: { type: "network", bridge: `br-${network}` } };
      ports.push({ network, port: allocated });
      return Promise.resolve(allocated);
    },
    update: () => Promise.resolve(),
    release(released) {
      for (const { portid } of released) {
        const at = ports.findIndex(({ port }) => port.uuid === portid);
        if (at >= 0) ports.splice(at, 1);
      }
      return Promise.resolve();
    },
    all: () => [...ports],
  };
  return { binder, ports };
}

const OWNER = { uuid: "8D7E0A52-7A7F-4D3A-9E0B-000000000001", name: "g" };
const BANDWIDTH_ELEMENT = {
  name: "bandwidth",
  children: [{ name: "inbound", attributes: { average: "100", burst: "10" } }],
};

Deno.test("each network interface gets a port built as libvirt builds it, named in the live source", async () => {
  const { binder, ports } = memoryBinder();
  const definition = definitionWith([
    { type: "bridge", source: { bridge: "br0" } },
    {
      type: "network",
      source: { network: "default", portgroup: "fast", bridge: "virbr0" },
      mac: "52:54:00:AA:00:01",
      trustGuestRxFilters: "yes",
      extra: { elements: [{ element: BANDWIDTH_ELEMENT }] },
    },
  ]);
  const { live, launched, ports: made } = await withNetworkPorts(definition, OWNER, binder);
  assert.equal(ports.length, 1);
  const port = ports[0].port;
  assert.deepEqual(made, [{ network: "default", portid: port.uuid }]);
  assert.deepEqual({ ...port, uuid: "-" }, {
    uuid: "-",
    ownerName: "g",
    ownerUuid: OWNER.uuid.toLowerCase(),
    group: "fast",
    mac: "52:54:00:aa:00:01",
    bandwidth: { inbound: { average: 100, burst: 10 } },
    trustGuestRxFilters: "yes",
    plug: { type: "network", bridge: "br-default" },
  });
  const nic = live.devices.interfaces[1];
  assert.deepEqual(Object.entries(nic.source ?? {}), [
    ["network", "default"],
    ["portgroup", "fast"],
    ["portid", port.uuid],
    ["bridge", "br-default"],
  ]);
  assert.deepEqual(live.devices.interfaces[0], definition.devices.interfaces[0]);
  assert.deepEqual(portsNamedBy(live), made);
  assert.equal(launched.devices.interfaces[1].source?.portid, port.uuid);
});

Deno.test("a port's bandwidth from its portgroup is what the driver is given, the live XML keeps the interface's", async () => {
  const binder: NetworkPortBinder = {
    create: (_network, port) =>
      Promise.resolve({
        ...port,
        bandwidth: { outbound: { average: 7 } },
        plug: { type: "network", bridge: "virbr0" },
      }),
    release: () => Promise.resolve(),
    update: () => Promise.resolve(),
    all: () => [],
  };
  const definition = definitionWith([
    {
      type: "network",
      source: { network: "default", portgroup: "slow" },
      mac: "52:54:00:00:00:09",
    },
  ]);
  const { live, launched } = await withNetworkPorts(definition, OWNER, binder);
  assert.equal(live.devices.interfaces[0].extra, undefined);
  assert.deepEqual(launched.devices.interfaces[0].extra?.elements?.[0].element, {
    name: "bandwidth",
    children: [{ name: "outbound", attributes: { average: "7" } }],
  });
});

Deno.test("a port refused on a later interface deletes the ports made before it", async () => {
  const { binder, ports } = memoryBinder("down");
  const definition = definitionWith([
    { type: "network", source: { network: "default" }, mac: "52:54:00:00:00:01" },
    { type: "network", source: { network: "down" }, mac: "52:54:00:00:00:02" },
  ]);
  await assert.rejects(
    withNetworkPorts(definition, OWNER, binder),
    (error) => isVirtError(error, ErrorCode.OPERATION_INVALID),
  );
  assert.deepEqual(ports, []);
});

Deno.test("a floor is read on a network interface and refused on a bridge one, as libvirt", () => {
  const floor = {
    name: "bandwidth",
    children: [{ name: "inbound", attributes: { average: "100", floor: "50" } }],
  };
  const extra = { elements: [{ element: floor }] };
  assert.deepEqual(interfaceBandwidthOf({ type: "network", extra }, "/i"), {
    inbound: { average: 100, floor: 50 },
  });
  assert.throws(
    () => interfaceBandwidthOf({ type: "bridge", extra }, "/domain/devices/interface[1]"),
    (error) =>
      isVirtError(error, ErrorCode.CONFIG_UNSUPPORTED) &&
      error.message === "floor attribute is not supported for this config",
  );
});

Deno.test("reconciling after a restart deletes ports of guests that no longer hold them and reclaims lost ones", async () => {
  const { binder, ports } = memoryBinder();
  const running = definitionWith([{
    type: "network",
    source: {
      network: "default",
      portid: "11111111-1111-4111-8111-111111111111",
      bridge: "virbr0",
    },
    mac: "52:54:00:00:00:01",
  }]);
  const stalePort: NetworkPort = {
    uuid: "22222222-2222-4222-8222-222222222222",
    ownerName: "gone",
    ownerUuid: "8d7e0a52-7a7f-4d3a-9e0b-000000000002",
    mac: "52:54:00:00:00:02",
    plug: { type: "network", bridge: "virbr0" },
  };
  const foreign: NetworkPort = {
    ...stalePort,
    uuid: "33333333-3333-4333-8333-333333333333",
    ownerUuid: "8d7e0a52-7a7f-4d3a-9e0b-0000000000ff",
  };
  ports.push({ network: "default", port: stalePort }, { network: "default", port: foreign });
  const done = await reconcileNetworkPorts([
    { uuid: OWNER.uuid, name: "g", holds: true, definition: running },
    { uuid: stalePort.ownerUuid, name: "gone", holds: false, definition: null },
  ], binder);
  assert.deepEqual(ports.map(({ port }) => port.uuid).sort(), [
    "11111111-1111-4111-8111-111111111111",
    foreign.uuid,
  ]);
  const reclaimed = ports.find(({ port }) => port.uuid.startsWith("1111"))!.port;
  assert.deepEqual(reclaimed.plug, { type: "network", bridge: "virbr0" });
  assert.equal(reclaimed.ownerName, "g");
  assert.equal(done.length, 2);
  assert.match(done[0], /port 22222222-.* of a guest that no longer runs deleted/);
  assert.match(done[1], /port 11111111-.* of running guest 'g' reclaimed/);
  // Run again: nothing left to do.
  assert.deepEqual(
    await reconcileNetworkPorts([
      { uuid: OWNER.uuid, name: "g", holds: true, definition: running },
    ], binder),
    [],
  );
});
