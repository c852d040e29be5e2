/**
 * The interface verbs side by side: the same commands run by virsh against evirt's libvirt
 * socket, by evirt's own CLI, and by virsh against libvirtd 9.0 (`qemu:///system`) on the same
 * inactive QEMU domain print the same output and the same errors (attach-interface's own
 * refusals, detach-interface by type and MAC, domif-getlink and domif-setlink, attach-device,
 * detach-device and update-device of an `<interface>` with `--config`, `--live` of an inactive
 * domain), and leave the same persistent `<interface>` elements (addresses included:
 * define-time completion; MACs libvirt generates are masked). tests/support/side_by_side.ts
 * defines the domain on both sides and cleans up.
 *
 * @module
 */

import assert from "node:assert/strict";
import { testIf } from "../support/environment.ts";
import { sideBySideSkipReason, withSideBySide } from "../support/side_by_side.ts";

const FIRST = "52:54:00:6a:00:01";
const SECOND = "52:54:00:6a:00:02";

function domainXml(name: string): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <interface type='user'>
      <mac address='${FIRST}'/>
      <model type='virtio'/>
    </interface>
    <interface type='user'>
      <mac address='${SECOND}'/>
    </interface>
  </devices>
</domain>
`;
}

/** The `<interface>` elements of a domain XML, as text, generated MACs masked. */
function interfaces(xml: string): string[] {
  return [...xml.matchAll(/<interface [\s\S]*?<\/interface>/g)].map((match) =>
    match[0].replace(
      /52:54:00(:[0-9a-f]{2}){3}/g,
      (mac) => mac.startsWith("52:54:00:6a") ? mac : "GENERATED",
    )
  );
}

testIf(
  "virsh's interface verbs answer over evirt's socket as libvirtd 9.0 answers for the same inactive domain",
  sideBySideSkipReason,
  () =>
    withSideBySide({ label: "ifhp", domainXml }, async (side) => {
      const { name, dir } = side;
      const nic = (file: string, body: string) =>
        Deno.writeTextFileSync(`${dir}/${file}`, `<interface type='user'>${body}</interface>\n`);
      nic("third.xml", "<mac address='52:54:00:6a:00:03'/><model type='e1000'/>");
      nic("nomac.xml", "<model type='virtio'/>");
      nic("missing.xml", "<mac address='52:54:00:6a:00:99'/>");
      nic("down.xml", `<mac address='${FIRST}'/><model type='virtio'/><link state='down'/>`);
      nic("badmac.xml", "<mac address='01:54:00:6a:00:07'/>");
      const refusals = await side.compare([
        ["attach-interface", name, "user", "x", "--config"],
        ["attach-interface", name, "bogus", "x", "--config"],
        ["attach-interface", name, "vhostuser", "/tmp/s", "--config"],
        ["attach-interface", name, "vhostuser", "/tmp/s", "--source-mode", "sideways"],
        ["attach-interface", name, "network", "default", "--inbound", "abc", "--config"],
        ["attach-interface", name, "network", "default", "--current", "--persistent"],
        ["attach-interface", name, "network", "default", "--current", "--live"],
        ["attach-interface", name, "bridge", "br0", "--model", "virtio", "--print-xml"],
        ["attach-interface", name, "hostdev", "zz", "--config"],
        ["attach-interface", name, "network", "default", "--live"],
        ["attach-device", name, `${dir}/third.xml`, "--config"],
        ["attach-device", name, `${dir}/nomac.xml`, "--config"],
        ["attach-device", name, `${dir}/badmac.xml`, "--config"],
        ["attach-device", name, `${dir}/third.xml`, "--live"],
        ["detach-interface", name, "user", "--config"],
        ["detach-interface", name, "network", "--config"],
        ["detach-interface", name, "network", "--config", "--mac", FIRST],
        ["detach-interface", name, "user", "--config", "--mac", "52:54:00:6a:00:99"],
        ["detach-interface", name, "user", "--mac", SECOND],
        ["detach-interface", name, "user", "--config", "--mac", "52:54:00:6A:00:03"],
        ["detach-device", name, `${dir}/missing.xml`, "--config"],
        ["detach-device", name, `${dir}/nomac.xml`, "--config"],
        ["domif-getlink", name, FIRST],
        ["domif-getlink", name, FIRST, "--config"],
        ["domif-getlink", name, "52:54:00:6a:00:99"],
        ["domif-getlink", name, "vnet7"],
        ["domif-setlink", name, FIRST, "sideways"],
        ["domif-setlink", name, "52:54:00:6a:00:99", "up"],
        ["domif-setlink", name, "vnet7", "up", "--config"],
        ["domif-setlink", name, SECOND, "down"],
        ["domif-getlink", name, SECOND],
        ["domif-setlink", name, SECOND, "up", "--config"],
        ["domif-getlink", name, SECOND, "--persistent"],
        ["update-device", name, `${dir}/down.xml`, "--config"],
        ["update-device", name, `${dir}/missing.xml`, "--config"],
        ["domif-getlink", name, FIRST],
        ["detach-interface", name, "user", "--persistent", "--mac", FIRST],
      ]);
      // The refusals compared above are libvirt's own, not a silent pass of both sides.
      assert.equal(refusals, 24, "libvirtd refused what it refuses");
      const xml = await side.inactiveXml();
      assert.deepEqual(interfaces(xml.virsh), interfaces(xml.libvirtd));
      assert.deepEqual(interfaces(xml.cli), interfaces(xml.libvirtd), "evirt's CLI");
      assert.equal(interfaces(xml.virsh).length, 2, "the second, and the one without a MAC");
    }),
);
