/**
 * virsh 9.0 over libvirt's protocol to the evirt service's private test hypervisor
 * (`test+unix:///default?socket=…`), beside virsh's own `test:///default`: `save`, `restore`,
 * `save-image-dumpxml` and `save-image-define` answer the same stdout, stderr and exit code,
 * errors included (an inactive domain, flags libvirt's test driver refuses, an unwritable path,
 * a missing, short or foreign image, a restore over an active domain). Both write libvirt's test
 * driver's image layout (`TestGuestMagic` and the XML), so an image saved by either restores on
 * the other.
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { withTempDir } from "../support/temp_dir.ts";
import { testDriverVirsh } from "../support/test_driver_oracle.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

/** Command strings; `DIR` is a temporary folder, `SIDE` the image name of the side running. */
const SEQUENCES = [
  "save test DIR/SIDE.img; list --all; domstate test --reason; restore DIR/SIDE.img; " +
  "list --all; domstate test --reason",
  "suspend test; save test DIR/SIDE.img; restore DIR/SIDE.img; domstate test --reason",
  "save test DIR/SIDE.img; save-image-dumpxml DIR/SIDE.img",
  "save test DIR/SIDE.img; save-image-dumpxml DIR/SIDE.img --security-info",
  "save test DIR/SIDE.img; start test; domstate test --reason",
  "save test DIR/SIDE.img; restore DIR/SIDE.img; restore DIR/SIDE.img",
  "destroy test; save test DIR/SIDE.img",
  "save test DIR/SIDE.img --running",
  "save test DIR/SIDE.img --paused",
  "save test DIR/SIDE.img --bypass-cache",
  "save test DIR/SIDE.img; restore DIR/SIDE.img --paused",
  "save test DIR/SIDE.img; restore DIR/SIDE.img --running",
  "save test DIR/missing/SIDE.img",
  "restore DIR/nothing.img",
  "restore DIR/short.img",
  "restore DIR/foreign.img",
  "restore DIR/huge.img",
  "save-image-dumpxml DIR/foreign.img",
];

/** Output without `dominfo`'s CPU time (the wall clock). */
function withoutClock(text: string): string {
  return text.split("\n").filter((line) => !/^CPU time:/.test(line)).join("\n");
}

/** Files a restore must refuse: too short for the magic, another magic, an absurd length. */
async function writeBadImages(dir: string): Promise<void> {
  await Deno.writeTextFile(`${dir}/short.img`, "hello\n");
  await Deno.writeTextFile(`${dir}/foreign.img`, "LibvirtQemudSave and more bytes after it");
  const huge = new Uint8Array(19);
  huge.set(new TextEncoder().encode("TestGuestMagic\0"));
  new DataView(huge.buffer).setInt32(15, 100_000, true);
  await Deno.writeFile(`${dir}/huge.img`, huge);
}

testIf(
  "virsh over libvirt's protocol: save and restore on the test hypervisor answer as libvirt's test driver",
  missing("virsh"),
  async () => {
    const dirs = await serviceDirs();
    const service = await startServiceProcess(dirs);
    try {
      await withTempDir("evirt-test-save-", async (dir) => {
        await writeBadImages(dir);
        const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`, "test", "default");
        const differences: string[] = [];
        for (const sequence of SEQUENCES) {
          const command = (side: string) =>
            sequence.replaceAll("DIR", dir).replaceAll("SIDE", side);
          const expected = await testDriverVirsh(command("libvirt"));
          // evirt's answers name its image where libvirt's name theirs: compared in libvirt's.
          const actual = await runVirsh(uri, [command("evirt")]);
          const same = (text: string) => withoutClock(text.replaceAll("evirt.img", "libvirt.img"));
          try {
            assert.equal(same(actual.stdout), withoutClock(expected.stdout));
            assert.equal(same(actual.stderr), withoutClock(expected.stderr));
            assert.equal(actual.code, expected.code);
          } catch (error) {
            differences.push(
              `${sequence}\n${(error as Error).message}`,
            );
          }
        }
        assert.equal(differences.length, 0, differences.join("\n\n"));

        // Each restores the other's image: the layout is the same.
        const crossed = "destroy test; restore DIR/OTHER.img; domstate test --reason; " +
          "save-image-dumpxml DIR/OTHER.img";
        const evirtSaved = crossed.replaceAll("DIR", dir).replaceAll("OTHER", "evirt");
        const libvirtSaved = crossed.replaceAll("DIR", dir).replaceAll("OTHER", "libvirt");
        const byLibvirt = await testDriverVirsh(evirtSaved);
        const byEvirt = await runVirsh(uri, [libvirtSaved]);
        assert.equal(byLibvirt.code, 0, byLibvirt.stderr);
        assert.equal(byEvirt.code, 0, byEvirt.stderr);
        assert.match(byLibvirt.stdout, /running \(restored\)/);
        assert.equal(
          byEvirt.stdout.replaceAll("libvirt.img", "evirt.img"),
          byLibvirt.stdout,
        );
        const magic = (await Deno.readFile(`${dir}/evirt.img`)).subarray(0, 15);
        assert.equal(new TextDecoder().decode(magic), "TestGuestMagic\0");
      });
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
