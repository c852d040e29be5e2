/**
 * Network ports as facts of their network's stream: a port created on a running network is
 * allocated (portgroup and plug filled in) and recorded, survives a restart of the service
 * (the log replayed), is deleted by its uuid, and every port ends with its network's stop;
 * refusals (an inactive network, a uuid in use, no such port) record nothing. Its bandwidth
 * parameters are read and replaced through the RPC handlers.
 */

import assert from "node:assert/strict";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { ErrorCode } from "../../src/model/errors.ts";
import { NETWORK_FACT_TYPES } from "../../src/model/network_facts.ts";
import { type AppliedNetworkFact, type NetworkRunner, Networks } from "../../actors/networks.ts";
import { NETWORK_PORT_PROCEDURES } from "../../src/rpc/network_port_procedures.ts";
import type { CallContext } from "../../src/rpc/procedure.ts";
import { uuidBytes } from "../../src/rpc/protocol.ts";

const NET = "81ff0d90-c91e-6742-64da-4a736edb9a9b";
const PORT_A = "aaaaaaaa-2222-3333-4444-555555555555";
const PORT_B = "bbbbbbbb-2222-3333-4444-555555555555";

const runner: NetworkRunner = {
  start: () => Promise.resolve({}),
  stop: () => Promise.resolve(),
  check: () => ({ intact: true, problems: [] }),
};
const options = { hostLinkExists: () => false, routeTable: () => "", runtime: runner };

const NETWORK = `<network><name>n</name><uuid>${NET}</uuid><bridge name='br-n'/>` +
  `<ip address='10.9.1.1' prefix='24'/><portgroup name='g'><bandwidth><outbound average='7'/></bandwidth>` +
  `</portgroup></network>`;

function portXml(uuid: string, extra = ""): string {
  return `<networkport><uuid>${uuid}</uuid><owner><name>vm</name>` +
    `<uuid>11111111-2222-3333-4444-555555555555</uuid></owner>${extra}` +
    `<mac address='52:54:00:00:00:01'/></networkport>`;
}

function assertCode(error: unknown, code: number): true {
  assert.equal((error as { code?: number }).code, code, String(error));
  return true;
}

Deno.test("ports are allocated, recorded, replayed, deleted and end with their network", async () => {
  const store = createMemoryStore({ factTypes: NETWORK_FACT_TYPES });
  const networks = await Networks.open({ store, ...options });
  const applied: AppliedNetworkFact[] = [];
  networks.subscribe((facts) => applied.push(...facts));
  await networks.define(NETWORK);
  await assert.rejects(
    networks.createPort(NET, portXml(PORT_A)),
    (error) => assertCode(error, ErrorCode.OPERATION_INVALID),
  );
  assert.throws(
    () => networks.ports(NET),
    (error) => assertCode(error, ErrorCode.OPERATION_INVALID),
  );
  await networks.start(NET);
  const created = await networks.createPort(NET, portXml(PORT_A, "<group>g</group>"));
  assert.deepEqual(created.plug, { type: "network", bridge: "br-n" });
  assert.deepEqual(created.bandwidth, { outbound: { average: 7 } });
  await networks.createPort(NET, portXml(PORT_B));
  await assert.rejects(
    networks.createPort(NET, portXml(PORT_B)),
    (error) => assertCode(error, ErrorCode.NETWORK_PORT_EXIST),
  );
  assert.match(
    networks.portXml(NET, PORT_A),
    /<bandwidth>\n {4}<outbound average='7'\/>\n {2}<\/bandwidth>/,
  );

  const replayed = await Networks.open({ store, ...options });
  assert.deepEqual(replayed.ports(NET).map((port) => port.uuid), [PORT_A, PORT_B]);
  assert.equal(replayed.portXml(NET, PORT_A), networks.portXml(NET, PORT_A));

  await networks.deletePort(NET, PORT_A);
  await assert.rejects(
    networks.deletePort(NET, PORT_A),
    (error) => assertCode(error, ErrorCode.NO_NETWORK_PORT),
  );
  assert.deepEqual(networks.ports(NET).map((port) => port.uuid), [PORT_B]);
  await networks.destroy(NET);
  await networks.start(NET);
  assert.deepEqual(networks.ports(NET), []);
  assert.throws(
    () => networks.port(NET, PORT_B),
    (error) => assertCode(error, ErrorCode.NO_NETWORK_PORT),
  );
  assert.deepEqual(
    applied.map((entry) => entry.fact.type).filter((type) => type.includes("port")),
    ["network.port_created", "network.port_created", "network.port_deleted"],
  );
  await store.close();
});

Deno.test("a port that names its plug is taken only when reclaimed", async () => {
  const store = createMemoryStore({ factTypes: NETWORK_FACT_TYPES });
  const networks = await Networks.open({ store, ...options });
  await networks.define(NETWORK);
  await networks.start(NET);
  const plugged = portXml(PORT_A, "<plug type='network' bridge='br-n'/>");
  await assert.rejects(
    networks.createPort(NET, plugged),
    (error) => assertCode(error, ErrorCode.INVALID_ARG),
  );
  await assert.rejects(
    networks.createPort(NET, portXml(PORT_B), true),
    (error) => assertCode(error, ErrorCode.INVALID_ARG),
  );
  const reclaimed = await networks.createPort(NET, plugged, true);
  assert.deepEqual(reclaimed.plug, { type: "network", bridge: "br-n" });
  await store.close();
});

Deno.test("a port's bandwidth parameters are read and replaced as libvirt reads and sets them", async () => {
  const store = createMemoryStore({ factTypes: NETWORK_FACT_TYPES });
  const networks = await Networks.open({ store, ...options });
  await networks.define(NETWORK);
  await networks.start(NET);
  await networks.createPort(NET, portXml(PORT_A, "<group>g</group>"));
  const context = { target: () => ({ networks }) } as unknown as CallContext;
  const port = { net: { name: "n", uuid: uuidBytes(NET) }, uuid: uuidBytes(PORT_A) };
  const get = NETWORK_PORT_PROCEDURES.virNetworkPortGetParameters.handler;
  const set = NETWORK_PORT_PROCEDURES.virNetworkPortSetParameters.handler;
  const read = async () => {
    const answer = await get({ port, nparams: 0, flags: 0 }, context) as {
      params: Array<{ field: string; value: { value: number } }>;
    };
    return Object.fromEntries(answer.params.map((param) => [param.field, param.value.value]));
  };
  assert.deepEqual(await read(), {
    "inbound.average": 0,
    "inbound.peak": 0,
    "inbound.floor": 0,
    "inbound.burst": 0,
    "outbound.average": 7,
    "outbound.peak": 0,
    "outbound.burst": 0,
  });
  const uint = (field: string, value: number) => ({ field, value: { type: 2, value } });
  await set({
    port,
    params: [uint("inbound.average", 100), uint("inbound.burst", 5), uint("outbound.peak", 9)],
    flags: 0,
  }, context);
  // An outbound peak without an average is dropped, as libvirt drops it.
  assert.deepEqual(networks.port(NET, PORT_A).bandwidth, { inbound: { average: 100, burst: 5 } });
  await assert.rejects(
    Promise.resolve().then(() => set({ port, params: [uint("x", 1)], flags: 0 }, context)),
    (error) => assertCode(error, ErrorCode.ARGUMENT_UNSUPPORTED),
  );
  await assert.rejects(
    Promise.resolve().then(() =>
      set({ port, params: [uint("inbound.floor", 1)], flags: 0 }, context)
    ),
    (error) => assertCode(error, ErrorCode.OPERATION_UNSUPPORTED),
  );
  const replayed = await Networks.open({ store, ...options });
  assert.deepEqual(replayed.port(NET, PORT_A).bandwidth, { inbound: { average: 100, burst: 5 } });
  await store.close();
});
