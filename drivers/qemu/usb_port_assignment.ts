/**
 * USB port assignment at define time, as libvirt 9.0's (`qemuDomainAssignUSBAddresses`): each
 * USB controller is the root hub of a bus with its model's port count, each `<hub type='usb'>`
 * adds a hub of 8 ports on the port it takes, and a device without a port takes the first free
 * port found depth first: the free ports of a hub before those of the hubs below it, the buses
 * in index order (only its own when the address names a bus). Ports are written as paths
 * (`1.2` is port 2 of the hub on port 1). Ports already given are kept and taken first; hubs are
 * placed before the other devices, which follow libvirt's order (host devices, disks, ccid
 * controllers, inputs, serial ports, sound cards, redirected devices).
 *
 * @module
 */

import type { DeviceAddress, DomainDevices } from "../../src/model/domain.ts";

/** Ports of a USB controller's root hub, by model. */
export const USB_PORTS: Readonly<Record<string, number>> = {
  "piix3-uhci": 2,
  "piix4-uhci": 2,
  "vt82c686b-uhci": 2,
  ehci: 6,
  "ich9-ehci1": 6,
  "pci-ohci": 3,
  "qemu-xhci": 4,
  "nec-xhci": 4,
};

/** Ports of a `usb-hub` (QEMU's and libvirt's count). */
const HUB_PORTS = 8;

/** Deepest port path QEMU's USB bus accepts (five tiers of hubs). */
const MAX_DEPTH = 5;

/** A hub: which of its ports are taken, and the hubs plugged into them. */
interface Hub {
  taken: boolean[];
  below: (Hub | undefined)[];
}

function newHub(ports: number): Hub {
  return { taken: new Array(ports).fill(false), below: new Array(ports).fill(undefined) };
}

/** The port numbers of a path (`"1.2"` → `[1, 2]`), or undefined when it is not one. */
function parsePath(port: string): number[] | undefined {
  const parts = port.split(".").map(Number);
  return parts.every((part) => Number.isInteger(part) && part >= 1) ? parts : undefined;
}

/** The hub a path's last port belongs to, or undefined where no hub is known there. */
function hubOf(root: Hub, path: number[]): Hub | undefined {
  let hub: Hub | undefined = root;
  for (const port of path.slice(0, -1)) hub = hub?.below[port - 1];
  return hub;
}

/** The first free port under `hub`, depth first, as a path; undefined when all are taken. */
function freePort(hub: Hub, depth: number): number[] | undefined {
  const free = hub.taken.indexOf(false);
  if (free >= 0) return [free + 1];
  if (depth >= MAX_DEPTH) return undefined;
  for (const [index, next] of hub.below.entries()) {
    if (next === undefined) continue;
    const path = freePort(next, depth + 1);
    if (path !== undefined) return [index + 1, ...path];
  }
  return undefined;
}

/** Something that may carry a USB address. */
interface UsbUser {
  address?: DeviceAddress;
}

/**
 * Gives every USB device without a port one, in place.
 *
 * @param devices The definition's devices (controllers already completed with models).
 *
 * @example
 * ```ts
 * import { assignUsbPorts } from "./usb_port_assignment.ts";
 * const devices = {
 *   controllers: [{ type: "usb", index: 0, model: "piix3-uhci" }],
 *   hubs: [{ type: "usb" }],
 *   inputs: [{ type: "mouse", bus: "usb" }, { type: "mouse", bus: "usb" }],
 * } as unknown as Parameters<typeof assignUsbPorts>[0];
 * assignUsbPorts(devices);
 * console.log(devices.inputs[1].address?.port); // "1.1"
 * ```
 */
export function assignUsbPorts(devices: DomainDevices): void {
  const roots = new Map<number, Hub>();
  const controllers = devices.controllers.filter((each) =>
    each.type === "usb" && USB_PORTS[each.model ?? ""] !== undefined
  ).sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  for (const controller of controllers) {
    roots.set(controller.index ?? 0, newHub(controller.ports ?? USB_PORTS[controller.model!]));
  }
  const hubs: UsbUser[] = devices.hubs.filter((each) => each.type === "usb");
  const others: UsbUser[] = [
    ...devices.hostdevs.filter((each) => each.type === "usb"),
    ...devices.disks.filter((each) => each.target.bus === "usb"),
    ...devices.controllers.filter((each) => each.type === "ccid"),
    ...devices.inputs.filter((each) => each.bus === "usb"),
    ...devices.serials.filter((each) => each.target?.type === "usb-serial"),
    ...devices.sounds.filter((each) => each.model === "usb"),
    ...devices.redirdevs,
  ];
  const given = (user: UsbUser) =>
    user.address?.type === "usb" && user.address.port !== undefined
      ? parsePath(user.address.port)
      : undefined;
  // Ports already given, hubs nearest the root first so the hubs below them exist.
  const placed = [...hubs, ...others].filter((user) => given(user) !== undefined)
    .sort((a, b) => given(a)!.length - given(b)!.length);
  for (const user of placed) {
    const path = given(user)!;
    const root = roots.get(user.address!.bus ?? 0);
    const hub = root === undefined ? undefined : hubOf(root, path);
    const port = path[path.length - 1] - 1;
    if (hub === undefined || port >= hub.taken.length) continue;
    hub.taken[port] = true;
    if (hubs.includes(user)) hub.below[port] = newHub(HUB_PORTS);
  }
  for (const user of [...hubs, ...others]) {
    const address = user.address;
    // No address, or a USB one that names only its bus: a port on that bus is wanted.
    if (address !== undefined && (address.type !== "usb" || address.port !== undefined)) continue;
    for (const [bus, root] of roots) {
      if (address?.bus !== undefined && address.bus !== bus) continue;
      const path = freePort(root, 1);
      if (path === undefined) continue;
      const hub = hubOf(root, path)!;
      const port = path[path.length - 1] - 1;
      hub.taken[port] = true;
      if (hubs.includes(user)) hub.below[port] = newHub(HUB_PORTS);
      user.address = { type: "usb", bus, port: path.join(".") };
      break;
    }
  }
}
