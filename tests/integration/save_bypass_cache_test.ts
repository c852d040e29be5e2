/**
 * `--bypass-cache` for save, restore, managed save and the start that restores it
 * (`VIR_DOMAIN_START_BYPASS_CACHE`) with the test guest under real QEMU,
 * through virsh over evirt's libvirt socket: the image is written and read past the page cache
 * (O_DIRECT, `drivers/qemu/direct_io.ts`), which `fincore` sees (hardly any of the image's pages
 * resident, where a plain save leaves them all), and the guest carries on from its image.
 *
 * @module
 */

import { guestDomainXml } from "../support/guest_xml.ts";
import assert from "node:assert/strict";
import { runChild } from "../support/child_process.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  guestInitrdPath,
  guestKernelPath,
  guestSkipReason,
  readSerialLog,
  waitForSerialMarker,
} from "../support/guest.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

/**
 * Resident bytes a bypassed image may keep: the complete magic's page, written through the
 * cache at the end, and the helper's short last block, which it writes without O_DIRECT.
 */
const BYPASSED_RESIDENT_MAX_BYTES = 1024 * 1024 + 64 * 1024;

/** Longest a `fincore` run may take, in ms. */
const FINCORE_TIMEOUT_MS = 10_000;

function guestXml(name: string, dir: string): string {
  return guestDomainXml({
    name,
    dir,
    acpi: true,
    serial: { path: `${dir}/serial.log`, append: true },
  });
}

/** The bytes of `path` in the page cache (`fincore`). */
async function residentBytes(path: string): Promise<number> {
  const run = await runChild(
    "fincore",
    ["--bytes", "--noheadings", "--output", "RES", path],
    {},
    FINCORE_TIMEOUT_MS,
  );
  assert.equal(run.code, 0, run.stderr);
  return Number(run.stdout.trim());
}

testIf(
  "save, restore and managedsave --bypass-cache write and read the image past the page cache; the guest carries on",
  missing("virsh", "qemu-system-x86_64", "fincore", "dd") ?? guestSkipReason(),
  async () => {
    const dirs = await serviceDirs();
    const dir = dirs.stateDir.replace(/\/state$/, "");
    Deno.copyFileSync(guestKernelPath()!, `${dir}/vmlinux`);
    Deno.copyFileSync(guestInitrdPath, `${dir}/initrd.gz`);
    const name = "direct";
    Deno.writeTextFileSync(`${dir}/guest.xml`, guestXml(name, dir));
    const serial = `${dir}/serial.log`;
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const virsh = (...args: string[]) => runVirsh(uri, args);
    try {
      assert.equal((await virsh("define", `${dir}/guest.xml`)).code, 0);
      assert.equal((await virsh("start", name)).code, 0);
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });

      // A plain save leaves its image in the page cache: what the bypassed one must not do.
      const plain = `${dir}/plain.save`;
      assert.equal((await virsh("save", name, plain)).code, 0);
      const plainSize = (await Deno.stat(plain)).size;
      assert.ok(await residentBytes(plain) > plainSize / 2, "a plain save is cached");
      assert.equal((await virsh("restore", plain)).code, 0);

      const image = `${dir}/direct.save`;
      const saved = await virsh("save", name, image, "--bypass-cache");
      assert.equal(saved.code, 0, saved.stderr);
      assert.equal(saved.stdout, `\nDomain '${name}' saved to ${image}\n\n`);
      const size = (await Deno.stat(image)).size;
      assert.ok(size > 16 * 1024 * 1024, `an image of the guest's memory (${size} bytes)`);
      assert.ok(
        await residentBytes(image) <= BYPASSED_RESIDENT_MAX_BYTES,
        "written past the cache",
      );
      // The image is libvirt's layout, complete: the same XML as the plain one.
      assert.equal(
        (await virsh("save-image-dumpxml", image)).stdout,
        (await virsh("save-image-dumpxml", plain)).stdout,
      );
      const restored = await virsh("restore", image, "--bypass-cache");
      assert.equal(restored.code, 0, restored.stderr);
      assert.ok(await residentBytes(image) <= BYPASSED_RESIDENT_MAX_BYTES, "read past the cache");
      assert.equal((await virsh("domstate", name, "--reason")).stdout, "running (restored)\n\n");

      const managed = await virsh("managedsave", name, "--bypass-cache");
      assert.equal(managed.code, 0, managed.stderr);
      // The service keeps the image with its state (libvirt's /var/lib/libvirt/qemu/save).
      const managedImage = `${dirs.stateDir}/save/${name}.save`;
      assert.ok(
        await residentBytes(managedImage) <= BYPASSED_RESIDENT_MAX_BYTES,
        "the managed save written past the cache",
      );
      // Read back past the cache too (VIR_DOMAIN_START_BYPASS_CACHE); the image is then removed.
      const started = await virsh("start", name, "--bypass-cache");
      assert.equal(started.code, 0, started.stderr);
      assert.equal((await virsh("domstate", name, "--reason")).stdout, "running (restored)\n\n");
      // One boot in all: every restore carried the guest on.
      const boots = readSerialLog(serial).split("\n").filter((line) =>
        line.trim() === GUEST_READY_MARKER
      );
      assert.equal(boots.length, 1);
    } finally {
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
