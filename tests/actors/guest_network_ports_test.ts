/**
 * Guests' network ports through the host: a starting guest's `<interface type='network'>` gets
 * its port before anything of the guest is recorded or made (intent before action), the live
 * definition names it, and the port goes when the guest is destroyed or its launch fails; a
 * restarted host reconciles the ports it finds with the guests. The test driver stands in for a
 * driver that puts interfaces on bridges.
 */

import assert from "node:assert/strict";
import { Host } from "../../actors/host.ts";
import type { NetworkPortBinder } from "../../actors/network_interfaces.ts";
import { TestDriver } from "../../drivers/test/test_driver.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { NetworkPort } from "../../src/model/network_port.ts";
import type { LaunchRequest } from "../../actors/driver_protocol.ts";
import { emptyDevices } from "../../src/model/domain.ts";
import { testDefinition } from "../support/domains.ts";

/** The test driver as a driver whose interfaces join bridges (as QEMU's and LXC's do). */
class BridgingTestDriver extends TestDriver {
  readonly bridgesInterfaces = true;
  failLaunch = false;
  override launch(request: LaunchRequest, signal: AbortSignal) {
    if (this.failLaunch) {
      return Promise.reject(new VirtError(ErrorCode.INTERNAL_ERROR, "tap refused"));
    }
    return super.launch(request, signal);
  }
}

/** Ports in memory; `seen` tells what the domain's log held when each port was created. */
function binderFor(host: () => Host | undefined) {
  const ports: { network: string; port: NetworkPort }[] = [];
  const seen: string[] = [];
  const binder: NetworkPortBinder = {
    create(network, port, reclaim) {
      const owner = host()?.context(port.ownerUuid);
      seen.push(
        `${owner?.intent?.kind ?? "no intent"}, live ${owner?.live === null ? "no" : "yes"}`,
      );
      const allocated = reclaim
        ? port
        : { ...port, plug: { type: "network" as const, bridge: "br0" } };
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
  return { binder, ports, seen };
}

function guest() {
  const devices = emptyDevices();
  devices.interfaces.push({
    type: "network",
    mac: "52:54:00:00:07:01",
    source: { network: "default" },
  });
  return testDefinition("ported", { devices });
}

Deno.test("a guest's port is made before its launch is recorded, named live, and gone at destroy", async () => {
  const driver = new BridgingTestDriver();
  const opened: { host?: Host } = {};
  const { binder, ports, seen } = binderFor(() => opened.host);
  const host = await Host.open({ store: createMemoryStore(), drivers: [driver], log: () => {} });
  opened.host = host;
  host.setNetworkResolver(() => ({ bridge: "br0" }));
  host.setNetworkPorts(binder);
  const { uuid } = await host.define(guest());
  await host.start(uuid);
  assert.deepEqual(seen, ["no intent, live no"], "nothing of the guest recorded before its port");
  assert.equal(ports.length, 1);
  const live = host.context(uuid).live!;
  assert.equal(live.devices.interfaces[0].source?.portid, ports[0].port.uuid);
  assert.equal(ports[0].port.ownerUuid, uuid);
  await host.destroy(uuid);
  await host.idle();
  assert.deepEqual(ports, []);
  await host.close();
});

Deno.test("a launch that fails takes its port with it", async () => {
  const driver = new BridgingTestDriver();
  driver.failLaunch = true;
  const { binder, ports } = binderFor(() => undefined);
  const host = await Host.open({ store: createMemoryStore(), drivers: [driver], log: () => {} });
  host.setNetworkResolver(() => ({ bridge: "br0" }));
  host.setNetworkPorts(binder);
  const { uuid } = await host.define(guest());
  await assert.rejects(host.start(uuid), /tap refused/);
  await host.idle();
  assert.deepEqual(ports, []);
  await host.close();
});

Deno.test("a restarted host deletes the port of a guest that no longer runs and keeps a running one's", async () => {
  const store = createMemoryStore();
  const driver = new BridgingTestDriver();
  const { binder, ports } = binderFor(() => undefined);
  const first = await Host.open({ store, drivers: [driver], log: () => {} });
  first.setNetworkResolver(() => ({ bridge: "br0" }));
  first.setNetworkPorts(binder);
  const { uuid } = await first.define(guest());
  await first.start(uuid);
  const kept = ports[0].port.uuid;
  // A port a start left behind when it died before its launch was recorded.
  const other = await first.define({ ...guest(), name: "other", uuid: crypto.randomUUID() });
  ports.push({
    network: "default",
    port: {
      uuid: crypto.randomUUID(),
      ownerName: "other",
      ownerUuid: other.uuid,
      mac: "52:54:00:00:07:02",
      plug: { type: "network", bridge: "br0" },
    },
  });
  await first.close();
  const lines: string[] = [];
  const second = await Host.open({ store, drivers: [driver], log: (line) => lines.push(line) });
  second.setNetworkPorts(binder);
  await second.reconcileNetworkPorts();
  assert.deepEqual(ports.map(({ port }) => port.uuid), [kept]);
  assert.ok(
    lines.some((line) => /of a guest that no longer runs deleted/.test(line)),
    lines.join("\n"),
  );
  await second.close();
});
