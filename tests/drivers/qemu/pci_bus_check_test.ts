import assert from "node:assert/strict";
import { checkPciBuses } from "../../../drivers/qemu/pci_bus_check.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";
import { parseDomainXml } from "../../../src/xml/mod.ts";

function domain(devices: string) {
  return parseDomainXml(
    `<domain type='qemu'><name>a</name><memory>65536</memory><os><type machine='pc'>hvm</type></os><devices>${devices}</devices></domain>`,
  );
}

Deno.test("checkPciBuses refuses a device on a bus no PCI controller provides", () => {
  const nic = "<interface type='user'><model type='virtio'/>" +
    "<address type='pci' domain='0' bus='1' slot='3' function='0'/></interface>";
  assert.throws(() => checkPciBuses(domain(nic)), (error: unknown) => {
    assert.ok(error instanceof VirtError);
    assert.equal(error.code, ErrorCode.CONFIG_UNSUPPORTED);
    assert.equal(error.where, "/domain/devices/interface[1]/address/@bus");
    assert.match(error.message, /PCI bus 1 does not exist/);
    return true;
  });
  // With the bridge that makes bus 1, and on the root bus, the same device passes.
  checkPciBuses(domain(nic + "<controller type='pci' index='1' model='pci-bridge'/>"));
  checkPciBuses(domain(nic.replace("bus='1'", "bus='0'")));
});
