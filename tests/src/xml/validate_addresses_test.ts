import assert from "node:assert/strict";
import type { DomainDefinition } from "../../../src/model/domain.ts";
import { parseDomainXml } from "../../../src/xml/mod.ts";
import { validateAddresses } from "../../../src/xml/validate_addresses.ts";

function domain(machine: string, devices: string): DomainDefinition {
  return parseDomainXml(
    `<domain type='qemu'><name>a</name><memory>1024</memory><os><type machine='${machine}'>hvm</type></os><devices>${devices}</devices></domain>`,
  );
}

Deno.test("validateAddresses refuses two controllers of a type with one index, USB companions aside", () => {
  assert.throws(
    () =>
      validateAddresses(
        domain(
          "pc",
          "<controller type='pci' index='1' model='pci-bridge'/><controller type='pci' index='1' model='pci-bridge'/>",
        ),
      ),
    /Multiple 'pci' controllers with index '1'/,
  );
  validateAddresses(
    domain(
      "pc",
      "<controller type='usb' index='0' model='ich9-ehci1'/><controller type='usb' index='0' model='ich9-uhci1'/>",
    ),
  );
});

Deno.test("validateAddresses refuses a PCI root that does not fit the machine", () => {
  assert.throws(
    () => validateAddresses(domain("q35", "<controller type='pci' index='0' model='pci-root'/>")),
    /must be model='pcie-root' for this machine type/,
  );
  validateAddresses(domain("pc-i440fx-7.2", "<controller type='pci' index='0' model='pci-root'/>"));
});

Deno.test("validateAddresses refuses a PCI controller plugged into one that does not accept it", () => {
  const devices =
    "<controller type='pci' index='0' model='pcie-root'/><controller type='pci' index='1' model='pcie-root-port'/>" +
    "<controller type='pci' index='2' model='dmi-to-pci-bridge'><address type='pci' bus='1' slot='0'/></controller>";
  assert.throws(
    () => validateAddresses(domain("q35", devices)),
    /requires a controller that accepts a dmi-to-pci-bridge/,
  );
  validateAddresses(domain("q35", devices.replace("bus='1' slot='0'", "bus='0' slot='0x1e'")));
});

Deno.test("validateAddresses refuses USB addresses on missing buses or behind missing hubs", () => {
  const input = (port: string, bus = "0") =>
    `<input type='tablet' bus='usb'><address type='usb' bus='${bus}' port='${port}'/></input>`;
  const usb = "<controller type='usb' index='0'/>";
  assert.throws(
    () => validateAddresses(domain("pc", usb + input("1", "1"))),
    /USB bus 1 requested/,
  );
  assert.throws(
    () => validateAddresses(domain("pc", usb + input("1.2"))),
    /there is no hub at port 1 in USB address bus: 0 port: 1.2/,
  );
  validateAddresses(
    domain(
      "pc",
      usb + "<hub type='usb'><address type='usb' bus='0' port='1'/></hub>" + input("1.2"),
    ),
  );
  assert.throws(
    () => validateAddresses(domain("pc", usb + input("1") + input("1"))),
    /double use of USB Address/,
  );
});

Deno.test("validateAddresses refuses drive addresses used twice on one bus and non-drive addresses on drive buses", () => {
  const disk = (dev: string, address: string) =>
    `<disk type='file'><source file='/${dev}'/><target dev='${dev}' bus='scsi'/>${address}</disk>`;
  const drive = "<address type='drive' controller='0' bus='0' target='0' unit='0'/>";
  assert.throws(
    () => validateAddresses(domain("pc", disk("sda", drive) + disk("sdb", drive))),
    (error: Error & { code?: number }) =>
      error.code === 67 && /duplicate drive address/.test(error.message),
  );
  assert.throws(
    () => validateAddresses(domain("pc", disk("sda", "<address type='pci' slot='5'/>"))),
    /Invalid address type 'pci'/,
  );
});

Deno.test("validateAddresses refuses USB ports beyond their controller or hub", () => {
  const usb = (controller: string, devices: string) =>
    validateAddresses(domain("pc", `${controller}${devices}`));
  const uhci = "<controller type='usb' index='0' model='piix3-uhci'/>";
  const tablet = (port: string) =>
    `<input type='tablet' bus='usb'><address type='usb' bus='0' port='${port}'/></input>`;
  assert.throws(() => usb(uhci, tablet("3")), /requested USB port 3 not present on USB bus 0$/);
  usb(uhci, tablet("2"));
  const hub = "<hub type='usb'><address type='usb' bus='0' port='1'/></hub>";
  assert.throws(
    () => usb(uhci, hub + tablet("1.9")),
    /requested USB port 1.9 not present on USB bus 0$/,
  );
  usb(uhci, hub + tablet("1.8"));
  assert.throws(
    () => usb(uhci, tablet("3.1")),
    /port 3 out of range in USB address bus: 0 port: 3.1$/,
  );
  // q35's default controller is an xHCI with four ports.
  assert.throws(
    () => validateAddresses(domain("q35", "<controller type='usb' index='0'/>" + tablet("5"))),
    /not present/,
  );
});

Deno.test("validateAddresses refuses an xHCI controller with more than 15 ports", () => {
  assert.throws(
    () => validateAddresses(domain("pc", "<controller type='usb' model='nec-xhci' ports='16'/>")),
    /'nec-xhci' controller only supports up to '15' ports$/,
  );
  validateAddresses(domain("pc", "<controller type='usb' model='qemu-xhci' ports='15'/>"));
});

Deno.test("validateAddresses refuses an address on a PCI root controller", () => {
  assert.throws(
    () =>
      validateAddresses(
        domain(
          "pc",
          "<controller type='pci' index='0' model='pci-root'><address type='pci' bus='0' slot='3'/></controller>",
        ),
      ),
    /pci-root and pcie-root controllers should not have an address$/,
  );
});
