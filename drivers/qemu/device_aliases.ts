/**
 * The device aliases of a running QEMU instance, as libvirt 9.0 names them at start
 * (`qemuAssignDeviceAliases`): they are the `id=` of each `-device` on the command line and
 * show in the live XML as `<alias name=…/>` (the inactive XML leaves them out, except the
 * `ua-` aliases a user chose, which are kept as they are).
 *
 * - disks: `virtio-diskN` / `usb-diskN` (N from the target name: `vdb` is 1), `ideC-B-U`,
 *   `sataC-0-U`, `scsiC-0-T-U`, `fdc0-0-U` from the drive address;
 * - controllers: `pci.N` (`pcie.0` for the PCIe root), `usb` / `usbN`, `ide` for i440fx's
 *   IDE and q35's built-in SATA, `sataN`, `scsiN`, `virtio-serialN`, `fdcN`, `ccidN`;
 * - the others by kind and position: `netN`, `soundN`, `hostdevN`, `redirN`, `videoN`,
 *   `inputN`, `serialN`, `parallelN`, `channelN`, `consoleN` (the first console, when it names
 *   serial port 0, shares `serial0`), `hubN`, `shmemN`, `smartcardN`, `watchdogN`, `rngN`,
 *   `tpmN`, `balloon0`.
 *
 * @module
 */

import type { Controller, Disk, DomainDefinition } from "../../src/model/domain.ts";

const USER_ALIAS_PREFIX = "ua-";

/**
 * Returns `definition` with an alias on every device that has none (a `ua-` alias a user
 * chose is kept). Pure.
 *
 * @example
 * ```ts
 * import { assignDeviceAliases } from "./device_aliases.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * const devices = emptyDevices();
 * devices.disks.push({ target: { dev: "vdb", bus: "virtio" } });
 * devices.interfaces.push({ type: "user", alias: "ua-uplink" });
 * const live = assignDeviceAliases({ type: "qemu", name: "vm", memoryKiB: 1, vcpus: 1, os: { type: "hvm", boot: [] }, devices });
 * console.log(live.devices.disks[0].alias, live.devices.interfaces[0].alias); // "virtio-disk1" "ua-uplink"
 * ```
 */
export function assignDeviceAliases(definition: DomainDefinition): DomainDefinition {
  const def = structuredClone(definition);
  const devices = def.devices;
  const q35 = /^(q35|pc-q35-)/.test(def.os.machine ?? "");
  const name = <T extends { alias?: string }>(device: T, alias: string | undefined) => {
    if (alias === undefined) return;
    if (device.alias === undefined || !device.alias.startsWith(USER_ALIAS_PREFIX)) {
      device.alias = alias;
    }
  };
  devices.disks.forEach((disk) => name(disk, diskAlias(disk)));
  devices.controllers.forEach((controller) => name(controller, controllerAlias(controller, q35)));
  const byPosition: [{ alias?: string }[], string][] = [
    [devices.interfaces, "net"],
    [devices.sounds, "sound"],
    [devices.hostdevs, "hostdev"],
    [devices.redirdevs, "redir"],
    [devices.videos, "video"],
    [devices.inputs, "input"],
    [devices.serials, "serial"],
    [devices.parallels, "parallel"],
    [devices.channels, "channel"],
    [devices.hubs, "hub"],
    [devices.shmems, "shmem"],
    [devices.smartcards, "smartcard"],
    [devices.watchdogs, "watchdog"],
    [devices.rngs, "rng"],
    [devices.tpms, "tpm"],
  ];
  for (const [list, prefix] of byPosition) {
    list.forEach((device, index) => name(device, `${prefix}${index}`));
  }
  devices.consoles.forEach((console, index) => {
    const sharesSerial = index === 0 && (console.target?.type ?? "serial") === "serial" &&
      devices.serials.length > 0;
    name(console, sharesSerial ? devices.serials[0].alias : `console${index}`);
  });
  const balloon = devices.memballoon;
  if (balloon !== undefined && balloon.model !== "none") name(balloon, "balloon0");
  return def;
}

/** The alias of a disk, from its target name or drive address; undefined when it has neither. */
function diskAlias(disk: Disk): string | undefined {
  const bus = disk.target.bus ?? "ide";
  if (bus === "virtio" || bus === "usb") {
    const letters = /^[a-z]d([a-z]+)$/.exec(disk.target.dev)?.[1];
    if (letters === undefined) return undefined;
    let index = 0;
    for (const letter of letters) index = index * 26 + (letter.charCodeAt(0) - 96);
    return `${bus === "virtio" ? "virtio-disk" : "usb-disk"}${index - 1}`;
  }
  const address = disk.address;
  if (address?.type !== "drive") return undefined;
  const controller = address.controller ?? 0;
  const unit = address.unit ?? 0;
  switch (bus) {
    case "ide":
      return `ide${controller}-${address.bus ?? 0}-${unit}`;
    case "sata":
      return `sata${controller}-0-${unit}`;
    case "scsi":
      return `scsi${controller}-0-${address.target ?? 0}-${unit}`;
    case "fdc":
      return `fdc0-0-${unit}`;
    default:
      return undefined;
  }
}

function controllerAlias(controller: Controller, q35: boolean): string {
  const index = controller.index ?? 0;
  switch (controller.type) {
    case "pci":
      return controller.model === "pcie-root" ? "pcie.0" : `pci.${index}`;
    case "usb":
      return index === 0 ? "usb" : `usb${index}`;
    case "ide":
      return index === 0 ? "ide" : `ide${index}`;
    case "sata":
      return q35 && index === 0 ? "ide" : `sata${index}`;
    default:
      return `${controller.type}${index}`;
  }
}
