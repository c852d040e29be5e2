/**
 * The device verbs through virsh and evirt's CLI, side by side: the same commands run by virsh
 * against evirt's libvirt socket, by evirt's own CLI, and by virsh against libvirtd 9.0 (`qemu:///system`) on the same inactive QEMU domain
 * print the same output and the same errors (attach-disk, a target in use, `--live` of an
 * inactive domain, detach-disk of a missing target, change-media insert and eject, an eject of
 * an empty drive, update-device and detach-device of a missing target), and leave the same
 * persistent `<disk>` elements (addresses included: define-time completion).
 * tests/support/side_by_side.ts defines the domain on both sides and cleans up.
 *
 * @module
 */

import assert from "node:assert/strict";
import { testIf } from "../support/environment.ts";
import { sideBySideSkipReason, withSideBySide } from "../support/side_by_side.ts";

function domainXml(name: string, dir: string): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='${dir}/a.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
  </devices>
</domain>
`;
}

/** The `<disk>` elements of a domain XML, as text. */
function disks(xml: string): string[] {
  return [...xml.matchAll(/<disk [\s\S]*?<\/disk>/g)].map((match) => match[0]);
}

/** The disk images the commands name and `vdz.xml`, a disk no domain has. */
function prepare(dir: string): void {
  for (const image of ["a.img", "b.img", "c.iso"]) {
    Deno.writeFileSync(`${dir}/${image}`, new Uint8Array(1024 * 1024));
  }
  Deno.writeTextFileSync(
    `${dir}/vdz.xml`,
    `<disk type='file' device='disk'><source file='${dir}/b.img'/><target dev='vdz' bus='virtio'/></disk>\n`,
  );
}

testIf(
  "virsh's device verbs answer over evirt's socket as libvirtd 9.0 answers for the same inactive domain",
  sideBySideSkipReason,
  () =>
    withSideBySide({ label: "hotplug14", domainXml, prepare }, async (side) => {
      const { name, dir } = side;
      await side.compare([
        ["attach-disk", name, `${dir}/b.img`, "vdb", "--config"],
        ["attach-disk", name, `${dir}/b.img`, "vdb", "--config"],
        ["attach-disk", name, `${dir}/b.img`, "vdc", "--live"],
        ["attach-disk", name, `${dir}/b.img`, "vdc", "--persistent"],
        ["detach-disk", name, "vdz", "--config"],
        ["detach-disk", name, "vdc", "--config"],
        ["change-media", name, "hdc", `${dir}/c.iso`, "--insert", "--config"],
        ["change-media", name, "hdc", `${dir}/c.iso`, "--insert", "--config"],
        ["change-media", name, "hdc", "--eject", "--config"],
        ["change-media", name, "hdc", "--eject", "--config"],
        ["change-media", name, "vda", "--eject", "--config"],
        ["update-device", name, `${dir}/vdz.xml`, "--config"],
        ["detach-device", name, `${dir}/vdz.xml`, "--config"],
        ["detach-device", name, `${dir}/vdz.xml`],
        ["detach-device", name, `${dir}/vdz.xml`, "--config", "--current"],
        ["detach-device-alias", name, "nosuch", "--config"],
        ["detach-device-alias", name, "nosuch"],
        ["detach-device-alias", name, "ua-x", "--live"],
      ]);
      const xml = await side.inactiveXml();
      assert.deepEqual(disks(xml.virsh), disks(xml.libvirtd));
      assert.deepEqual(disks(xml.cli), disks(xml.libvirtd), "evirt's CLI");
      assert.equal(disks(xml.virsh).length, 3, "vda, vdb and the cdrom");
    }),
);
