import assert from "node:assert/strict";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { NETWORK_FACT_TYPES, networkStream } from "../../src/model/network_facts.ts";
import { type AppliedNetworkFact, NETWORK_XML_INACTIVE, Networks } from "../../actors/networks.ts";
import {
  applyNetworkFact,
  isNetworkActive,
  networkStateName,
  newNetworkSnapshot,
} from "../../actors/network_machine.ts";
import { parseNetworkXml } from "../../src/xml/parse_network.ts";

const UUID_A = "81ff0d90-c91e-6742-64da-4a736edb9a9b";
const UUID_B = "81ff0d90-c91e-6742-64da-4a736edb9a9c";

function networkXml(name: string, uuid: string, extra = ""): string {
  return `<network><name>${name}</name><uuid>${uuid}</uuid>${extra}</network>`;
}

/** Options that see no host links (the picked `virbrN` does not depend on the host). */
const noHost = { hostLinkExists: () => false };

async function code(promise: Promise<unknown>): Promise<[number, string]> {
  try {
    await promise;
  } catch (error) {
    if (!isVirtError(error)) throw error;
    return [error.code, error.fullMessage];
  }
  throw new Error("not refused");
}

Deno.test("Networks defines, redefines, lists, sets autostart and undefines", async () => {
  const store = createMemoryStore({ factTypes: NETWORK_FACT_TYPES });
  const networks = await Networks.open({ store, ...noHost });
  const applied: AppliedNetworkFact[] = [];
  networks.subscribe((facts) => applied.push(...facts));
  const a = await networks.define(networkXml("a", UUID_A));
  assert.deepEqual(a, {
    uuid: UUID_A,
    name: "a",
    active: false,
    persistent: true,
    autostart: false,
    bridge: "virbr0",
  });
  const b = await networks.define(
    networkXml("b", UUID_B, "<forward mode='route'/><ip address='10.9.0.1' prefix='24'/>"),
  );
  assert.equal(b.bridge, "virbr1", "the next free virbrN");
  assert.match(networks.xml(UUID_A, 0), /<mac address='52:54:00:/);
  await networks.define(networkXml("a", UUID_A, "<bridge name='virbr0'/><mtu size='1400'/>"));
  assert.match(networks.xml(UUID_A, NETWORK_XML_INACTIVE), /<mtu size='1400'\/>/);
  await networks.setAutostart(UUID_B, true);
  assert.deepEqual(networks.list().map((net) => [net.name, net.autostart]), [
    ["a", false],
    ["b", true],
  ]);
  assert.equal(networks.bridgeName(UUID_B), "virbr1");
  assert.equal(networks.byName("b").uuid, UUID_B);
  assert.equal(networks.byUuid(UUID_A.toUpperCase()).uuid, UUID_A);
  await networks.undefine(UUID_A);
  assert.deepEqual(networks.list().map((net) => net.name), ["b"]);
  assert.deepEqual(applied.map((entry) => [entry.fact.type, entry.name]), [
    ["network.defined", "a"],
    ["network.defined", "b"],
    ["network.defined", "a"],
    ["network.autostart_changed", "b"],
    ["network.undefined", "a"],
  ]);
  await store.close();
});

Deno.test("Networks refuses what libvirt refuses, with its codes, and records nothing", async () => {
  const store = createMemoryStore({ factTypes: NETWORK_FACT_TYPES });
  const networks = await Networks.open({ store, ...noHost });
  await networks.define(networkXml("a", UUID_A, "<bridge name='br-a'/>"));
  const head = store.headPosition();
  assert.deepEqual(await code(networks.define(networkXml("a", UUID_B))), [
    9,
    `operation failed: network 'a' already exists with uuid ${UUID_A}`,
  ]);
  assert.deepEqual(await code(networks.define(networkXml("z", UUID_A))), [
    9,
    `operation failed: network 'a' is already defined with uuid ${UUID_A}`,
  ]);
  assert.deepEqual(await code(networks.define(networkXml("z", UUID_B, "<bridge name='br-a'/>"))), [
    1,
    "internal error: bridge name 'br-a' already in use.",
  ]);
  assert.deepEqual(await code(networks.start(UUID_A)), [
    84,
    "Operation not supported: cannot start network 'a': this service has no network runtime " +
    "(bridge, dnsmasq, firewall rules)",
  ]);
  assert.equal((await code(networks.create(networkXml("z", UUID_B))))[0], 84);
  assert.deepEqual(await code(networks.destroy(UUID_A)), [
    55,
    "Requested operation is not valid: network 'a' is not active",
  ]);
  assert.deepEqual(await code(Promise.resolve().then(() => networks.byName("nope"))), [
    43,
    "Network not found: no network with matching name 'nope'",
  ]);
  assert.equal(store.headPosition(), head, "nothing recorded");
  assert.deepEqual(networks.list().map((net) => net.name), ["a"]);
  await store.close();
});

Deno.test("a restart replays the networks as the live fold left them, and abandons a pending start", async () => {
  const store = createMemoryStore({ factTypes: NETWORK_FACT_TYPES });
  const live = await Networks.open({ store, ...noHost });
  await live.define(networkXml("a", UUID_A));
  await live.define(networkXml("b", UUID_B));
  await live.setAutostart(UUID_B, true);
  await live.undefine(UUID_A);
  // A crash between a start's intent and its outcome.
  await store.append(networkStream(UUID_B), [{
    type: "network.starting",
    body: { bridge: "virbr1" },
  }], 2);
  const logged: string[] = [];
  const replayed = await Networks.open({ store, ...noHost, log: (line) => logged.push(line) });
  assert.deepEqual(replayed.list(), live.list());
  assert.equal(replayed.xml(UUID_B, 0), live.xml(UUID_B, 0));
  assert.deepEqual(logged, ["network 'b': start interrupted by a restart is abandoned"]);
  assert.equal(replayed.byUuid(UUID_B).snapshot.context.intent, null);
  await store.close();
});

Deno.test("the network machine: a running network keeps its next definition; transient ones go", () => {
  const definition = parseNetworkXml(networkXml("a", UUID_A, "<bridge name='br0'/>"));
  const next = parseNetworkXml(networkXml("a", UUID_A, "<bridge name='br1'/>"));
  let snapshot = newNetworkSnapshot(UUID_A);
  snapshot = applyNetworkFact(snapshot, {
    type: "network.defined",
    body: { definition, detail: "added", persistent: true },
  });
  snapshot = applyNetworkFact(snapshot, { type: "network.starting", body: { bridge: "br0" } });
  snapshot = applyNetworkFact(snapshot, { type: "network.started", body: {} });
  assert.ok(isNetworkActive(snapshot));
  snapshot = applyNetworkFact(snapshot, {
    type: "network.defined",
    body: { definition: next, detail: "updated", persistent: true },
  });
  assert.equal(snapshot.context.definition?.bridge.name, "br0");
  snapshot = applyNetworkFact(snapshot, { type: "network.stopping", body: { bridge: "br0" } });
  snapshot = applyNetworkFact(snapshot, { type: "network.stopped", body: {} });
  assert.equal(networkStateName(snapshot), "inactive");
  assert.equal(snapshot.context.definition?.bridge.name, "br1");
  snapshot = applyNetworkFact(snapshot, { type: "network.started", body: {} });
  snapshot = applyNetworkFact(snapshot, { type: "network.undefined", body: {} });
  assert.equal(snapshot.context.persistent, false, "undefined while running: transient");
  snapshot = applyNetworkFact(snapshot, { type: "network.stopped", body: {} });
  assert.equal(networkStateName(snapshot), "nonexistent");
  assert.throws(() => applyNetworkFact(snapshot, { type: "network.started", body: {} }));
});

Deno.test("a network undefined and defined again with the same uuid continues its stream", async () => {
  const store = createMemoryStore({ factTypes: NETWORK_FACT_TYPES });
  const networks = await Networks.open({ store, ...noHost });
  await networks.define(networkXml("a", UUID_A));
  await networks.undefine(UUID_A);
  await networks.define(networkXml("a", UUID_A));
  assert.deepEqual(networks.list().map((net) => net.name), ["a"]);
  const replayed = await Networks.open({ store, ...noHost });
  await replayed.undefine(UUID_A);
  await replayed.define(networkXml("b", UUID_A));
  assert.deepEqual(replayed.list().map((net) => net.name), ["b"]);
  await store.close();
});

Deno.test("a start is refused as libvirt refuses it when a host route covers the network's subnet", async () => {
  const store = createMemoryStore({ factTypes: NETWORK_FACT_TYPES });
  const routeTable = () =>
    "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n" +
    "br-other\t0000FB0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\n";
  const networks = await Networks.open({ store, ...noHost, routeTable });
  await networks.define(networkXml("a", UUID_A, "<ip address='10.251.0.1' prefix='24'/>"));
  await networks.define(networkXml("b", UUID_B, "<ip address='10.252.0.1' prefix='24'/>"));
  const head = store.headPosition();
  assert.deepEqual(await code(networks.start(UUID_A)), [
    1,
    "internal error: Network is already in use by interface br-other",
  ]);
  assert.equal((await code(networks.start(UUID_B)))[0], 84, "no collision: the runtime refusal");
  assert.equal(store.headPosition(), head);
  await store.close();
});
