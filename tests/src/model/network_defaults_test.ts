import assert from "node:assert/strict";
import { isVirtError } from "../../../src/model/errors.ts";
import type { NetworkDefinition } from "../../../src/model/network.ts";
import {
  checkNetworkRunnable,
  completeNetworkDefinition,
} from "../../../src/model/network_defaults.ts";
import { parseNetworkXml } from "../../../src/xml/parse_network.ts";

const UUID = "81ff0d90-c91e-6742-64da-4a736edb9a9b";

function parsed(body: string): NetworkDefinition {
  return parseNetworkXml(`<network><name>net</name><uuid>${UUID}</uuid>${body}</network>`);
}

function refusedAt(run: () => unknown, code: number, message: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(isVirtError(error), String(error));
    assert.equal(error.message, message);
    assert.equal(error.code, code);
    assert.ok(error.where !== undefined);
    return true;
  });
}

Deno.test("completeNetworkDefinition() picks the lowest virbrN no network or host link uses", () => {
  const done = completeNetworkDefinition(parsed(""), {
    otherNetworks: [{ name: "default", bridge: "virbr0" }, { name: "b", bridge: "virbr2" }],
    hostLinkExists: (name) => name === "virbr1",
    generateMac: () => "52:54:00:12:34:56",
  });
  assert.equal(done.bridge.name, "virbr3");
  assert.equal(done.mac, "52:54:00:12:34:56");
});

Deno.test("completeNetworkDefinition() fills a bridge name template", () => {
  const done = completeNetworkDefinition(parsed("<bridge name='evbr%d'/>"), {
    otherNetworks: [{ name: "a", bridge: "evbr0" }],
  });
  assert.equal(done.bridge.name, "evbr1");
  assert.match(done.mac!, /^52:54:00:/);
});

Deno.test("completeNetworkDefinition() leaves the input unchanged and keeps a given MAC", () => {
  const input = parsed("<mac address='52:54:00:00:00:09'/>");
  const copy = structuredClone(input);
  const done = completeNetworkDefinition(input, { otherNetworks: [] });
  assert.deepEqual(input, copy);
  assert.equal(done.mac, "52:54:00:00:00:09");
});

Deno.test("completeNetworkDefinition() refuses a bridge name another network uses", () => {
  refusedAt(
    () =>
      completeNetworkDefinition(parsed("<bridge name='virbr0'/>"), {
        otherNetworks: [{ name: "default", bridge: "virbr0" }],
      }),
    1,
    "bridge name 'virbr0' already in use.",
  );
  // The network being redefined keeps its own bridge.
  const again = completeNetworkDefinition(parsed("<bridge name='virbr0'/>"), {
    otherNetworks: [{ name: "net", bridge: "virbr0" }],
  });
  assert.equal(again.bridge.name, "virbr0");
});

Deno.test("completeNetworkDefinition() gives a bridge-mode network no bridge name or MAC", () => {
  const done = completeNetworkDefinition(parsed("<forward mode='bridge'/><bridge name='br0'/>"), {
    otherNetworks: [{ name: "x", bridge: "br0" }],
  });
  assert.equal(done.bridge.name, "br0");
  assert.equal(done.mac, undefined);
});

Deno.test("completeNetworkDefinition() refuses host-side settings in bridge mode", () => {
  refusedAt(
    () =>
      completeNetworkDefinition(
        parsed("<forward mode='bridge'/><bridge name='br0'/><ip address='10.0.0.1' prefix='24'/>"),
        { otherNetworks: [] },
      ),
    67,
    "Unsupported <ip> element in network net with forward mode='bridge'",
  );
  refusedAt(
    () =>
      completeNetworkDefinition(
        parsed("<forward mode='bridge'/><bridge name='br0'/><mac address='52:54:00:00:00:01'/>"),
        {
          otherNetworks: [],
        },
      ),
    67,
    "Unsupported <mac> element in network net with forward mode='bridge'",
  );
});

Deno.test("completeNetworkDefinition() refuses two IPv4 DHCP sections", () => {
  refusedAt(
    () =>
      completeNetworkDefinition(
        parsed(
          "<ip address='10.0.0.1' prefix='24'><dhcp><range start='10.0.0.2' end='10.0.0.9'/></dhcp></ip>" +
            "<ip address='10.0.1.1' prefix='24'><dhcp><range start='10.0.1.2' end='10.0.1.9'/></dhcp></ip>",
        ),
        { otherNetworks: [] },
      ),
    67,
    "Multiple IPv4 dhcp sections found -- dhcp is supported only for a single IPv4 address on each network",
  );
});

Deno.test("completeNetworkDefinition() refuses a vlan on a network that cannot tag", () => {
  refusedAt(
    () => completeNetworkDefinition(parsed("<vlan><tag id='5'/></vlan>"), { otherNetworks: [] }),
    67,
    "<vlan> element specified for network net, whose type doesn't support vlan configuration",
  );
});

Deno.test("checkNetworkRunnable() refuses macvtap and SR-IOV modes and a bridge mode without bridge", () => {
  refusedAt(
    () => checkNetworkRunnable(parsed("<forward mode='vepa'><interface dev='eth1'/></forward>")),
    67,
    "network 'net' uses forward mode 'vepa', which evirt does not support",
  );
  refusedAt(
    () => checkNetworkRunnable(parsed("<forward mode='bridge'/>")),
    1,
    "network 'net' uses a direct mode, but has no forward dev and no interface pool",
  );
  checkNetworkRunnable(parsed("<forward mode='bridge'/><bridge name='br0'/>"));
  checkNetworkRunnable(parsed("<forward mode='open'/><ip address='10.0.0.1' prefix='24'/>"));
});
