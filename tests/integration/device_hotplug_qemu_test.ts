/**
 * Devices of a running real QEMU guest (i440fx, so its kernel acknowledges PCI unplug through
 * ACPI hotplug): a disk attached live appears in QEMU (`query-block`) and in the guest (its
 * `evirt.write=` hook writes to `/dev/vdb` once the device exists), is detached with the guest's
 * acknowledgement (QEMU's DEVICE_DELETED recorded as `domain.device_removed` after the intent),
 * a cdrom's medium is inserted and ejected, and bad requests (a target in use, a missing disk,
 * a missing cdrom) answer libvirt's codes and append nothing. Every QEMU is ended in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Disk } from "../../src/model/domain.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import { parseDeviceXml } from "../../src/xml/parse_device.ts";
import { loggedEvents } from "../support/domains.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  guestKernelCmdline,
  guestSkipReason,
  guestWriteDoneMarker,
  readSerialLog,
  waitForSerialMarker,
} from "../support/guest.ts";
import {
  guestDefinition,
  killAll,
  openQemuRig,
  recordLaunches,
  type StartedQemu,
} from "./_qemu_guest.ts";
import { DEVICE_REMOVAL_WAIT_MS } from "../../actors/device_commands.ts";
import { Host } from "../../actors/host.ts";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { QmpCommands } from "../../drivers/qemu/qmp_commands.ts";
import { QmpMonitor } from "../../drivers/qemu/qmp_monitor.ts";
import type { EventStore } from "../../src/log/event_store.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";

const skip = guestSkipReason() ?? missing("qemu-system-x86_64");

/**
 * The guest's write hook waits for the device it names; the attach comes well before. The guest
 * names its first virtio disk `vda`, whatever the target (`vdb`) the host gave it.
 */
const WRITE = { device: "vda", offsetMib: 1, lengthMib: 1 };

function diskXml(path: string, target: string): string {
  return `<disk type='file' device='disk'><driver name='qemu' type='raw'/>` +
    `<source file='${path}'/><target dev='${target}' bus='virtio'/></disk>`;
}

function cdromXml(path: string | undefined): string {
  const source = path === undefined ? "" : `<source file='${path}'/>`;
  return `<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>${source}` +
    `<target dev='hdc' bus='ide'/><readonly/></disk>`;
}

function image(path: string, sizeBytes: number, mode = 0o600): void {
  using file = Deno.openSync(path, { create: true, write: true });
  file.truncateSync(sizeBytes);
  Deno.chmodSync(path, mode);
}

testIf(
  "a disk attached to a running QEMU guest is seen by the guest, detached with its acknowledgement; a cdrom's medium changes",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const serial = `${rig.dir}/serial.log`;
      const definition = guestDefinition("hotplug", { serial: { file: serial } });
      definition.os.machine = "pc";
      // Not quiet: the kernel's log on the serial console shows the disk arrive.
      definition.os.cmdline = guestKernelCmdline([WRITE]).replace(" quiet", "");
      const cdrom = parseDeviceXml(cdromXml(undefined)).device as Disk;
      definition.devices.disks.push(cdrom);
      const disk = `${rig.dir}/data.img`;
      const iso = `${rig.dir}/medium.iso`;
      image(disk, 16 * 1024 * 1024);
      // The medium change gives QEMU no file of its own: it must be readable as it is.
      image(iso, 1024 * 1024, 0o644);
      await rig.host.define(definition);
      await rig.host.start("hotplug");
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
      const uuid = rig.host.lookup("hotplug").uuid;
      const qmp = rig.driver.qmpOf(uuid);

      // Bad input first: nothing may be appended.
      const before = (await rig.store.readAll({ afterPosition: 0 })).length;
      const refusals: [string, () => Promise<unknown>, number, string][] = [
        [
          "a target in use",
          () =>
            rig.host.changeDevice("hotplug", {
              action: "attach",
              change: parseDeviceXml(cdromXml(iso)),
              live: true,
            }),
          ErrorCode.OPERATION_UNSUPPORTED,
          "cdrom/floppy device hotplug isn't supported",
        ],
        [
          "a missing disk",
          () =>
            rig.host.changeDevice("hotplug", {
              action: "detach",
              change: parseDeviceXml(diskXml(disk, "vdz")),
              live: true,
            }),
          ErrorCode.DEVICE_MISSING,
          "no target device vdz",
        ],
        [
          "an update of a missing target",
          () =>
            rig.host.changeDevice("hotplug", {
              action: "update",
              change: parseDeviceXml(diskXml(disk, "vdz")),
              live: true,
            }),
          ErrorCode.INVALID_ARG,
          "target vdz doesn't exist.",
        ],
        [
          "a missing image",
          () =>
            rig.host.changeDevice("hotplug", {
              action: "attach",
              change: parseDeviceXml(diskXml(`${rig.dir}/absent.img`, "vdc")),
              live: true,
            }),
          -1,
          "",
        ],
      ];
      for (const [what, call, code, message] of refusals) {
        await assert.rejects(call, (error) => {
          assert.ok(isVirtError(error), `${what}: ${error}`);
          if (code !== -1) {
            assert.equal((error as { code: number }).code, code, what);
            assert.equal((error as Error).message, message, what);
          }
          return true;
        });
      }
      assert.equal(
        (await rig.store.readAll({ afterPosition: 0 })).length,
        before,
        "refusals append nothing",
      );

      // Attach: blockdev-add + device_add; the guest writes to the new /dev/vdb.
      const attachStarted = performance.now();
      await rig.host.changeDevice("hotplug", {
        action: "attach",
        change: parseDeviceXml(diskXml(disk, "vdb")),
        live: true,
      });
      const attachMs = performance.now() - attachStarted;
      const live = rig.host.context("hotplug").live!;
      const added = live.devices.disks.find((each) => each.target.dev === "vdb");
      assert.equal(added?.alias, "virtio-disk1");
      assert.equal(added?.address?.type, "pci");
      assert.equal(rig.host.context("hotplug").definition?.devices.disks.length, 1, "live only");
      const blocks = await qmp.queryBlock();
      const plugged = blocks.find((block) => block.qdev?.includes("virtio-disk1"));
      assert.equal(plugged?.inserted?.file, disk);
      await waitForSerialMarker(serial, guestWriteDoneMarker(WRITE), { timeoutMs: 10_000 });
      // A root service gives the image (0600, root's) to the unprivileged QEMU, as at start.
      const confined = Deno.uid() === 0;
      if (confined) assert.notEqual(Deno.statSync(disk).uid, 0, "given to QEMU's user");
      // The guest's kernel log (not quiet here) names the 16 MiB disk it found.
      assert.match(
        readSerialLog(serial),
        /virtio_blk virtio\d+: \[vda\] 32768 512-byte logical blocks/,
      );

      await assert.rejects(
        () =>
          rig.host.changeDevice("hotplug", {
            action: "attach",
            change: parseDeviceXml(diskXml(disk, "vdb")),
            live: true,
          }),
        (error) =>
          isVirtError(error, ErrorCode.OPERATION_INVALID) &&
          error.message === "target vdb already exists",
      );

      // Detach: the intent, then device_del; the guest's ACPI eject makes QEMU report it gone.
      const detachStarted = performance.now();
      const pending = await rig.host.changeDevice("hotplug", {
        action: "detach",
        change: parseDeviceXml(diskXml(disk, "vdb")),
        live: true,
      });
      const detachMs = performance.now() - detachStarted;
      assert.deepEqual(pending, [], "the guest released the disk within libvirt's 5 s");
      await rig.host.idle();
      assert.equal(
        rig.host.context("hotplug").live!.devices.disks.some((each) => each.target.dev === "vdb"),
        false,
      );
      assert.deepEqual(rig.host.context("hotplug").removals, []);
      if (confined) assert.equal(Deno.statSync(disk).uid, 0, "given back once removed");
      const names = (await rig.store.readStream(`domain/${uuid}`)).map((entry) => entry.type);
      const requested = names.indexOf("domain.device_removal_requested");
      assert.ok(requested !== -1 && names.indexOf("domain.device_removed") > requested);
      assert.ok(
        !(await qmp.queryBlock()).some((block) => block.qdev?.includes("virtio-disk1")),
        "QEMU has no such device any more",
      );

      // The unplugged disk's nodes were removed: the same disk plugs in again under its alias.
      await rig.host.changeDevice("hotplug", {
        action: "attach",
        change: parseDeviceXml(diskXml(disk, "vdb")),
        live: true,
      });
      assert.equal(
        (await qmp.queryBlock()).find((block) => block.qdev?.includes("virtio-disk1"))?.inserted
          ?.file,
        disk,
      );

      // By alias: asked of the guest and answered at once; the removal follows.
      assert.deepEqual(
        await rig.host.changeDevice("hotplug", {
          action: "detach",
          alias: "virtio-disk1",
          live: true,
        }),
        ["virtio-disk1"],
      );
      const removedBy = performance.now() + DEVICE_REMOVAL_WAIT_MS;
      // Bounded by libvirt's 5 s: the guest acknowledged in well under a second above.
      while ((rig.host.context("hotplug").removals ?? []).length > 0) {
        assert.ok(performance.now() < removedBy, "the guest let go of the disk");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }

      // Change media: insert, then eject.
      await rig.host.changeDevice("hotplug", {
        action: "update",
        change: parseDeviceXml(cdromXml(iso)),
      });
      const cd = (await qmp.queryBlock()).find((block) => block.removable);
      assert.equal(cd?.inserted?.file, iso);
      const liveCd = rig.host.context("hotplug").live!.devices.disks.find((each) =>
        each.target.dev === "hdc"
      );
      assert.equal(liveCd?.source?.file, iso);
      assert.equal(rig.host.context("hotplug").definition!.devices.disks[0].source, undefined);
      await rig.host.changeDevice("hotplug", {
        action: "update",
        change: parseDeviceXml(cdromXml(undefined)),
      });
      assert.equal((await qmp.queryBlock()).find((block) => block.removable)?.inserted, undefined);
      console.error(
        `hotplug figures: attach ${
          attachMs.toFixed(0)
        } ms, detach (with the guest's acknowledgement) ${detachMs.toFixed(0)} ms`,
      );
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "a removal the guest finishes while the service is down is recorded after the restart",
  skip,
  async () => {
    const dir = searchableTempDirSync("evirt-hotplug-restart-");
    const started = new Set<StartedQemu>();
    const open = async (store: EventStore) => {
      const driver = await QemuDriver.create({
        runtimeDir: `${dir}/run`,
        logDir: `${dir}/log`,
        log: () => {},
      });
      const host = await Host.open({ store, drivers: [driver], log: () => {} });
      recordLaunches(host, started);
      return host;
    };
    const store = createMemoryStore();
    let host = await open(store);
    try {
      const serial = `${dir}/serial.log`;
      const definition = guestDefinition("unplug", { serial: { file: serial } });
      definition.os.machine = "pc";
      const disk = `${dir}/data.img`;
      image(disk, 4 * 1024 * 1024);
      definition.devices.disks.push(parseDeviceXml(diskXml(disk, "vdb")).device as Disk);
      await host.define(definition);
      await host.start("unplug");
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
      // A paused guest cannot answer: the removal stays pending past libvirt's 5 s.
      await host.suspend("unplug");
      const waited = performance.now();
      const pending = await host.changeDevice("unplug", {
        action: "detach",
        change: parseDeviceXml(diskXml(disk, "vdb")),
        live: true,
      });
      assert.deepEqual(pending, ["virtio-disk1"]);
      assert.ok(performance.now() - waited >= DEVICE_REMOVAL_WAIT_MS - 50, "waited libvirt's 5 s");
      const runtime = host.context("unplug").runtime!;
      await host.close();

      // The service is down; the guest runs again and lets go of the disk.
      const monitor = await QmpMonitor.connect(String(runtime.monitorSocket));
      try {
        const qmp = new QmpCommands(monitor);
        await qmp.cont();
        const deadline = performance.now() + 15_000;
        // Bounded by the deadline: the guest's ACPI eject takes well under a second.
        while (performance.now() < deadline) {
          const gone = await qmp.qomGet("/machine/peripheral/virtio-disk1", "type").then(
            () => false,
            () => true,
          );
          if (gone) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        await monitor.close();
      }

      const before = (await loggedEvents(store)).length;
      host = await open(store);
      await host.idle();
      const context = host.context("unplug");
      assert.deepEqual(context.removals, []);
      assert.equal(context.live!.devices.disks.some((each) => each.target.dev === "vdb"), false);
      assert.ok(
        (await loggedEvents(store)).slice(before).includes("device-removed"),
        "DEVICE_REMOVED after the restart",
      );
    } finally {
      await host.close();
      await killAll(started);
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
