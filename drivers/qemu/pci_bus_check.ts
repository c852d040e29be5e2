/**
 * A check before the build: every explicit `<address type='pci' bus='N'>` names a bus that
 * exists, i.e. bus 0 (the root) or a PCI controller with `index='N'`. QEMU refuses a device on
 * a bus it was not given (`Bus 'pci.N' not found`); libvirt adds the missing bridges when it
 * defines the domain, so a definition that reaches the driver without them is refused here, by
 * element, before anything starts.
 *
 * @module
 */

import type { DeviceAddress, DomainDefinition } from "../../src/model/domain.ts";
import { DEVICES } from "../../src/model/domain_schema.ts";
import { refuseConfig } from "./config_refusal.ts";

/** Device list fields by their element name: `disks` → `disk`. */
const ELEMENT_NAMES: ReadonlyMap<string, string> = new Map(
  DEVICES.children.map((child) => [(child as { field?: string }).field ?? child.xml, child.xml]),
);

/**
 * Throws for the first explicit PCI address whose bus no PCI controller provides.
 *
 * @param definition The definition about to be built.
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) naming the address.
 *
 * @example
 * ```ts
 * import { checkPciBuses } from "./pci_bus_check.ts";
 * import { parseDomainXml } from "../../src/xml/mod.ts";
 * const definition = parseDomainXml(
 *   "<domain type='qemu'><name>vm</name><memory>65536</memory><os><type>hvm</type></os>" +
 *     "<devices><memballoon model='virtio'><address type='pci' bus='3' slot='1'/></memballoon></devices></domain>",
 * );
 * try {
 *   checkPciBuses(definition);
 * } catch (error) {
 *   console.log((error as { where: string }).where); // "/domain/devices/memballoon[1]/address/@bus"
 * }
 * ```
 */
export function checkPciBuses(definition: DomainDefinition): void {
  const buses = new Set([0]);
  for (const controller of definition.devices.controllers) {
    if (controller.type === "pci" && controller.index !== undefined) buses.add(controller.index);
  }
  for (const [field, value] of Object.entries(definition.devices)) {
    if (field === "extra" || field === "emulator") continue;
    const list = (Array.isArray(value) ? value : [value]) as (
      | { address?: DeviceAddress }
      | undefined
    )[];
    const name = ELEMENT_NAMES.get(field) ?? field;
    list.forEach((device, index) => {
      const address = device?.address;
      if (address?.type !== "pci" || address.slot === undefined) return;
      const bus = address.bus ?? 0;
      if (buses.has(bus)) return;
      throw refuseConfig(
        `/domain/devices/${name}[${index + 1}]/address/@bus`,
        `PCI bus ${bus} does not exist: no PCI controller has index='${bus}'`,
      );
    });
  }
}
