/**
 * `net-update` bookkeeping, with a runner that records what it is asked (the runtime runs for
 * real in `tests/integration/network_update_service_test.ts`): libvirt's flag rules, the
 * updated definitions and the dnsmasq reload recorded before the reload runs, live-only
 * changes forgotten at stop, a failed reload recorded abandoned, and a reload a crash cut
 * short finished at the next open.
 */

import assert from "node:assert/strict";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { NetworkDefinition } from "../../src/model/network.ts";
import { NETWORK_FACT_TYPES, networkStream } from "../../src/model/network_facts.ts";
import { type AppliedNetworkFact, type NetworkRunner, Networks } from "../../actors/networks.ts";
import type { NetworkRuntimeState } from "../../drivers/network/network_runtime.ts";

const UUID = "81ff0d90-c91e-6742-64da-4a736edb9a9d";
const DNSMASQ = { pid: 4242, startTimeTicks: 777 };
const NEW_DNSMASQ = { pid: 4343, startTimeTicks: 888 };
const XML = `<network><name>u</name><uuid>${UUID}</uuid><bridge name='br-u'/>` +
  `<ip address='10.9.1.1' prefix='24'><dhcp><range start='10.9.1.10' end='10.9.1.20'/>` +
  `</dhcp></ip></network>`;
const noHost = { hostLinkExists: () => false, routeTable: () => "" };

const HOST = {
  command: 3,
  section: 4,
  parentIndex: -1,
  xml: "<host mac='52:54:00:00:00:02' ip='10.9.1.2'/>",
};
const TXT = { command: 3, section: 11, parentIndex: -1, xml: "<txt name='k' value='v'/>" };
const LIVE = 1;
const CONFIG = 2;

function recordingRunner(options: { failReload?: boolean } = {}) {
  const calls: string[] = [];
  const runner: NetworkRunner = {
    start: () => Promise.resolve({ dnsmasq: DNSMASQ }),
    stop: () => Promise.resolve(),
    check: () => ({ intact: true, problems: [] }),
    reload(
      previous: NetworkDefinition | undefined,
      definition: NetworkDefinition,
      state: NetworkRuntimeState,
      mode: "refresh" | "restart",
    ): Promise<NetworkRuntimeState> {
      const hosts = definition.ips[0].dhcp?.hosts.length;
      calls.push(`${mode} ${previous === undefined ? "unknown" : "known"} hosts=${hosts}`);
      if (options.failReload) {
        return Promise.reject(new VirtError(ErrorCode.SYSTEM_ERROR, "dnsmasq did not start"));
      }
      return Promise.resolve(mode === "restart" ? { dnsmasq: NEW_DNSMASQ } : state);
    },
  };
  return { runner, calls };
}

async function opened(runner: NetworkRunner) {
  const store = createMemoryStore({ factTypes: NETWORK_FACT_TYPES });
  const networks = await Networks.open({ store, ...noHost, runtime: runner });
  const applied: AppliedNetworkFact[] = [];
  networks.subscribe((facts) => applied.push(...facts));
  await networks.define(XML);
  return { store, networks, applied };
}

Deno.test("an inactive network: current means config; --live is refused with code 55", async () => {
  const { runner, calls } = recordingRunner();
  const { store, networks } = await opened(runner);
  await assert.rejects(
    networks.update(UUID, HOST, LIVE),
    (error) =>
      error instanceof VirtError && error.code === ErrorCode.OPERATION_INVALID &&
      /network is not running/.test(error.message),
  );
  await networks.update(UUID, HOST, 0);
  assert.match(networks.xml(UUID, 0), /<host mac='52:54:00:00:00:02' ip='10\.9\.1\.2'\/>/);
  assert.deepEqual(calls, [], "nothing runs, nothing is reloaded");
  await store.close();
});

Deno.test("a live DHCP host: definitions recorded, then dnsmasq refreshed, then recorded done", async () => {
  const { runner, calls } = recordingRunner();
  const { store, networks, applied } = await opened(runner);
  await networks.start(UUID);
  applied.length = 0;
  await networks.update(UUID, HOST, 0);
  assert.deepEqual(applied.map((entry) => entry.fact.type), [
    "network.updated",
    "network.dnsmasq_reloading",
    "network.dnsmasq_reloaded",
  ]);
  assert.deepEqual(calls, ["refresh known hosts=1"]);
  assert.deepEqual(networks.byUuid(UUID).snapshot.context.dnsmasq, DNSMASQ);
  assert.match(networks.xml(UUID, 0), /52:54:00:00:00:02/);
  assert.doesNotMatch(networks.xml(UUID, 1), /52:54:00:00:00:02/, "not in the next start's");
  await networks.destroy(UUID);
  assert.doesNotMatch(networks.xml(UUID, 0), /52:54:00:00:00:02/, "gone with the run");
  await store.close();
});

Deno.test("a TXT record replaces dnsmasq; --config alone reloads nothing and lasts", async () => {
  const { runner, calls } = recordingRunner();
  const { store, networks } = await opened(runner);
  await networks.start(UUID);
  await networks.update(UUID, TXT, LIVE);
  assert.deepEqual(calls, ["restart known hosts=0"]);
  assert.deepEqual(networks.byUuid(UUID).snapshot.context.dnsmasq, NEW_DNSMASQ);
  await networks.update(UUID, HOST, CONFIG);
  assert.equal(calls.length, 1);
  assert.doesNotMatch(networks.xml(UUID, 0), /52:54:00:00:00:02/);
  assert.match(networks.xml(UUID, 1), /52:54:00:00:00:02/);
  await networks.destroy(UUID);
  assert.match(networks.xml(UUID, 0), /52:54:00:00:00:02/);
  assert.doesNotMatch(networks.xml(UUID, 0), /<txt/);
  await store.close();
});

Deno.test("a transient network refuses --config; a bad update records nothing", async () => {
  const { runner } = recordingRunner();
  const store = createMemoryStore({ factTypes: NETWORK_FACT_TYPES });
  const networks = await Networks.open({ store, ...noHost, runtime: runner });
  await networks.create(XML);
  const applied: AppliedNetworkFact[] = [];
  networks.subscribe((facts) => applied.push(...facts));
  await assert.rejects(
    networks.update(UUID, HOST, CONFIG),
    /cannot change persistent config of a transient network/,
  );
  await assert.rejects(
    networks.update(UUID, { ...HOST, command: 2, xml: "<host mac='52:54:00:00:00:09'/>" }, 0),
    /couldn't locate a matching dhcp host entry in network 'u'/,
  );
  assert.deepEqual(applied, []);
  await store.close();
});

Deno.test("a failed reload is recorded abandoned; a reload cut short is finished at open", async () => {
  const failing = recordingRunner({ failReload: true });
  const { store, networks, applied } = await opened(failing.runner);
  await networks.start(UUID);
  applied.length = 0;
  await assert.rejects(networks.update(UUID, TXT, LIVE), /dnsmasq did not start/);
  assert.deepEqual(applied.map((entry) => entry.fact.type), [
    "network.updated",
    "network.dnsmasq_reloading",
    "network.intent_abandoned",
  ]);
  assert.equal(networks.byUuid(UUID).snapshot.context.intent, null);

  // A crash between the intent and its outcome: the next open makes dnsmasq follow.
  const version = await store.streamVersion(networkStream(UUID));
  await store.append(networkStream(UUID), [{
    type: "network.dnsmasq_reloading",
    body: { mode: "refresh" },
  }], version);
  const again = recordingRunner();
  const logged: string[] = [];
  const reopened = await Networks.open({
    store,
    ...noHost,
    runtime: again.runner,
    log: (line) => logged.push(line),
  });
  assert.deepEqual(again.calls, ["refresh unknown hosts=0"]);
  assert.deepEqual(logged, ["network 'u': dnsmasq reload interrupted by a restart is finished"]);
  assert.equal(reopened.byUuid(UUID).snapshot.context.intent, null);
  await store.close();
});
