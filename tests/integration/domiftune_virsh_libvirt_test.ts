/**
 * `domiftune` side by side: the same commands run by virsh against evirt's libvirt socket, by
 * evirt's own CLI, and by virsh against libvirtd 9.0 (`qemu:///system`) on the same inactive
 * QEMU domain print the same output and the same errors — reads of a network and a bridge
 * interface by MAC, `--config` changes (a named direction replaced, `0` removing it, a floor),
 * an unknown interface, `--live` of an inactive domain, malformed rates — and leave the same
 * persistent `<bandwidth>` elements (tests/support/side_by_side.ts defines the domain on both
 * sides and cleans up).
 *
 * @module
 */

import assert from "node:assert/strict";
import { testIf } from "../support/environment.ts";
import { sideBySideSkipReason, withSideBySide } from "../support/side_by_side.ts";

const NETWORK_MAC = "52:54:00:6d:00:01";
const BRIDGE_MAC = "52:54:00:6d:00:02";

function domainXml(name: string): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <interface type='network'>
      <mac address='${NETWORK_MAC}'/>
      <source network='default'/>
      <bandwidth>
        <inbound average='100' peak='200' burst='10'/>
      </bandwidth>
      <model type='virtio'/>
    </interface>
    <interface type='bridge'>
      <mac address='${BRIDGE_MAC}'/>
      <source bridge='br9'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
`;
}

/** The `<bandwidth>` elements of a domain XML, as text. */
function bandwidths(xml: string): string[] {
  return [...xml.matchAll(/<bandwidth>[\s\S]*?<\/bandwidth>/g)].map((match) => match[0]);
}

testIf(
  "virsh domiftune answers over evirt's socket as libvirtd 9.0 answers for the same inactive domain",
  sideBySideSkipReason,
  () =>
    withSideBySide({ label: "iftune", domainXml }, async (side) => {
      const { name } = side;
      const refusals = await side.compare([
        ["domiftune", name, NETWORK_MAC],
        ["domiftune", name, NETWORK_MAC, "--config"],
        ["domiftune", name, BRIDGE_MAC, "--config"],
        ["domiftune", name, "nosuch", "--config"],
        ["domiftune", name, NETWORK_MAC, "--live"],
        ["domiftune", name, NETWORK_MAC, "--live", "--inbound", "5"],
        [
          "domiftune",
          name,
          NETWORK_MAC,
          "--config",
          "--inbound",
          "300,400,20,50",
          "--outbound",
          "7",
        ],
        ["domiftune", name, NETWORK_MAC, "--config"],
        ["domiftune", name, NETWORK_MAC.toUpperCase(), "--config", "--outbound", "9,0,4"],
        ["domiftune", name, NETWORK_MAC],
        ["domiftune", name, BRIDGE_MAC, "--config", "--inbound", "300,0,0,50"],
        ["domiftune", name, BRIDGE_MAC, "--config"],
        ["domiftune", name, NETWORK_MAC, "--config", "--inbound", "0"],
        ["domiftune", name, NETWORK_MAC, "--config"],
        ["domiftune", name, NETWORK_MAC, "--config", "--inbound", "0,5"],
        ["domiftune", name, "nosuch", "--config", "--inbound", "5"],
      ]);
      assert.equal(refusals, 5, "libvirtd refused what it refuses");
      const xml = await side.inactiveXml();
      assert.deepEqual(bandwidths(xml.virsh), bandwidths(xml.libvirtd));
      assert.deepEqual(bandwidths(xml.cli), bandwidths(xml.libvirtd), "evirt's CLI");
      assert.equal(bandwidths(xml.libvirtd).length, 2);
    }),
);
