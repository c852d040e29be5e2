/**
 * Save images cross between libvirtd 9.0 (`qemu:///system`) and evirt both ways: the test guest
 * runs under libvirtd and is saved by it; `virsh restore` over evirt's libvirt socket brings it
 * back on evirt, running (restored); `virsh save` over evirt's socket writes an image libvirtd
 * restores; under libvirtd the guest then answers a power-down (its ACPI handler was set up at
 * the one boot: the serial log, appended to by all three QEMUs, holds one boot marker). Both
 * sides print the same lines for the same verbs. Skipped, counted, when libvirtd does not
 * answer.
 *
 * @module
 */

import { guestDomainXml } from "../support/guest_xml.ts";
import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_POWERDOWN_MARKER,
  GUEST_READY_MARKER,
  guestInitrdPath,
  guestKernelPath,
  guestSkipReason,
  readSerialLog,
  waitForSerialMarker,
} from "../support/guest.ts";
import { LIBVIRTD_SOCKET, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

const skip = missing("virsh", LIBVIRTD_SOCKET, "qemu-system-x86_64") ?? guestSkipReason();

function guestXml(name: string, dir: string): string {
  return guestDomainXml({
    name,
    dir,
    uuid: crypto.randomUUID(),
    acpi: true,
    onPoweroff: "destroy",
    serial: { path: `${dir}/serial.log`, append: true },
  });
}

function count(text: string, marker: string): number {
  return text.split("\n").filter((line) => line.trim() === marker).length;
}

testIf(
  "save images cross between libvirtd 9.0 and evirt both ways; the guest boots once",
  skip,
  async () => {
    const dirs = await serviceDirs();
    const dir = dirs.stateDir.replace(/\/state$/, "");
    // libvirtd's QEMU reads the kernel as its own user: copies in the searchable folder.
    Deno.copyFileSync(guestKernelPath()!, `${dir}/vmlinux`);
    Deno.copyFileSync(guestInitrdPath, `${dir}/initrd.gz`);
    const name = `${ORACLE_PREFIX}save16-${crypto.randomUUID().slice(0, 8)}`;
    Deno.writeTextFileSync(`${dir}/guest.xml`, guestXml(name, dir));
    const serial = `${dir}/serial.log`;
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    try {
      const created = await oracleVirsh(["create", `${dir}/guest.xml`]);
      assert.equal(created.code, 0, created.stderr);
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });

      // libvirtd saves; evirt restores.
      const theirImage = `${dir}/libvirtd.save`;
      const saved = await oracleVirsh(["save", name, theirImage]);
      assert.equal(saved.code, 0, saved.stderr);
      assert.equal(saved.stdout, `\nDomain '${name}' saved to ${theirImage}\n\n`);
      const restored = await runVirsh(uri, ["restore", theirImage]);
      assert.equal(restored.code, 0, restored.stderr);
      assert.equal(restored.stdout, `Domain restored from ${theirImage}\n\n`);
      assert.equal(
        (await runVirsh(uri, ["domstate", name, "--reason"])).stdout,
        "running (restored)\n\n",
      );
      const [ourXml, theirXml] = [
        await runVirsh(uri, ["save-image-dumpxml", theirImage]),
        await oracleVirsh(["save-image-dumpxml", theirImage]),
      ];
      assert.equal(ourXml.code, 0, ourXml.stderr);
      assert.match(ourXml.stdout, new RegExp(`<name>${name}</name>`));
      assert.equal(theirXml.code, 0, theirXml.stderr);

      // evirt saves; libvirtd restores.
      const ourImage = `${dir}/evirt.save`;
      const ours = await runVirsh(uri, ["save", name, ourImage]);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(ours.stdout, `\nDomain '${name}' saved to ${ourImage}\n\n`);
      const back = await oracleVirsh(["restore", ourImage]);
      assert.equal(back.code, 0, back.stderr);
      assert.equal(
        (await oracleVirsh(["domstate", name, "--reason"])).stdout,
        "running (restored)\n\n",
      );
      // The guest carries on under libvirtd: its power button handler answers.
      assert.equal((await oracleVirsh(["shutdown", name])).code, 0);
      await waitForSerialMarker(serial, GUEST_POWERDOWN_MARKER, { timeoutMs: 15_000 });
      assert.equal(count(readSerialLog(serial), GUEST_READY_MARKER), 1, "one boot in all");
    } finally {
      await oracleVirsh(["destroy", name]);
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

testIf(
  "virsh's managed save verbs over evirt's socket: managedsave, dominfo, list, dumpxml, start restores, remove",
  missing("virsh", "qemu-system-x86_64") ?? guestSkipReason(),
  async () => {
    const dirs = await serviceDirs();
    const dir = dirs.stateDir.replace(/\/state$/, "");
    Deno.copyFileSync(guestKernelPath()!, `${dir}/vmlinux`);
    Deno.copyFileSync(guestInitrdPath, `${dir}/initrd.gz`);
    const name = "kept";
    Deno.writeTextFileSync(`${dir}/guest.xml`, guestXml(name, dir));
    const serial = `${dir}/serial.log`;
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const virsh = (...args: string[]) => runVirsh(uri, args);
    try {
      assert.equal((await virsh("define", `${dir}/guest.xml`)).code, 0);
      assert.equal((await virsh("start", name)).code, 0);
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
      const none = await virsh("managedsave-remove", name);
      assert.equal(none.stdout, `Domain '${name}' has no manage save image; removal skipped\n`);
      const saved = await virsh("managedsave", name);
      assert.equal(saved.code, 0, saved.stderr);
      assert.equal(saved.stdout, `\nDomain '${name}' state saved by libvirt\n\n`);
      assert.match((await virsh("dominfo", name)).stdout, /^Managed save:\s+yes$/m);
      assert.match((await virsh("list", "--all", "--with-managed-save")).stdout, / kept +shut off/);
      assert.doesNotMatch((await virsh("list", "--all", "--without-managed-save")).stdout, /kept/);
      assert.match((await virsh("managedsave-dumpxml", name)).stdout, /<name>kept<\/name>/);
      const refused = await virsh("undefine", name);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /Refusing to undefine while domain managed save image exists/);
      const started = await virsh("start", name);
      assert.equal(started.code, 0, started.stderr);
      assert.equal((await virsh("domstate", name, "--reason")).stdout, "running (restored)\n\n");
      assert.match((await virsh("dominfo", name)).stdout, /^Managed save:\s+no$/m);
      const missingImage = await virsh("managedsave-dumpxml", name);
      assert.match(missingImage.stderr, /domain does not have managed save image/);
      // The guest carries on: its power button handler answers, and it booted once.
      assert.equal((await virsh("shutdown", name)).code, 0);
      await waitForSerialMarker(serial, GUEST_POWERDOWN_MARKER, { timeoutMs: 15_000 });
      assert.equal(count(readSerialLog(serial), GUEST_READY_MARKER), 1);
    } finally {
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

testIf(
  "a gzip save image (save_image_format): evirt restores it, and so does libvirtd 9.0; the guest boots once",
  missing("gzip") ?? skip,
  async () => {
    const dirs = await serviceDirs();
    const dir = dirs.stateDir.replace(/\/state$/, "");
    Deno.copyFileSync(guestKernelPath()!, `${dir}/vmlinux`);
    Deno.copyFileSync(guestInitrdPath, `${dir}/initrd.gz`);
    const name = `${ORACLE_PREFIX}gzsave16-${crypto.randomUUID().slice(0, 8)}`;
    Deno.writeTextFileSync(`${dir}/guest.xml`, guestXml(name, dir));
    const serial = `${dir}/serial.log`;
    const service = await startServiceProcess(dirs, { EVIRT_SAVE_IMAGE_FORMAT: "gzip" });
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    try {
      const created = await runVirsh(uri, ["create", `${dir}/guest.xml`]);
      assert.equal(created.code, 0, created.stderr);
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
      const image = `${dir}/evirt.save`;
      for (const round of ["evirt", "libvirtd"]) {
        const saved = await runVirsh(uri, ["save", name, image]);
        assert.equal(saved.code, 0, saved.stderr);
        // The header says gzip (libvirt's number 1) and the stream after it is gzip's.
        const bytes = Deno.readFileSync(image);
        const header = new DataView(bytes.buffer, 0, 92);
        assert.equal(header.getUint32(28, true), 1);
        const start = 92 + header.getUint32(20, true);
        assert.deepEqual([bytes[start], bytes[start + 1]], [0x1f, 0x8b], "gzip's magic");
        const restored = round === "evirt"
          ? await runVirsh(uri, ["restore", image])
          : await oracleVirsh(["restore", image]);
        assert.equal(restored.code, 0, `${round}: ${restored.stderr}`);
        const state = round === "evirt"
          ? await runVirsh(uri, ["domstate", name, "--reason"])
          : await oracleVirsh(["domstate", name, "--reason"]);
        assert.equal(state.stdout, "running (restored)\n\n", round);
      }
      // The guest carries on under libvirtd: its power button handler answers.
      assert.equal((await oracleVirsh(["shutdown", name])).code, 0);
      await waitForSerialMarker(serial, GUEST_POWERDOWN_MARKER, { timeoutMs: 15_000 });
      assert.equal(count(readSerialLog(serial), GUEST_READY_MARKER), 1, "one boot in all");
    } finally {
      await oracleVirsh(["destroy", name]);
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
