/**
 * Devices of a running QEMU instance, changed as libvirt 9.0's QEMU driver changes them:
 * a disk is plugged with `blockdev-add` (its protocol and format nodes, as at start) then
 * `device_add`; a device is unplugged by asking the guest (`device_del`), and its block nodes
 * are removed once QEMU reports DEVICE_DELETED; a cdrom or floppy medium is changed with
 * `blockdev-change-medium` or ejected with `eject`.
 *
 * The arguments come from the same command-line builder as a start (so a hotplugged disk gets
 * exactly the `-blockdev` and `-device` it would get at boot), renamed to node names of its own
 * (`<alias>-storage`, `<alias>-format`) so they never collide with the nodes of disks the
 * instance started with. `device_add` goes through HMP, which takes `-device`'s own syntax.
 *
 * @module
 */

import type { Disk, DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { RunningDisk } from "./block_node_facts.ts";
import { refuseConfig } from "./config_refusal.ts";
import { diskEncryptionOf } from "./disk_encryption.ts";
import type { QmpBlockdevOptions, QmpCallOptions, QmpCommands } from "./qmp_commands.ts";

/** Disk buses libvirt's QEMU driver hotplugs a disk on (of those evirt builds). */
const HOTPLUG_DISK_BUSES: readonly string[] = ["virtio", "scsi", "usb"];

/** What a hotplugged disk became: its running disk entry (for block figures). */
export interface PluggedDisk {
  alias: string;
  running: RunningDisk;
}

/**
 * libvirt's refusal of a disk it does not hotplug (code 84).
 *
 * @throws {VirtError} For a cdrom or floppy, or a bus other than virtio, scsi and usb.
 */
export function checkDiskHotplug(disk: Disk): void {
  const device = disk.device ?? "disk";
  if (device === "cdrom" || device === "floppy") {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      `cdrom/floppy device hotplug isn't supported`,
    );
  }
  const bus = disk.target.bus ?? "ide";
  if (!HOTPLUG_DISK_BUSES.includes(bus)) {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      `disk bus '${bus}' cannot be hotplugged.`,
    );
  }
}

/**
 * Plugs the disk at `position` of `live` (the instance's new live definition, completed and
 * aliased) into the guest, from the arguments a start of `live` would give QEMU.
 *
 * @param args The full command line built for `live`.
 * @throws {VirtError} What QEMU answers; the nodes already added are removed again.
 */
export async function plugDisk(
  qmp: QmpCommands,
  live: DomainDefinition,
  position: number,
  args: readonly string[],
  options: QmpCallOptions,
): Promise<PluggedDisk> {
  const disk = live.devices.disks[position];
  const alias = disk.alias;
  if (alias === undefined) throw new Error(`disk ${disk.target.dev} has no alias`);
  refuseEncryptedHotplug(disk);
  const prefix = `drive${position}-`;
  const rename = (name: unknown) =>
    typeof name === "string" && name.startsWith(prefix)
      ? `${alias}-${name.slice(prefix.length)}`
      : name;
  const nodes: QmpBlockdevOptions[] = [];
  let device: string | undefined;
  for (let index = 0; index + 1 < args.length; index++) {
    if (args[index] === "-blockdev") {
      const node = JSON.parse(args[index + 1]) as QmpBlockdevOptions;
      if (!node["node-name"].startsWith(prefix)) continue;
      nodes.push({
        ...node,
        "node-name": rename(node["node-name"]) as string,
        ...(node.file === undefined ? {} : { file: rename(node.file) }),
        ...(node.backing === undefined ? {} : { backing: rename(node.backing) }),
      });
    } else if (args[index] === "-device" && args[index + 1].includes(`,id=${alias}`)) {
      device = args[index + 1].replace(`drive=${prefix}`, `drive=${alias}-`);
    }
  }
  if (device === undefined) throw new Error(`no -device for ${alias} in the command line`);
  const added: string[] = [];
  try {
    for (const node of nodes) {
      await qmp.blockdevAdd(node, options);
      added.push(node["node-name"]);
    }
    await addDevice(qmp, device, options);
  } catch (error) {
    await removeNodes(qmp, added.reverse(), options);
    throw error;
  }
  const format = nodes.find((node) => node.file !== undefined)?.["node-name"];
  const path = disk.type === "block" ? disk.source?.dev : disk.source?.file;
  return {
    alias,
    running: {
      target: disk.target.dev,
      ...(format === undefined ? {} : { nodeName: format }),
      qdevId: alias,
      ...(path === undefined ? {} : { path }),
    },
  };
}

/**
 * Adds a device from its `-device` option text (HMP `device_add` takes that syntax, so a
 * hotplugged device gets exactly what a start gives it).
 *
 * @throws {VirtError} 9 with QEMU's answer.
 */
export async function addDevice(
  qmp: QmpCommands,
  device: string,
  options: QmpCallOptions,
): Promise<void> {
  const answer = await qmp.humanMonitorCommand(`device_add ${device}`, options);
  if (answer.trim() !== "") {
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      `internal error: unable to execute QEMU command 'device_add': ${answer.trim()}`,
    );
  }
}

/**
 * The block nodes behind the device with `alias` (from `query-block`): its format node and the
 * protocol node below it, top first; empty for a device without a medium.
 */
export async function nodesOfDevice(
  qmp: QmpCommands,
  alias: string,
  options: QmpCallOptions,
): Promise<string[]> {
  const blocks = await qmp.queryBlock(options);
  const block = blocks.find((each) =>
    each.qdev === alias || each.qdev === `/machine/peripheral/${alias}/virtio-backend`
  );
  const format = block?.inserted?.["node-name"];
  if (typeof format !== "string" || format === "") return [];
  const nodes = [format];
  if (format.endsWith("-format")) nodes.push(`${format.slice(0, -"-format".length)}-storage`);
  return nodes;
}

/** Removes block nodes nothing uses any more, in order; one that will not go is skipped. */
export async function removeNodes(
  qmp: QmpCommands,
  nodes: readonly string[],
  options: QmpCallOptions,
): Promise<string[]> {
  const failures: string[] = [];
  for (const node of nodes) {
    try {
      await qmp.blockdevDel(node, options);
    } catch (error) {
      failures.push(`${node}: ${(error as Error).message}`);
    }
  }
  return failures;
}

/**
 * Changes the medium of a running cdrom or floppy to `disk`'s source, or ejects it when `disk`
 * has none (libvirt's `qemuDomainChangeEjectableMedia`).
 *
 * @throws {VirtError} 84 for a disk that is not removable; 9 with QEMU's answer.
 */
export async function changeMedium(
  qmp: QmpCommands,
  old: Disk,
  disk: Disk,
  force: boolean,
  options: QmpCallOptions,
): Promise<void> {
  const device = old.device ?? "disk";
  refuseEncryptedHotplug(disk);
  if (device !== "cdrom" && device !== "floppy") {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      "disk source can be changed only in removable drives",
    );
  }
  const alias = old.alias;
  if (alias === undefined) throw new Error(`disk ${old.target.dev} has no alias`);
  const path = disk.type === "block" ? disk.source?.dev : disk.source?.file;
  if (path === undefined || path === "") {
    await qmp.passthrough("eject", { id: alias, force }, options);
    return;
  }
  await qmp.passthrough("blockdev-change-medium", {
    id: alias,
    filename: path,
    format: disk.driver?.type ?? "raw",
    "read-only-mode": "read-only",
    force,
  }, options);
}

/**
 * A LUKS disk's passphrase reaches QEMU as a secret object made at start (disk_encryption.ts);
 * a disk plugged or a medium changed later would name a secret QEMU does not have.
 */
function refuseEncryptedHotplug(disk: Disk): void {
  // Named as in the device XML the caller gave.
  const where = "/disk";
  if (diskEncryptionOf(disk, where) !== undefined) {
    throw refuseConfig(
      `${where}/encryption`,
      "hotplugging a LUKS-encrypted disk is not supported by the qemu driver",
    );
  }
}
