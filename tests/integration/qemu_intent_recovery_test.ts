/**
 * Intents recovered on real QEMU: a service dies between recording a reboot and the guest's
 * shutdown that starts it — the restarted service finishes the reboot (reset, run: one REBOOT)
 * instead of applying `on_poweroff` to a guest that shut down; and one that dies after recording
 * a destroy records the guest `destroyed` (not `crashed`) whether or not QEMU was already gone.
 * Every QEMU started is killed by pid in `finally`.
 */

import assert from "node:assert/strict";
import { Host } from "../../actors/host.ts";
import { isProcessGone } from "../../src/host/process_state.ts";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { QmpCommands } from "../../drivers/qemu/qmp_commands.ts";
import { QmpMonitor } from "../../drivers/qemu/qmp_monitor.ts";
import type { EventStore } from "../../src/log/event_store.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { type DomainFact, domainStream } from "../../src/model/facts.ts";
import { reasonName, stateName } from "../../src/model/lifecycle.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  guestSkipReason,
  waitForSerialMarker,
} from "../support/guest.ts";
import { guestDefinition, killAll, processOf } from "./_qemu_guest.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";

/** Bound on QEMU reaching a run state, in ms. */
const STATUS_TIMEOUT_MS = 15_000;

const skip = guestSkipReason() ?? missing("qemu-system-x86_64", "flock");

async function openHost(dir: string, store: EventStore): Promise<Host> {
  const driver = await QemuDriver.create({
    runtimeDir: `${dir}/run`,
    logDir: `${dir}/log`,
    log: () => {},
  });
  return await Host.open({ store, drivers: [driver], log: () => {} });
}

function stateText(host: Host, name: string): string {
  const summary = host.lookup(name);
  return `${stateName(summary.state)} (${reasonName(summary.state, summary.reason)})`;
}

/** Appends `fact` to the domain's stream as the dead service would have. */
async function appendAsDeadService(store: EventStore, uuid: string, fact: DomainFact) {
  const facts = await store.readAll({ afterPosition: 0 });
  const version = facts.filter((each) => each.stream === domainStream(uuid)).length;
  await store.append(domainStream(uuid), [{ type: fact.type, body: fact.body as never }], version);
}

/** Talks to the QEMU directly (the service is gone) and waits for `status`. */
async function withMonitor(
  socket: string,
  body: (qmp: QmpCommands) => Promise<void>,
): Promise<void> {
  const monitor = await QmpMonitor.connect(socket);
  try {
    await body(new QmpCommands(monitor));
  } finally {
    await monitor.close();
  }
}

async function untilStatus(qmp: QmpCommands, status: string): Promise<void> {
  const deadline = performance.now() + STATUS_TIMEOUT_MS;
  while ((await qmp.queryStatus()).status !== status) {
    assert.ok(performance.now() < deadline, `QEMU never reached '${status}'`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

testIf(
  "a reboot cut short by a crash is finished after the restart, not taken for a shutdown",
  skip,
  async () => {
    const dir = searchableTempDirSync("evirt-intent-it-");
    const store = createMemoryStore();
    const started: { pid: number; startTimeTicks: number }[] = [];
    let host: Host | undefined = await openHost(dir, store);
    try {
      const serial = `${dir}/serial.log`;
      const definition = guestDefinition("rebooted", { serial: { file: serial } });
      await host.define(definition);
      await host.start("rebooted");
      const runtime = host.context("rebooted").runtime!;
      started.push(processOf(runtime));
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
      await host.close();
      host = undefined;
      // The dead service had recorded the reboot and sent the power-down; the guest shut down.
      await appendAsDeadService(store, definition.uuid!, { type: "domain.rebooting", body: {} });
      await withMonitor(runtime.monitorSocket as string, async (qmp) => {
        await qmp.systemPowerdown();
        await untilStatus(qmp, "shutdown");
      });

      host = await openHost(dir, store);
      assert.equal(stateText(host, "rebooted"), "running (booted)");
      const types = (await store.readAll({ afterPosition: 0 })).map((fact) => fact.type);
      assert.equal(types.at(-1), "domain.rebooted");
      assert.equal(host.context("rebooted").intent, null);
      // The same QEMU runs the guest again: it boots a second time.
      assert.equal(isProcessGone(started[0].pid, started[0].startTimeTicks), false);
      await waitForSerialMarker(serial, GUEST_READY_MARKER, {
        timeoutMs: GUEST_BOOT_TIMEOUT_MS,
        count: 2,
      });
      await host.destroy("rebooted");
    } finally {
      await host?.close();
      await killAll(started);
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

testIf(
  "a destroy cut short by a crash is recorded destroyed, whether QEMU died or not",
  skip,
  async () => {
    const dir = searchableTempDirSync("evirt-intent-it-");
    const store = createMemoryStore();
    const started: { pid: number; startTimeTicks: number }[] = [];
    let host: Host | undefined = await openHost(dir, store);
    try {
      for (const name of ["killed", "alive"]) {
        await host.define(guestDefinition(name, { serial: { file: `${dir}/${name}.log` } }));
        await host.start(name);
        const runtime = host.context(name).runtime!;
        started.push(processOf(runtime));
      }
      const uuids = ["killed", "alive"].map((name) => host!.lookup(name).uuid);
      await host.close();
      host = undefined;
      // Both destroys were recorded; one QEMU got its signal, the other did not yet.
      for (const uuid of uuids) {
        await appendAsDeadService(store, uuid, {
          type: "domain.ending",
          body: { detail: "destroyed", reason: "destroyed", graceful: false },
        });
      }
      Deno.kill(started[0].pid, "SIGKILL");

      host = await openHost(dir, store);
      assert.equal(stateText(host, "killed"), "shut off (destroyed)");
      assert.equal(stateText(host, "alive"), "shut off (destroyed)");
      assert.equal(isProcessGone(started[1].pid, started[1].startTimeTicks), true);
    } finally {
      await host?.close();
      await killAll(started);
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
