/**
 * Save and restore of the real test guest through the host actor: the guest writes to its disk
 * and boots once; saved (SUSPENDED/paused, STOPPED/saved, shut off (saved)), restored
 * (STARTED/restored, running (restored)), it carries on from where it was — its ACPI handler
 * still answers a power-down and the boot marker stays single in the serial log, which QEMU
 * appends to across both instances. Bad input changes nothing. Every QEMU is killed in `finally`.
 */

import assert from "node:assert/strict";
import type { Disk, DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import { readSaveHeader, SAVE_HEADER_BYTES } from "../../src/storage/save_image.ts";
import { loggedEvents } from "../support/domains.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_POWERDOWN_MARKER,
  GUEST_READY_MARKER,
  guestKernelCmdline,
  guestSkipReason,
  guestWriteDoneMarker,
  readSerialLog,
  waitForSerialMarker,
} from "../support/guest.ts";
import { guestDefinition, killAll, openQemuRig, processOf, type QemuRig } from "./_qemu_guest.ts";
import { Host } from "../../actors/host.ts";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { reasonName, stateName } from "../../src/model/lifecycle.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";

/** Bound on a state change the guest brings about, in milliseconds. */
const STATE_TIMEOUT_MS = 15_000;

const skip = guestSkipReason() ?? missing("qemu-system-x86_64");

const WRITE = { device: "vda", offsetMib: 1, lengthMib: 2 };

/** The guest with an appended serial log and a raw disk it writes to at boot. */
function savedGuest(name: string, serial: string, diskPath: string): DomainDefinition {
  const definition = guestDefinition(name, { serial: { file: serial } });
  definition.devices.serials[0].sources[0].append = "on";
  const disk: Disk = {
    type: "file",
    device: "disk",
    driver: { name: "qemu", type: "raw" },
    source: { file: diskPath, hosts: [] },
    target: { dev: "vda", bus: "virtio" },
  };
  definition.devices.disks.push(disk);
  definition.os.cmdline = guestKernelCmdline([WRITE]);
  return definition;
}

function count(text: string, marker: string): number {
  return text.split("\n").filter((line) => line.trim() === marker).length;
}

async function waitInactive(rig: QemuRig, name: string): Promise<void> {
  await rig.host.waitFor(name, (summary) => !summary.active, STATE_TIMEOUT_MS);
}

testIf(
  "save and restore: the guest continues where it was (one boot), libvirt's states and events",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const serial = `${rig.dir}/serial.log`;
      const diskPath = `${rig.dir}/disk.raw`;
      const imagePath = `${rig.dir}/guest.save`;
      Deno.writeFileSync(diskPath, new Uint8Array(0));
      Deno.truncateSync(diskPath, 8 * 1024 * 1024);
      const definition = savedGuest("saved", serial, diskPath);
      await rig.host.define(definition);
      await rig.host.start("saved");
      await waitForSerialMarker(serial, guestWriteDoneMarker(WRITE), {
        timeoutMs: GUEST_BOOT_TIMEOUT_MS,
      });
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
      const before = rig.store.headPosition();

      await rig.host.command("save", "saved", { path: imagePath });
      assert.equal(rig.stateText("saved"), "shut off (saved)");
      assert.deepEqual(await loggedEvents(rig.store, before), [
        "Suspended Paused",
        "Stopped Saved",
      ]);
      const header = await readSaveHeader(imagePath);
      assert.equal(header.complete, true);
      assert.equal(header.wasRunning, true);
      assert.match(header.xml, /<name>saved<\/name>/);
      assert.ok(Deno.statSync(imagePath).size > header.streamOffset + 1024 * 1024);

      const restoredAt = rig.store.headPosition();
      await rig.host.restore(imagePath);
      assert.equal(rig.stateText("saved"), "running (restored)");
      assert.deepEqual(await loggedEvents(rig.store, restoredAt), ["Started Restored"]);
      // The guest carries on: its ACPI handler (set up at boot) answers; no second boot.
      await rig.host.shutdown("saved");
      await waitForSerialMarker(serial, GUEST_POWERDOWN_MARKER, { timeoutMs: STATE_TIMEOUT_MS });
      await waitInactive(rig, "saved");
      const log = readSerialLog(serial);
      assert.equal(count(log, GUEST_READY_MARKER), 1, "one boot across save and restore");
      assert.equal(count(log, guestWriteDoneMarker(WRITE)), 1, "the boot-time write ran once");
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "save and restore: bad input gets libvirt's errors and changes nothing",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const serial = `${rig.dir}/serial.log`;
      const diskPath = `${rig.dir}/disk.raw`;
      Deno.writeFileSync(diskPath, new Uint8Array(1024 * 1024));
      await rig.host.define(savedGuest("bad", serial, diskPath));
      // Not running: code 55.
      await assert.rejects(
        () => rig.host.command("save", "bad", { path: `${rig.dir}/x.save` }),
        (error) => isVirtError(error, ErrorCode.OPERATION_INVALID),
      );
      await rig.host.start("bad");
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
      const before = rig.store.headPosition();
      // An unwritable path: code 38, the guest runs on, no file left.
      const unwritable = `${rig.dir}/missing-folder/x.save`;
      await assert.rejects(
        () => rig.host.command("save", "bad", { path: unwritable }),
        (error) =>
          isVirtError(error, ErrorCode.SYSTEM_ERROR) &&
          error.message === `Failed to create file '${unwritable}': No such file or directory`,
      );
      assert.equal(rig.stateText("bad"), "running (save canceled)");
      // A paused guest saved: restored paused, and the save did not change its own state first.
      const imagePath = `${rig.dir}/bad.save`;
      await rig.host.command("save", "bad", { path: imagePath, paused: true });
      assert.equal(rig.stateText("bad"), "shut off (saved)");
      assert.equal((await readSaveHeader(imagePath)).wasRunning, false);

      // A foreign file, a truncated header, a truncated stream: code 9, nothing started.
      const foreign = `${rig.dir}/foreign.save`;
      Deno.writeFileSync(foreign, new TextEncoder().encode("x".repeat(200)));
      await assert.rejects(
        () => rig.host.restore(foreign),
        (error) =>
          isVirtError(error, ErrorCode.OPERATION_FAILED) &&
          error.message === "image magic is incorrect",
      );
      const short = `${rig.dir}/short.save`;
      Deno.writeFileSync(short, Deno.readFileSync(imagePath).subarray(0, SAVE_HEADER_BYTES - 1));
      await assert.rejects(
        () => rig.host.restore(short),
        (error) =>
          isVirtError(error, ErrorCode.OPERATION_FAILED) &&
          error.message === "failed to read qemu header",
      );
      assert.equal(rig.stateText("bad"), "shut off (saved)");
      const cut = `${rig.dir}/cut.save`;
      const header = await readSaveHeader(imagePath);
      Deno.writeFileSync(cut, Deno.readFileSync(imagePath).subarray(0, header.streamOffset + 4096));
      const cutAt = rig.store.headPosition();
      await assert.rejects(
        () => rig.host.restore(cut),
        (error) => isVirtError(error, ErrorCode.OPERATION_FAILED),
      );
      assert.equal(rig.stateText("bad"), "shut off (failed)");
      assert.deepEqual(await loggedEvents(rig.store, cutAt), ["Stopped Failed"]);

      // The complete image restores paused (it was saved paused): SUSPENDED/restored.
      const restoredAt = rig.store.headPosition();
      await rig.host.restore(imagePath);
      assert.equal(rig.stateText("bad"), "paused (migrating)");
      assert.deepEqual(await loggedEvents(rig.store, restoredAt), [
        "Started Restored",
        "Suspended Restored",
      ]);
      assert.ok(before > 0);
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "managed save: kept across a service restart, the next start restores it (one boot); force-boot discards it",
  skip,
  async () => {
    const dir = searchableTempDirSync("evirt-managed-save-");
    const store = createMemoryStore();
    const started: { pid: number; startTimeTicks: number }[] = [];
    const open = async () => {
      const driver = await QemuDriver.create({
        runtimeDir: `${dir}/run`,
        logDir: `${dir}/log`,
        log: () => {},
      });
      const opened = await Host.open({
        store,
        drivers: [driver],
        log: () => {},
        managedSaveDir: `${dir}/save`,
      });
      // Every QEMU launched is killed in `finally`, even one whose start then failed.
      opened.onApplied((_uuid, applied) => {
        for (const { fact } of applied) {
          if (fact.type === "domain.launched") started.push(processOf(fact.body.runtime));
        }
      });
      return opened;
    };
    let host: Host | undefined = await open();
    try {
      const serial = `${dir}/serial.log`;
      const diskPath = `${dir}/disk.raw`;
      Deno.writeFileSync(diskPath, new Uint8Array(0));
      Deno.truncateSync(diskPath, 8 * 1024 * 1024);
      await host.define(savedGuest("kept", serial, diskPath));
      await host.start("kept");
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
      await host.command("managedsave", "kept", {});
      const image = `${dir}/save/kept.save`;
      assert.equal((await readSaveHeader(image)).complete, true);
      assert.equal(host.lookup("kept").managedSave, true);
      assert.deepEqual(host.list({ managedSave: true }).map((domain) => domain.name), ["kept"]);
      await assert.rejects(
        () => host!.undefine("kept"),
        (error) =>
          isVirtError(error, ErrorCode.OPERATION_INVALID) &&
          error.message === "Refusing to undefine while domain managed save image exists",
      );

      await host.close();
      host = await open();
      assert.equal(host.lookup("kept").managedSave, true, "kept across a restart");
      const before = store.headPosition();
      await host.start("kept");
      assert.equal(stateText(host, "kept"), "running (restored)");
      assert.deepEqual(await loggedEvents(store, before), ["Started Restored"]);
      assert.equal(host.lookup("kept").managedSave, false);
      assert.throws(() => Deno.statSync(image), Deno.errors.NotFound, "the image is removed");

      // Saved again and started with force-boot: the image is discarded and the guest boots.
      await host.command("managedsave", "kept", {});
      await host.command("start", "kept", { forceBoot: true });
      assert.equal(stateText(host, "kept"), "running (booted)");
      assert.throws(() => Deno.statSync(image), Deno.errors.NotFound);
      await waitForSerialMarker(serial, GUEST_READY_MARKER, {
        timeoutMs: GUEST_BOOT_TIMEOUT_MS,
        count: 2,
      });
      const log = readSerialLog(serial);
      assert.equal(count(log, GUEST_READY_MARKER), 2, "one boot, restored, then one forced boot");
    } finally {
      await host?.close();
      await killAll(started);
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

function stateText(host: Host, name: string): string {
  const summary = host.lookup(name);
  return `${stateName(summary.state)} (${reasonName(summary.state, summary.reason)})`;
}
