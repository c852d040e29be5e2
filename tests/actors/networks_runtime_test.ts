/**
 * The bookkeeping around a network's start and stop, with a runner that records what it is
 * asked (the runtime itself runs for real in `tests/drivers/network/`): intent before action,
 * a failed start recorded abandoned (a transient network forgotten), and what a restart does
 * with a pending intent or a running network.
 */

import assert from "node:assert/strict";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { NetworkDefinition } from "../../src/model/network.ts";
import { NETWORK_FACT_TYPES, networkStream } from "../../src/model/network_facts.ts";
import { type AppliedNetworkFact, type NetworkRunner, Networks } from "../../actors/networks.ts";
import type { NetworkRuntimeState } from "../../drivers/network/network_runtime.ts";

const UUID_A = "81ff0d90-c91e-6742-64da-4a736edb9a9b";
const UUID_B = "81ff0d90-c91e-6742-64da-4a736edb9a9c";
const DNSMASQ = { pid: 4242, startTimeTicks: 777 };

function networkXml(name: string, uuid: string): string {
  return `<network><name>${name}</name><uuid>${uuid}</uuid><bridge name='br-${name}'/>` +
    `<ip address='10.9.${name.charCodeAt(0) % 200}.1' prefix='24'/></network>`;
}

/** A runner that records its calls; `failStart` makes a start throw as the runtime does. */
function recordingRunner(options: { failStart?: boolean; intact?: boolean } = {}) {
  const calls: string[] = [];
  const runner: NetworkRunner = {
    start(definition: NetworkDefinition): Promise<NetworkRuntimeState> {
      calls.push(`start ${definition.bridge.name}`);
      if (options.failStart) {
        return Promise.reject(
          new VirtError(ErrorCode.SYSTEM_ERROR, `error creating bridge interface x: File exists`),
        );
      }
      return Promise.resolve({ dnsmasq: DNSMASQ });
    },
    stop(definition: NetworkDefinition, state: NetworkRuntimeState): Promise<void> {
      calls.push(`stop ${definition.bridge.name} ${JSON.stringify(state)}`);
      return Promise.resolve();
    },
    check(definition: NetworkDefinition, state: NetworkRuntimeState) {
      calls.push(`check ${definition.bridge.name} ${JSON.stringify(state)}`);
      return options.intact === false
        ? { intact: false, problems: ["bridge 'br-a' is gone"] }
        : { intact: true, problems: [] };
    },
  };
  return { runner, calls };
}

const noHost = { hostLinkExists: () => false, routeTable: () => "" };

Deno.test("a start records its intent, then the network started with dnsmasq's identity", async () => {
  const store = createMemoryStore({ factTypes: NETWORK_FACT_TYPES });
  const { runner, calls } = recordingRunner();
  const networks = await Networks.open({ store, ...noHost, runtime: runner });
  const applied: AppliedNetworkFact[] = [];
  networks.subscribe((facts) => applied.push(...facts));
  await networks.define(networkXml("a", UUID_A));
  await networks.start(UUID_A);
  assert.ok(networks.summary(networks.byUuid(UUID_A)).active);
  assert.deepEqual(networks.byUuid(UUID_A).snapshot.context.dnsmasq, DNSMASQ);
  await networks.destroy(UUID_A);
  assert.ok(!networks.summary(networks.byUuid(UUID_A)).active);
  assert.deepEqual(applied.map((entry) => entry.fact.type), [
    "network.defined",
    "network.starting",
    "network.started",
    "network.stopping",
    "network.stopped",
  ]);
  assert.deepEqual(applied[2].fact.body, { dnsmasq: DNSMASQ });
  assert.deepEqual(calls, ["start br-a", `stop br-a {"dnsmasq":${JSON.stringify(DNSMASQ)}}`]);
  await store.close();
});

Deno.test("a failed start is recorded abandoned; a failed net-create leaves no network", async () => {
  const store = createMemoryStore({ factTypes: NETWORK_FACT_TYPES });
  const { runner } = recordingRunner({ failStart: true });
  const networks = await Networks.open({ store, ...noHost, runtime: runner });
  const applied: AppliedNetworkFact[] = [];
  networks.subscribe((facts) => applied.push(...facts));
  await networks.define(networkXml("a", UUID_A));
  await assert.rejects(networks.start(UUID_A), /File exists/);
  assert.ok(!networks.summary(networks.byUuid(UUID_A)).active);
  assert.equal(networks.byUuid(UUID_A).snapshot.context.intent, null);
  await assert.rejects(networks.create(networkXml("b", UUID_B)), /File exists/);
  assert.deepEqual(networks.list().map((net) => net.name), ["a"]);
  assert.deepEqual(applied.map((entry) => entry.fact.type), [
    "network.defined",
    "network.starting",
    "network.intent_abandoned",
    "network.defined",
    "network.starting",
    "network.intent_abandoned",
    "network.undefined",
  ]);
  await store.close();
});

Deno.test("a restart undoes a pending start, finishes a pending stop, checks running networks", async () => {
  const store = createMemoryStore({ factTypes: NETWORK_FACT_TYPES });
  const first = recordingRunner();
  const live = await Networks.open({ store, ...noHost, runtime: first.runner });
  await live.define(networkXml("a", UUID_A));
  await live.define(networkXml("b", UUID_B));
  await live.start(UUID_A);
  await live.start(UUID_B);
  // Crashes: b between its stop's intent and outcome.
  await store.append(networkStream(UUID_B), [{
    type: "network.stopping",
    body: { bridge: "br-b" },
  }], 3);
  const again = recordingRunner({ intact: false });
  const logged: string[] = [];
  const replayed = await Networks.open({
    store,
    ...noHost,
    runtime: again.runner,
    log: (line) => logged.push(line),
  });
  assert.deepEqual(again.calls, [
    `check br-a {"dnsmasq":${JSON.stringify(DNSMASQ)}}`,
    `stop br-b {"dnsmasq":${JSON.stringify(DNSMASQ)}}`,
  ]);
  assert.deepEqual(logged, [
    "network 'a' runs incomplete: bridge 'br-a' is gone",
    "network 'b': stop interrupted by a restart is finished",
  ]);
  assert.ok(replayed.summary(replayed.byUuid(UUID_A)).active);
  assert.ok(!replayed.summary(replayed.byUuid(UUID_B)).active);

  // A start cut short: undone (whatever exists is removed) and abandoned.
  await store.append(networkStream(UUID_B), [{
    type: "network.starting",
    body: { bridge: "br-b" },
  }], 5);
  const third = recordingRunner();
  const afterStart = await Networks.open({ store, ...noHost, runtime: third.runner });
  assert.deepEqual(third.calls, [
    `check br-a {"dnsmasq":${JSON.stringify(DNSMASQ)}}`,
    "stop br-b {}",
  ]);
  assert.ok(!afterStart.summary(afterStart.byUuid(UUID_B)).active);
  assert.equal(afterStart.byUuid(UUID_B).snapshot.context.intent, null);
  await store.close();
});

Deno.test("a guest joins the bridge of a running network; libvirt's errors otherwise", async () => {
  const store = createMemoryStore({ factTypes: NETWORK_FACT_TYPES });
  const { runner } = recordingRunner();
  const networks = await Networks.open({ store, ...noHost, runtime: runner });
  await networks.define(networkXml("a", UUID_A));
  assert.throws(() => networks.guestBridge("nosuch"), {
    code: ErrorCode.NO_NETWORK,
    message: "no network with matching name 'nosuch'",
  });
  assert.throws(() => networks.guestBridge("a"), {
    code: ErrorCode.OPERATION_INVALID,
    message: "network 'a' is not active",
  });
  await networks.start(UUID_A);
  assert.equal(networks.guestBridge("a"), "br-a");
  await networks.destroy(UUID_A);
  await store.close();
});
