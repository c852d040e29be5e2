/**
 * QEMU arguments for `<controller>`: PCI bridges and ports, USB host controllers, SCSI HBAs,
 * SATA (AHCI) and virtio-serial controllers. Controllers built into the machine (the i440fx IDE
 * and PIIX3 USB functions' bus, q35's AHCI, the PCI roots) need no argument. Controllers that
 * devices need but the definition leaves out are added with libvirt's default model, as
 * libvirt's define-time defaults would.
 *
 * @module
 */

import type { Controller, DeviceAddress } from "../../src/model/domain.ts";
import type { ArgumentCollector } from "./argument_collector.ts";
import { refuseConfig, refuseExtra } from "./config_refusal.ts";
import { qemuOption, type QemuOptionValue } from "./qemu_option.ts";

/** A controller some device needs: its type and index. */
export interface NeededController {
  type: string;
  index: number;
}

/** QEMU devices of PCI controller models, and the ones `<model name>` may choose. */
const PCI_MODELS: Record<string, string[]> = {
  "pci-bridge": ["pci-bridge"],
  "pcie-root-port": ["pcie-root-port", "ioh3420"],
  "dmi-to-pci-bridge": ["i82801b11-bridge"],
  "pcie-to-pci-bridge": ["pcie-pci-bridge"],
  "pcie-switch-upstream-port": ["x3130-upstream"],
  "pcie-switch-downstream-port": ["xio3130-downstream"],
  "pci-expander-bus": ["pxb"],
  "pcie-expander-bus": ["pxb-pcie"],
};

/** QEMU devices of USB controller models. */
const USB_MODELS: Record<string, string> = {
  "piix3-uhci": "piix3-usb-uhci",
  "piix4-uhci": "piix4-usb-uhci",
  ehci: "usb-ehci",
  "ich9-ehci1": "ich9-usb-ehci1",
  "ich9-uhci1": "ich9-usb-uhci1",
  "ich9-uhci2": "ich9-usb-uhci2",
  "ich9-uhci3": "ich9-usb-uhci3",
  "vt82c686b-uhci": "vt82c686b-usb-uhci",
  "pci-ohci": "pci-ohci",
  "nec-xhci": "nec-usb-xhci",
  "qemu-xhci": "qemu-xhci",
};

/** QEMU devices of SCSI controller models. */
const SCSI_MODELS: Record<string, string> = {
  lsilogic: "lsi",
  lsisas1068: "mptsas1068",
  lsisas1078: "megasas-gen2",
  vmpvscsi: "pvscsi",
  "virtio-scsi": "virtio-scsi-pci",
  "virtio-transitional": "virtio-scsi-pci-transitional",
  "virtio-non-transitional": "virtio-scsi-pci-non-transitional",
};

/** The SCSI model libvirt picks for x86 when none is given. */
export const SCSI_MODEL_DEFAULT = "lsilogic";

/**
 * The effective model of every SCSI controller (given or needed), by index.
 *
 * @example
 * ```ts ignore
 * scsiModels(definition.devices.controllers, [{ type: "scsi", index: 0 }]).get(0); // "lsilogic"
 * ```
 */
export function scsiModels(
  controllers: Controller[],
  needed: NeededController[],
): Map<number, string> {
  const models = new Map<number, string>();
  for (const controller of controllers) {
    if (controller.type === "scsi") {
      models.set(controller.index ?? 0, controller.model ?? SCSI_MODEL_DEFAULT);
    }
  }
  for (const need of needed) {
    if (need.type === "scsi" && !models.has(need.index)) models.set(need.index, SCSI_MODEL_DEFAULT);
  }
  return models;
}

/**
 * Adds the arguments of every controller, then of the needed ones the definition left out.
 *
 * @param controllers The definition's controllers.
 * @param needed Controllers devices need (type and index).
 * @param collector Where arguments go.
 * @throws {VirtError} 67 naming the first unsupported controller or attribute.
 *
 * @example
 * ```ts ignore
 * addControllerArguments(definition.devices.controllers, [{ type: "scsi", index: 0 }], collector);
 * ```
 */
export function addControllerArguments(
  controllers: Controller[],
  needed: NeededController[],
  collector: ArgumentCollector,
): void {
  const listed = controllers.map((controller, position) => ({ controller, position }));
  for (const controller of controllers) {
    if (controller.type === "usb" && controller.model === "ich9-ehci1") {
      collector.usbMasters.add(controller.index ?? 0);
    }
  }
  // PCI controllers first, by index, so every bridge exists before what plugs into it.
  const ordered = [
    ...listed.filter(({ controller }) => controller.type === "pci")
      .sort((a, b) => (a.controller.index ?? 0) - (b.controller.index ?? 0)),
    // An ICH9 UHCI companion names its EHCI master's bus, which must exist before it.
    ...listed.filter(({ controller }) => controller.type !== "pci" && controller.type !== "ccid")
      .sort((a, b) => companionRank(a.controller) - companionRank(b.controller)),
  ];
  for (const { controller, position } of ordered) {
    addController(controller, `/domain/devices/controller[${position + 1}]`, collector);
  }
  // A CCID controller is a USB device: it follows the USB controllers, implicit ones included.
  const ccids = listed.filter(({ controller }) => controller.type === "ccid");
  const present = new Set(controllers.map((each) => `${each.type}:${each.index ?? 0}`));
  for (const need of needed) {
    const key = `${need.type}:${need.index}`;
    if (present.has(key)) continue;
    present.add(key);
    addController({ type: need.type, index: need.index }, "/domain/devices", collector);
  }
  for (const { controller, position } of ccids) {
    addController(controller, `/domain/devices/controller[${position + 1}]`, collector);
  }
}

/** 1 for a USB companion controller, 0 for any other: companions go after every master. */
function companionRank(controller: Controller): number {
  return controller.type === "usb" && controller.model?.startsWith("ich9-uhci") === true ? 1 : 0;
}

function addController(controller: Controller, where: string, collector: ArgumentCollector): void {
  refuseExtra(controller.extra, where, {
    elements: (name) => name === "pcihole64" && controller.type === "pci",
    children: (name) => name === "target" && controller.model?.endsWith("expander-bus") === true,
  });
  const index = controller.index ?? 0;
  switch (controller.type) {
    case "pci":
      addPciController(controller, index, where, collector);
      return;
    case "usb":
      addUsbController(controller, index, where, collector);
      return;
    case "scsi":
      addScsiController(controller, index, where, collector);
      return;
    case "sata":
      noDriverOrTarget(controller, where);
      // q35 has an AHCI controller built in as controller 0.
      if (collector.family === "q35" && index === 0) return;
      collector.device(
        qemuOption("ahci", { id: `sata${index}`, ...pci(controller, where, collector) }),
      );
      return;
    case "ide":
      noDriverOrTarget(controller, where);
      if (collector.family === "i440fx" && index === 0) return;
      throw refuseConfig(
        `${where}/@type`,
        "IDE controllers are unsupported for this QEMU binary or machine type",
      );
    case "fdc":
    case "isa":
      noDriverOrTarget(controller, where);
      // i440fx and q35 have an ISA bus; the i440fx floppy controller is built in.
      if (controller.type === "fdc" && collector.family === "q35") {
        collector.device(qemuOption("isa-fdc", { id: `fdc${index}` }));
      }
      return;
    case "virtio-serial":
      addVirtioSerialController(controller, index, where, collector);
      return;
    case "ccid":
      noDriverOrTarget(controller, where);
      collector.device(qemuOption("usb-ccid", { id: `ccid${index}`, bus: "usb.0" }));
      return;
    default:
      throw refuseConfig(
        `${where}/@type`,
        `controller type '${controller.type}' is not supported`,
      );
  }
}

function addPciController(
  controller: Controller,
  index: number,
  where: string,
  collector: ArgumentCollector,
): void {
  const model = controller.model ?? (index === 0 ? rootModel(collector) : "pci-bridge");
  if (model === "pci-root" || model === "pcie-root") {
    if (model !== rootModel(collector) || index !== 0) {
      throw refuseConfig(
        `${where}/@model`,
        `the PCI controller with index='${index}' must be model='${
          rootModel(collector)
        }' for this machine type`,
      );
    }
    addPciHole64(controller, where, collector);
    return;
  }
  const devices = PCI_MODELS[model];
  if (devices === undefined) {
    throw refuseConfig(`${where}/@model`, `PCI controller model '${model}' is not supported`);
  }
  const device = controller.modelName ?? devices[0];
  if (!devices.includes(device)) {
    throw refuseConfig(
      `${where}/model/@name`,
      `PCI controller model name '${device}' does not fit model '${model}'`,
    );
  }
  if (controller.driver !== undefined) {
    throw refuseConfig(`${where}/driver`, "driver options of PCI controllers are not supported");
  }
  const target = controller.target ?? {};
  const targetProperties: Record<string, QemuOptionValue> = {};
  for (const [name, value] of Object.entries(target)) {
    const property = PCI_TARGET_PROPERTIES[model]?.[name];
    if (property === undefined) {
      throw refuseConfig(
        `${where}/target/@${name}`,
        `PCI controller target attribute '${name}' is not supported for model '${model}'`,
      );
    }
    targetProperties[property] = value;
  }
  if (model === "pci-bridge") targetProperties["chassis_nr"] ??= index;
  const node = expanderNode(controller, where);
  if (node !== undefined) targetProperties["numa_node"] = node;
  if (model.endsWith("expander-bus")) {
    // Expander buses take bus numbers from the top down, 2 apart, as libvirt assigns them.
    targetProperties["bus_nr"] ??= collector.nextExpanderBusNumber();
    collector.claimExpanderBusNumber(Number(targetProperties["bus_nr"]));
  }
  if (model === "pcie-root-port" || model === "pcie-switch-downstream-port") {
    targetProperties.chassis ??= index;
  }
  collector.device(qemuOption(device, {
    ...targetProperties,
    id: `pci.${index}`,
    ...downstreamOrPci(controller, model, where, collector),
  }));
  if (model === "pcie-switch-upstream-port") collector.switchUpstreamIndex = index;
}

/** A downstream port without an address goes on the last upstream port, as libvirt places it. */
function downstreamOrPci(
  controller: Controller,
  model: string,
  where: string,
  collector: ArgumentCollector,
): Record<string, QemuOptionValue> {
  if (model !== "pcie-switch-downstream-port" || controller.address !== undefined) {
    return pci(controller, where, collector);
  }
  const upstream = collector.switchUpstreamIndex;
  if (upstream === undefined) {
    throw refuseConfig(
      `${where}/address`,
      "a pcie-switch-downstream-port needs a pcie-switch-upstream-port before it",
    );
  }
  const placement = collector.slotOnBus(upstream, where);
  return { bus: placement.bus, addr: placement.addr };
}

/** `<pcihole64>` of the root bus: the 64-bit PCI hole's size, a property of the host bridge. */
function addPciHole64(controller: Controller, where: string, collector: ArgumentCollector): void {
  const hole = controller.extra?.elements?.find((placed) => placed.element.name === "pcihole64");
  if (hole === undefined) return;
  const text = (hole.element.children ?? []).filter((child) => typeof child === "string").join("")
    .trim();
  const unit = hole.element.attributes?.unit ?? "KiB";
  const factor = ({ KiB: 1, MiB: 1024, GiB: 1024 * 1024 } as Record<string, number>)[unit];
  const sizeKiB = Number(text) * (factor ?? Number.NaN);
  if (!Number.isSafeInteger(sizeKiB) || sizeKiB < 0) {
    throw refuseConfig(`${where}/pcihole64`, `invalid pcihole64 size '${text}' ${unit}`);
  }
  const host = collector.family === "q35" ? "q35-pcihost" : "i440FX-pcihost";
  collector.push("-global", `${host}.pci-hole64-size=${sizeKiB}K`);
}

/** The guest NUMA node of a PCI expander bus (`<target><node>N</node>`), if given. */
function expanderNode(controller: Controller, where: string): number | undefined {
  const leftover = controller.extra?.children?.target;
  if (leftover === undefined) return undefined;
  let node: number | undefined;
  for (const placed of leftover.elements ?? []) {
    const text = (placed.element.children ?? []).filter((child) => typeof child === "string")
      .join("").trim();
    if (placed.element.name !== "node" || !/^[0-9]+$/.test(text)) {
      throw refuseConfig(
        `${where}/target/${placed.element.name}`,
        `element '${placed.element.name}' is not supported`,
      );
    }
    node = Number(text);
  }
  if (leftover.attributes !== undefined || leftover.text !== undefined) {
    throw refuseConfig(`${where}/target`, "unsupported content of the controller target");
  }
  return node;
}

/** Which `<target>` attributes each PCI model takes, and the QEMU property each sets. */
const PCI_TARGET_PROPERTIES: Record<string, Record<string, string>> = {
  "pci-bridge": { chassisNr: "chassis_nr" },
  "pcie-root-port": { chassis: "chassis", port: "port", hotplug: "hotplug" },
  "pcie-switch-downstream-port": { chassis: "chassis", port: "port", hotplug: "hotplug" },
  "pci-expander-bus": { busNr: "bus_nr" },
  "pcie-expander-bus": { busNr: "bus_nr" },
};

function rootModel(collector: ArgumentCollector): string {
  return collector.family === "q35" ? "pcie-root" : "pci-root";
}

function addUsbController(
  controller: Controller,
  index: number,
  where: string,
  collector: ArgumentCollector,
): void {
  if (controller.driver !== undefined || controller.target !== undefined) {
    throw refuseConfig(`${where}/driver`, "driver and target of USB controllers are not supported");
  }
  if (controller.model === "none") return;
  const model = controller.model ?? (collector.family === "q35" ? "qemu-xhci" : "piix3-uhci");
  const device = USB_MODELS[model];
  if (device === undefined) {
    throw refuseConfig(`${where}/@model`, `USB controller model '${model}' is not supported`);
  }
  const id = usbControllerId(index);
  const companion = model.startsWith("ich9-uhci");
  // Companion UHCIs cover the EHCI's ports in pairs: uhci1 from 0, uhci2 from 2, uhci3 from 4.
  const firstport = controller.masterStartport ?? 2 * (Number(model.slice(-1)) - 1);
  if (companion && !collector.usbMasters.has(index)) {
    throw refuseConfig(
      `${where}/@model`,
      `USB companion controller ${model} has no ich9-ehci1 master with index ${index}`,
    );
  }
  const properties: Record<string, QemuOptionValue> = companion
    ? { masterbus: `${id}.0`, firstport }
    : { id };
  if (controller.ports !== undefined) {
    if (!model.endsWith("xhci")) {
      throw refuseConfig(`${where}/@ports`, `ports is only supported on xhci USB controllers`);
    }
    properties.p2 = controller.ports;
    properties.p3 = controller.ports;
  }
  // libvirt's default place of the i440fx UHCI is function 2 of the PIIX3 slot.
  const placement = model === "piix3-uhci" && controller.address === undefined &&
      collector.family === "i440fx"
    ? { bus: "pci.0", addr: "0x1.0x2" }
    : pci(controller, where, collector);
  collector.device(qemuOption(device, { ...properties, ...placement }));
}

/**
 * The QEMU id of USB controller `index` (`usb`, then `usb1`, …); its bus is `<id>.0`.
 *
 * @example
 * ```ts
 * import { usbControllerId } from "./controller_arguments.ts";
 * console.log(usbControllerId(0), usbControllerId(2)); // "usb" "usb2"
 * ```
 */
export function usbControllerId(index: number): string {
  return index === 0 ? "usb" : `usb${index}`;
}

/**
 * `bus` and `port` of a USB device: its `<address type='usb' bus port>` (bus = controller
 * index), or controller 0 with QEMU choosing the port.
 *
 * @throws {VirtError} 67 for another address type.
 *
 * @example
 * ```ts
 * import { usbPlacement } from "./controller_arguments.ts";
 * console.log(usbPlacement({ type: "usb", bus: 1, port: "2" }, "/domain/devices/input[1]"));
 * // { bus: "usb1.0", port: "2" }
 * ```
 */
export function usbPlacement(
  address: DeviceAddress | undefined,
  where: string,
): Record<string, QemuOptionValue> {
  if (address === undefined) return { bus: "usb.0" };
  if (address.type !== "usb") {
    throw refuseConfig(
      `${where}/address/@type`,
      `address type '${address.type}' is not supported for a USB device`,
    );
  }
  return { bus: `${usbControllerId(address.bus ?? 0)}.0`, port: address.port };
}

function addScsiController(
  controller: Controller,
  index: number,
  where: string,
  collector: ArgumentCollector,
): void {
  const model = controller.model ?? SCSI_MODEL_DEFAULT;
  const device = SCSI_MODELS[model];
  if (device === undefined) {
    throw refuseConfig(`${where}/@model`, `SCSI controller model '${model}' is not supported`);
  }
  const virtio = device.startsWith("virtio");
  const properties: Record<string, QemuOptionValue> = {};
  for (const [name, value] of Object.entries(controller.driver ?? {})) {
    const property = virtio ? VIRTIO_SCSI_DRIVER[name] : undefined;
    if (property === undefined) {
      throw refuseConfig(
        `${where}/driver/@${name}`,
        `SCSI controller driver attribute '${name}' is not supported`,
      );
    }
    properties[property] = name === "iothread" ? `iothread${value}` : value;
  }
  if (controller.target !== undefined) {
    throw refuseConfig(`${where}/target`, "target of SCSI controllers is not supported");
  }
  collector.device(qemuOption(device, {
    id: `scsi${index}`,
    ...properties,
    ...pci(controller, where, collector),
  }));
}

const VIRTIO_SCSI_DRIVER: Record<string, string> = {
  queues: "num_queues",
  iothread: "iothread",
  cmd_per_lun: "cmd_per_lun",
  max_sectors: "max_sectors",
};

function addVirtioSerialController(
  controller: Controller,
  index: number,
  where: string,
  collector: ArgumentCollector,
): void {
  noDriverOrTarget(controller, where);
  collector.device(qemuOption("virtio-serial-pci", {
    id: `virtio-serial${index}`,
    max_ports: controller.ports,
    vectors: controller.vectors,
    ...pci(controller, where, collector),
  }));
}

function noDriverOrTarget(controller: Controller, where: string): void {
  if (controller.driver !== undefined) {
    throw refuseConfig(
      `${where}/driver`,
      `driver of ${controller.type} controllers is not supported`,
    );
  }
  if (controller.target !== undefined) {
    throw refuseConfig(
      `${where}/target`,
      `target of ${controller.type} controllers is not supported`,
    );
  }
  if (controller.model !== undefined && controller.type !== "virtio-serial") {
    throw refuseConfig(
      `${where}/@model`,
      `${controller.type} controller model '${controller.model}' is not supported`,
    );
  }
}

function pci(
  controller: Controller,
  where: string,
  collector: ArgumentCollector,
): Record<string, QemuOptionValue> {
  const placement = collector.pciPlacement(controller.address, where);
  return { bus: placement.bus, addr: placement.addr, multifunction: placement.multifunction };
}
