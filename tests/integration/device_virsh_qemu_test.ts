/**
 * The device verbs on a running real guest through the service's two doors: `virsh attach-disk
 * --live` over evirt's libvirt socket plugs a disk the guest's kernel then names, `virsh
 * domblklist` lists it, `virsh detach-disk` removes it once the guest lets go of it, and evirt's
 * own CLI changes the cdrom's medium (`change-media --insert`, then `--eject`) and attaches a disk
 * with `--persistent` (live and in the persistent definition). Every QEMU the service started is
 * ended in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runEvirt } from "../support/cli_process.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  guestKernelCmdline,
  guestSkipReason,
  waitForSerialMarker,
} from "../support/guest.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";
import { guestDefinition } from "./_qemu_guest.ts";

const skip = guestSkipReason() ?? missing("qemu-system-x86_64", "virsh");

function image(path: string, sizeBytes: number, mode = 0o600): void {
  using file = Deno.openSync(path, { create: true, write: true });
  file.truncateSync(sizeBytes);
  // A root service gives a plugged image to the unprivileged QEMU as a start does.
  Deno.chmodSync(path, mode);
}

testIf(
  "virsh and evirt's CLI attach, detach and change media of a running guest through the service",
  skip,
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const evirt = (...args: string[]) =>
      runEvirt(args, { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" });
    try {
      const serial = `${base}/serial.log`;
      const definition = guestDefinition("plugged", { serial: { file: serial } });
      definition.os.machine = "pc";
      definition.os.cmdline = guestKernelCmdline().replace(" quiet", "");
      definition.devices.disks.push({
        type: "file",
        device: "cdrom",
        target: { dev: "hdc", bus: "ide" },
        readonly: true,
      });
      for (const name of ["b.img", "c.img"]) image(`${base}/${name}`, 8 * 1024 * 1024);
      // A medium change gives QEMU no file: the medium must be readable as it is.
      image(`${base}/d.iso`, 1024 * 1024, 0o644);
      await service.client.define({ definition });
      assert.equal((await runVirsh(uri, ["start", "plugged"])).code, 0);
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });

      const attach = await runVirsh(uri, [
        "attach-disk",
        "plugged",
        `${base}/b.img`,
        "vdb",
        "--live",
      ]);
      assert.equal(attach.stdout, "Disk attached successfully\n\n", attach.stderr);
      const deadline = Date.now() + 10_000;
      while (!/\[vda\] 16384 512-byte logical blocks/.test(Deno.readTextFileSync(serial))) {
        assert.ok(Date.now() < deadline, "the guest's kernel names the new disk");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const list = await runVirsh(uri, ["domblklist", "plugged"]);
      assert.match(list.stdout, new RegExp(`vdb +${base}/b.img`));
      const detach = await runVirsh(uri, ["detach-disk", "plugged", "vdb", "--live"]);
      assert.equal(detach.stdout, "Disk detached successfully\n\n", detach.stderr);
      assert.doesNotMatch((await runVirsh(uri, ["domblklist", "plugged"])).stdout, /vdb/);

      const insert = await evirt("change-media", "plugged", "hdc", `${base}/d.iso`, "--insert");
      assert.equal(insert.stdout, "Successfully inserted media.\n", insert.stderr);
      assert.match((await evirt("domblklist", "plugged")).stdout, new RegExp(`hdc +${base}/d.iso`));
      const eject = await evirt("change-media", "plugged", "hdc", "--eject");
      assert.equal(eject.stdout, "Successfully ejected media.\n", eject.stderr);

      const persistent = await evirt(
        "attach-disk",
        "plugged",
        `${base}/c.img`,
        "vdc",
        "--persistent",
      );
      assert.equal(persistent.stdout, "Disk attached successfully\n\n", persistent.stderr);
      assert.match((await evirt("domblklist", "plugged")).stdout, /vdc/);
      assert.match((await evirt("domblklist", "plugged", "--inactive")).stdout, /vdc/);
      assert.match(
        (await evirt("dumpxml", "--inactive", "plugged")).stdout,
        /<target dev='vdc' bus='virtio'\/>\n\s*<address type='pci'/,
      );
    } finally {
      const pids = serviceQemuPids(dirs.runtimeDir);
      await service.stop("SIGTERM");
      await killQemus(pids);
      await removeServiceDirs(dirs);
    }
  },
);
