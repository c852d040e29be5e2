/**
 * The guest address of a `<vsock>` device, which the typed model keeps as XML (the QEMU driver
 * does not run it: it needs the host's `/dev/vhost-vsock`): its `<address>` child read and
 * written as a {@linkcode DeviceAddress}, so define-time PCI assignment gives it its slot as
 * libvirt does (a virtio device, after the PCI serial ports).
 *
 * @module
 */

import type { DeviceAddress, DomainDevices } from "../../src/model/domain.ts";
import type { XmlElement } from "../../src/model/xml_extra.ts";

/** A `<vsock>` element seen as a device with an address. */
export interface VsockDevice {
  /** `model` (virtio, virtio-transitional, virtio-non-transitional). */
  readonly model: string | undefined;
  /** Its `<address>`, read from and written to the element. */
  address: DeviceAddress | undefined;
}

/**
 * The `<vsock>` of `devices`, if it has one, as a device whose address lives in its element.
 *
 * @example
 * ```ts
 * import { vsockDevice } from "./vsock_address.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * const devices = { ...emptyDevices(), extra: { elements: [{ element: { name: "vsock" } }] } };
 * const vsock = vsockDevice(devices)!;
 * vsock.address = { type: "pci", domain: 0, bus: 0, slot: 5, function: 0 };
 * console.log(devices.extra.elements[0].element.children);
 * // [{ name: "address", attributes: { type: "pci", domain: "0x0000", bus: "0x00", slot: "0x05", function: "0x0" } }]
 * ```
 */
export function vsockDevice(devices: DomainDevices): VsockDevice | undefined {
  const element = devices.extra?.elements?.find((placed) => placed.element.name === "vsock")
    ?.element;
  if (element === undefined) return undefined;
  return {
    model: element.attributes?.model,
    get address() {
      const child = addressChild(element);
      return child === undefined ? undefined : toDeviceAddress(child);
    },
    set address(address: DeviceAddress | undefined) {
      const children = (element.children ?? []).filter((child) =>
        typeof child === "string" || child.name !== "address"
      );
      if (address !== undefined) {
        children.push({ name: "address", attributes: toAttributes(address) });
      }
      element.children = children;
    },
  };
}

function addressChild(element: XmlElement): XmlElement | undefined {
  return element.children?.find((child): child is XmlElement =>
    typeof child !== "string" && child.name === "address"
  );
}

function toDeviceAddress(child: XmlElement): DeviceAddress {
  const attributes = child.attributes ?? {};
  const address: DeviceAddress = { type: attributes.type ?? "" };
  if (address.type !== "pci") return address;
  for (const name of ["domain", "bus", "slot", "function"] as const) {
    const text = attributes[name];
    if (text === undefined) continue;
    const value = text.startsWith("0x") ? Number.parseInt(text.slice(2), 16) : Number(text);
    if (Number.isInteger(value)) address[name] = value;
  }
  if (attributes.multifunction !== undefined) address.multifunction = attributes.multifunction;
  return address;
}

function toAttributes(address: DeviceAddress): Record<string, string> {
  const hex = (value: number | undefined, digits: number) =>
    `0x${(value ?? 0).toString(16).padStart(digits, "0")}`;
  return {
    type: address.type,
    domain: hex(address.domain, 4),
    bus: hex(address.bus, 2),
    slot: hex(address.slot, 2),
    function: hex(address.function, 1),
    ...(address.multifunction === undefined ? {} : { multifunction: address.multifunction }),
  };
}
