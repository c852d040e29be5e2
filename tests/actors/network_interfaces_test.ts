import assert from "node:assert/strict";
import { runningInterface, withNetworkInterfaces } from "../../actors/network_interfaces.ts";
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
