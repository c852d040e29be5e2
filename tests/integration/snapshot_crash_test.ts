/**
 * Snapshots cut short by a crash, on real QEMU. After the restart the log explains the domain
 * and the intent is settled:
 *
 * - an external snapshot with memory whose memory image is complete (a memory-only one: the
 *   image is all it writes) is recorded as its intent names it; one whose image is partial is
 *   undone (the image removed, nothing recorded); either way the guest the snapshot paused runs
 *   again, running (unpaused);
 * - a real SIGKILL of the service while an external snapshot with memory is written: the
 *   snapshot is recorded with the disk on its overlay, or undone with the memory image and
 *   overlay removed, and the guest runs;
 * - a real SIGKILL of the service in the middle of a revert (its old QEMU ended): the revert
 *   is done again, the guest runs from the snapshot, the snapshot is current, one QEMU.
 *
 * Every QEMU started is killed by pid in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Host } from "../../actors/host.ts";
import { QmpCommands } from "../../drivers/qemu/qmp_commands.ts";
import { QmpMonitor } from "../../drivers/qemu/qmp_monitor.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { encodeSaveHeader } from "../../src/storage/save_image.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  guestSkipReason,
  readSerialLog,
  waitForSerialMarker,
} from "../support/guest.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
import {
  removeServiceDirs,
  type ServiceDirs,
  serviceDirs,
  startServiceProcess,
} from "../support/service_process.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";
import { guestDefinition, killAll, processOf } from "./_qemu_guest.ts";
import { appendAsDeadService, openHost, stateText } from "./_crash_host.ts";

const skip = guestSkipReason() ?? missing("qemu-system-x86_64", "qemu-img", "virsh");

/** Longest the test waits for the moment to kill the service, in ms. */
const KILL_MOMENT_TIMEOUT_MS = 20_000;

/** The test guest on a fresh 8 MiB qcow2 disk. */
async function qcow2Guest(name: string, dir: string, serial: string): Promise<DomainDefinition> {
  const image = `${dir}/${name}.qcow2`;
  const made = await new Deno.Command("qemu-img", {
    args: ["create", "-f", "qcow2", image, "8M"],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(made.success, new TextDecoder().decode(made.stderr));
  const definition = guestDefinition(name, { serial: { file: serial } });
  definition.devices.serials[0].sources[0].append = "on";
  definition.devices.disks.push({
    type: "file",
    device: "disk",
    driver: { name: "qemu", type: "qcow2" },
    source: { file: image, hosts: [] },
    target: { dev: "vda", bus: "virtio" },
  });
  return definition;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, ready: () => boolean): Promise<void> {
  const deadline = Date.now() + KILL_MOMENT_TIMEOUT_MS;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen in time`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

testIf(
  "an external memory snapshot cut short: a complete image is recorded, a partial one undone; the guest runs again",
  skip,
  async () => {
    const dir = searchableTempDirSync("evirt-snapshot-crash-");
    const store = createMemoryStore();
    const started: { pid: number; startTimeTicks: number }[] = [];
    let host: Host | undefined = await openHost(dir, store);
    try {
      const names = ["partial", "complete"];
      const definitions = new Map<string, DomainDefinition>();
      for (const name of names) {
        const definition = guestDefinition(name, { serial: { file: `${dir}/${name}.log` } });
        definitions.set(name, definition);
        await host.define(definition);
        await host.start(name);
        started.push(processOf(host.context(name).runtime!));
      }
      const uuids = names.map((name) => host!.lookup(name).uuid);
      const sockets = names.map((name) => host!.context(name).runtime!.monitorSocket as string);
      await host.close();
      host = undefined;
      for (const [index, name] of names.entries()) {
        const memoryFile = `${dir}/${name}.mem`;
        const snapshot = {
          definition: {
            name: "m",
            state: "running" as const,
            creationTimeSeconds: 1,
            memory: "external" as const,
            memoryFile,
            disks: [],
            domain: definitions.get(name)!,
          },
        };
        await appendAsDeadService(store, uuids[index], [
          {
            type: "domain.snapshot_creating",
            body: {
              name: "m",
              internal: false,
              overlays: [],
              memoryFile,
              finish: { snapshot, metadata: true, overlays: [] },
            },
          },
          { type: "domain.suspended", body: { detail: "paused", reason: "snapshot" } },
        ]);
        const monitor = await QmpMonitor.connect(sockets[index]);
        try {
          await new QmpCommands(monitor).stop();
        } finally {
          await monitor.close();
        }
        const header = encodeSaveHeader(
          { xml: "<domain/>", wasRunning: true },
          name === "complete",
        );
        Deno.writeFileSync(memoryFile, new Uint8Array([...header, 1, 2, 3]));
      }

      host = await openHost(dir, store);
      assert.equal(stateText(host, "partial"), "running (unpaused)");
      assert.equal(exists(`${dir}/partial.mem`), false, "the partial image is removed");
      assert.deepEqual(host.context("partial").snapshots?.snapshots ?? {}, {});
      assert.equal(host.context("partial").intent ?? null, null);
      assert.equal(stateText(host, "complete"), "running (unpaused)");
      assert.equal(exists(`${dir}/complete.mem`), true);
      const tree = host.context("complete").snapshots!;
      assert.equal(tree.current, "m");
      assert.equal(tree.snapshots.m.definition.memoryFile, `${dir}/complete.mem`);
      assert.equal(host.context("complete").intent ?? null, null);
      // Both intents are settled: a second restart changes nothing.
      await host.close();
      host = await openHost(dir, store);
      assert.equal(stateText(host, "partial"), "running (unpaused)");
      assert.equal(host.context("complete").snapshots!.current, "m");
    } finally {
      await host?.close();
      await killAll(started);
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

/** Starts the service, defines and boots the qcow2 guest `name`; answers virsh on its socket. */
async function bootedService(dirs: ServiceDirs, name: string) {
  const base = dirs.stateDir.replace(/\/state$/, "");
  const serial = `${base}/serial.log`;
  const service = await startServiceProcess(dirs);
  await service.client.define({ definition: await qcow2Guest(name, base, serial) });
  await service.client.action(name, "start");
  await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
  return { service, base, serial };
}

function virshOn(dirs: ServiceDirs) {
  const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
  return (...args: string[]) => runVirsh(uri, args);
}

testIf(
  "SIGKILL of the service during an external memory snapshot: recorded with the disk on its overlay, or undone; the guest runs",
  skip,
  async () => {
    const dirs = await serviceDirs();
    let { service, base } = await bootedService(dirs, "ext");
    const virsh = virshOn(dirs);
    try {
      const memory = `${base}/ext.mem`;
      const overlay = `${base}/ext.top`;
      const taking = virsh(
        "snapshot-create-as",
        "ext",
        "whole",
        "--memspec",
        `file=${memory},snapshot=external`,
        "--diskspec",
        `vda,snapshot=external,file=${overlay}`,
      );
      // Kill while the memory image is being written.
      await waitFor("the memory image growing", () => {
        try {
          return Deno.statSync(memory).size > 100_000;
        } catch {
          return false;
        }
      });
      await service.stop("SIGKILL");
      await taking;
      service = await startServiceProcess(dirs);
      const state = await service.client.state("ext");
      assert.deepEqual([state.state, state.reason], [1, 5], "running (unpaused)");
      const list = await virsh("snapshot-list", "ext", "--name");
      const blocks = await virsh("domblklist", "ext");
      if (list.stdout.trim() === "whole") {
        assert.match(blocks.stdout, new RegExp(`vda\\s+${overlay}`));
        assert.equal(exists(memory), true);
      } else {
        assert.equal(list.stdout.trim(), "", list.stderr);
        assert.match(blocks.stdout, new RegExp(`vda\\s+${base}/ext.qcow2`));
        assert.equal(exists(memory), false, "the memory image is removed");
        assert.equal(exists(overlay), false, "the overlay is removed");
      }
    } finally {
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service.stop("SIGTERM").catch(() => {});
      await removeServiceDirs(dirs);
    }
  },
);

testIf(
  "SIGKILL of the service during a revert: the revert is done again, the guest runs from the snapshot",
  skip,
  async () => {
    const dirs = await serviceDirs();
    let { service, serial } = await bootedService(dirs, "rev");
    const virsh = virshOn(dirs);
    try {
      const taken = await virsh("snapshot-create-as", "rev", "up");
      assert.equal(taken.code, 0, taken.stderr);
      const [old] = serviceQemuPids(dirs.runtimeDir);
      const reverting = virsh("snapshot-revert", "rev", "up");
      // Kill once the old QEMU is gone: the revert has ended it, the new one is not recorded.
      await waitFor("the old QEMU ending", () => !serviceQemuPids(dirs.runtimeDir).includes(old));
      await service.stop("SIGKILL");
      await reverting;
      service = await startServiceProcess(dirs);
      const state = await service.client.state("rev");
      assert.deepEqual([state.state, state.reason], [1, 4], "running (from snapshot)");
      const current = await virsh("snapshot-current", "rev", "--name");
      assert.equal(current.stdout.trim(), "up", current.stderr);
      assert.equal(serviceQemuPids(dirs.runtimeDir).length, 1, "one QEMU");
      assert.match(service.log(), /interrupted revert to up again/);
      // The guest is the snapshot's: it never booted a second time.
      const boots = readSerialLog(serial).split("\n").filter((line) =>
        line.trim() === GUEST_READY_MARKER
      );
      assert.equal(boots.length, 1);
    } finally {
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service.stop("SIGTERM").catch(() => {});
      await removeServiceDirs(dirs);
    }
  },
);
