/**
 * Network ports as facts of their network's stream: a port created on a running network is
 * allocated (portgroup and plug filled in) and recorded, survives a restart of the service
 * (the log replayed), is deleted by its uuid, and every port ends with its network's stop;
 * refusals (an inactive network, a uuid in use, no such port) record nothing.
 */

import assert from "node:assert/strict";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { ErrorCode } from "../../src/model/errors.ts";
import { NETWORK_FACT_TYPES } from "../../src/model/network_facts.ts";
import { type AppliedNetworkFact, type NetworkRunner, Networks } from "../../actors/networks.ts";

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
