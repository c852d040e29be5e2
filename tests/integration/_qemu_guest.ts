/**
 * The test guest as an evirt domain on the QEMU driver, and a host rig around it: temporary
 * runtime, log and state folders, a {@linkcode QemuDriver}, a {@linkcode Host}, and a teardown
 * that ends every QEMU process the rig started (by pid, whatever state the test left).
 *
 * @module
 */

import { Host } from "../../actors/host.ts";
import { giveBack, givenByRecord } from "../../drivers/qemu/dac_labelling.ts";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { isProcessGone, readProcessStat, waitForExit } from "../../src/host/process_state.ts";
import type { EventStore } from "../../src/log/event_store.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { type DomainDefinition, emptyDevices } from "../../src/model/domain.ts";
import type { RuntimeRecord } from "../../src/model/facts.ts";
import { reasonName, stateName } from "../../src/model/lifecycle.ts";
import { guestInitrdPath, guestKernelCmdline, guestKernelPath } from "../support/guest.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";

/** How long a QEMU process may take to exit after SIGKILL during teardown, in milliseconds. */
const TEARDOWN_EXIT_TIMEOUT_MS = 5_000;

let counter = 0;

/**
 * The test guest as a domain: direct kernel boot, ACPI (so `system_powerdown` reaches it), its
 * serial console in `serialPath` (file) or on a pty.
 */
export function guestDefinition(
  name: string,
  options: { serial: { file: string } | "pty"; onPoweroff?: string; onReboot?: string },
): DomainDefinition {
  counter++;
  const devices = emptyDevices();
  devices.serials.push(
    options.serial === "pty"
      ? { type: "pty", sources: [] }
      : { type: "file", sources: [{ path: options.serial.file }] },
  );
  devices.memballoon = { model: "none" };
  return {
    type: "qemu",
    name,
    uuid: `00000000-0000-4000-9000-${(Date.now() % 1e9).toString(16).padStart(8, "0")}${
      counter.toString(16).padStart(4, "0")
    }`,
    memoryKiB: 128 * 1024,
    vcpus: 1,
    features: { acpi: {} },
    os: {
      type: "hvm",
      machine: "q35",
      kernel: guestKernelPath(),
      initrd: guestInitrdPath,
      cmdline: guestKernelCmdline(),
      boot: [],
    },
    onPoweroff: options.onPoweroff ?? "destroy",
    onReboot: options.onReboot ?? "restart",
    onCrash: "destroy",
    devices,
  };
}

/** A host on the QEMU driver in temporary folders. */
export interface QemuRig {
  dir: string;
  driver: QemuDriver;
  host: Host;
  store: EventStore;
  /** `state (reason)` as virsh prints it. */
  stateText(name: string): string;
  /** The recorded QEMU pid of a running domain. */
  pid(name: string): number;
  /** Ends every QEMU the rig's domains ran, closes the host, removes the folders. */
  close(): Promise<void>;
}

/** Opens a rig; `close()` it in `finally`. */
export async function openQemuRig(): Promise<QemuRig> {
  // Searchable by the QEMU user (it runs unprivileged): its runtime folder is inside.
  const dir = searchableTempDirSync("evirt-qemu-it-");
  const driver = await QemuDriver.create({
    runtimeDir: `${dir}/run`,
    logDir: `${dir}/log`,
    log: () => {},
  });
  const store = createMemoryStore();
  const host = await Host.open({
    store,
    drivers: [driver],
    log: () => {},
    managedSaveDir: `${dir}/save`,
  });
  const started = new Set<StartedQemu>();
  recordLaunches(host, started);
  return {
    dir,
    driver,
    host,
    store,
    stateText(name) {
      const summary = host.lookup(name);
      return `${stateName(summary.state)} (${reasonName(summary.state, summary.reason)})`;
    },
    pid(name) {
      const pid = host.context(name).runtime?.pid;
      if (typeof pid !== "number") throw new Error(`${name} has no recorded pid`);
      return pid;
    },
    async close() {
      try {
        await host.close();
      } finally {
        await killAll(started);
        Deno.removeSync(dir, { recursive: true });
      }
    },
  };
}

/** The QEMU process a runtime record names, as {@linkcode killAll} takes it; throws if it names none. */
export function processOf(runtime: RuntimeRecord): { pid: number; startTimeTicks: number } {
  const { pid, startTimeTicks } = runtime;
  if (typeof pid !== "number" || typeof startTimeTicks !== "number") {
    throw new Error(`the runtime record names no process: ${JSON.stringify(runtime)}`);
  }
  return { pid, startTimeTicks };
}

/** A QEMU a test started; with `given`, what its domain's start gave it (files, sockets). */
export interface StartedQemu {
  pid: number;
  startTimeTicks: number;
  given?: { uuid: string; runtime: RuntimeRecord };
}

/**
 * Adds to `started` every QEMU `host` launches from now on, with what its start gave it, for
 * {@linkcode killAll} in a test's `finally`.
 */
export function recordLaunches(host: Host, started: Set<StartedQemu>): void {
  host.onApplied((uuid, applied) => {
    for (const { fact } of applied) {
      if (fact.type !== "domain.launched") continue;
      const { pid, startTimeTicks } = fact.body.runtime;
      if (typeof pid === "number" && typeof startTimeTicks === "number") {
        started.add({ pid, startTimeTicks, given: { uuid, runtime: fact.body.runtime } });
      }
    }
  });
}

/**
 * Sends SIGKILL to each recorded QEMU that still exists and waits for it to be gone; then gives
 * back what its start gave it (no service is left to do it, as recovery would).
 */
export async function killAll(processes: Iterable<StartedQemu>): Promise<void> {
  for (const { pid, startTimeTicks, given } of processes) {
    if (
      !isProcessGone(pid, startTimeTicks) && readProcessStat(pid)?.startTimeTicks === startTimeTicks
    ) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // It exited in between.
      }
      await waitForExit(pid, { startTimeTicks, timeoutMs: TEARDOWN_EXIT_TIMEOUT_MS });
    }
    if (given !== undefined) giveBack(givenByRecord(given.runtime), given.uuid, () => {});
  }
}
