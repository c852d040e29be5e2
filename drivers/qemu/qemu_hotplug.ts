/**
 * The QEMU driver's device changes of running instances: it decides what a change is (the new
 * live definition, completed and aliased as at start; libvirt's refusals) and keeps what an
 * unplug leaves to do (the block nodes to remove once QEMU reports DEVICE_DELETED). The QMP
 * sequences themselves are in device_hotplug.ts.
 *
 * @module
 */

import type { DeviceChange, DomainHandle, LiveDeviceChange } from "../../actors/driver_protocol.ts";
import type { Disk, DomainDefinition, NetInterface } from "../../src/model/domain.ts";
import {
  attachDevice,
  devicePosition,
  diskIndexByTarget,
  unsupportedChange,
  updateDevice,
  withDiskDefaults,
} from "../../src/model/device_edit.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { HostPathRequirement, NetdevBackend } from "./argument_collector.ts";
import type { RunningDisk } from "./block_node_facts.ts";
import {
  changeMedium,
  checkDiskHotplug,
  nodesOfDevice,
  plugDisk,
  removeNodes,
} from "./device_hotplug.ts";
import { checkHostPaths } from "./host_paths.ts";
import { bridgePortOf } from "./bridge_ports.ts";
import type { BridgePort } from "./dac_tap.ts";
import {
  changedInterface,
  netdevOfInterface,
  nextInterfaceAlias,
  plugInterface,
} from "./interface_hotplug.ts";
import type { QmpCommands } from "./qmp_commands.ts";
import { QmpCommandError } from "./qmp_errors.ts";

/** Most unplugs awaiting the guest whose block nodes are remembered (oldest forgotten first). */
export const PENDING_UNPLUGS_MAX = 1024;

/** What the hotplug code needs of an instance. */
export interface HotplugInstance {
  uuid: string;
  name: string;
  /** How each disk is named in QEMU's block replies, by position (kept in step here). */
  disks: RunningDisk[];
}

/** What the hotplug code needs of the driver. */
export interface HotplugDependencies<I extends HotplugInstance> {
  qmp(instance: I): QmpCommands;
  complete(definition: DomainDefinition): Promise<DomainDefinition>;
  instanceDefinition(definition: DomainDefinition): DomainDefinition;
  commandLine(definition: DomainDefinition): {
    args: string[];
    hostPaths: HostPathRequirement[];
    netdevs: NetdevBackend[];
  };
  /**
   * Gives the files of `hostPaths` to a confined QEMU as a start gives them (DAC labels);
   * answers the paths given.
   */
  label(instance: I, definition: DomainDefinition, hostPaths: HostPathRequirement[]): string[];
  /** Gives files back (the last holder restores the original owner); never throws. */
  giveBack(uuid: string, paths: readonly string[]): void;
  /**
   * Puts a plugged NIC's tap on its bridge (owned by the instance's QEMU user), shaped by its
   * `<bandwidth>`; nothing is left on a failure.
   */
  makeTap(definition: DomainDefinition, port: BridgePort, where: string): Promise<void>;
  /** Removes a tap once QEMU let go of it; never throws. */
  removeTap(name: string): void;
  log(message: string): void;
}

/**
 * Live device changes of the QEMU driver's instances.
 *
 * @example
 * ```ts ignore
 * const hotplug = new QemuHotplug({ qmp, complete, instanceDefinition, commandLine, log });
 * const { live, alias } = await hotplug.attach(instance, handle, { list: "disks", device }, signal);
 * ```
 */
export class QemuHotplug<I extends HotplugInstance> {
  readonly #deps: HotplugDependencies<I>;
  /** Block nodes of each device being unplugged, by `uuid/alias`. */
  readonly #unplugging = new Map<string, string[]>();
  /** The network backend of each NIC being unplugged, by `uuid/alias`. */
  readonly #unpluggingNetdevs = new Map<string, string>();
  /** The tap on a bridge of each NIC being unplugged, by `uuid/alias`. */
  readonly #unpluggingTaps = new Map<string, string>();
  /** Files given to QEMU for each plugged disk, by domain uuid, then alias. */
  readonly #labelled = new Map<string, Map<string, string[]>>();

  constructor(deps: HotplugDependencies<I>) {
    this.#deps = deps;
  }

  /**
   * Plugs a disk: the live definition with it, completed and aliased, then its nodes and device.
   *
   * @throws {VirtError} 55 for a target in use; 84 for a device libvirt does not hotplug; the
   *   host path's error for a missing image; 9 with QEMU's answer.
   */
  async attach(
    instance: I,
    handle: DomainHandle,
    change: DeviceChange,
    signal: AbortSignal,
  ): Promise<LiveDeviceChange> {
    if (change.list === "interfaces") {
      return await this.#attachInterface(instance, handle, change.device as NetInterface, signal);
    }
    if (change.list !== "disks") throw unsupportedChange("attach", change.list, "live");
    const disk = withDiskDefaults(change.device as Disk);
    checkDiskHotplug(disk);
    const added = attachDevice(handle.definition, "disks", disk, "live");
    const live = this.#deps.instanceDefinition(await this.#deps.complete(added));
    const position = diskIndexByTarget(live, disk.target.dev);
    const commandLine = this.#deps.commandLine(live);
    const where = `/domain/devices/disk[${position + 1}]`;
    const hostPaths = commandLine.hostPaths.filter((each) => each.where.startsWith(`${where}/`));
    checkHostPaths(hostPaths);
    const given = this.#deps.label(instance, live, hostPaths);
    let plugged;
    try {
      plugged = await plugDisk(this.#deps.qmp(instance), live, position, commandLine.args, {
        signal,
      });
    } catch (error) {
      this.#deps.giveBack(instance.uuid, given);
      throw error;
    }
    if (given.length > 0) {
      const byAlias = this.#labelled.get(instance.uuid) ?? new Map<string, string[]>();
      byAlias.set(plugged.alias, given);
      this.#labelled.set(instance.uuid, byAlias);
    }
    instance.disks.splice(position, 0, plugged.running);
    return { live, alias: plugged.alias };
  }

  /**
   * Plugs a NIC: the live definition with it (its alias libvirt's next `netN`, its PCI slot
   * assigned as at define), then its backend and device from the start's builder.
   *
   * @throws {VirtError} 67 for an interface type or setting the driver does not build (the
   *   start's refusal) or does not plug (vhostuser: its chardev would need plugging first); the
   *   host path's error; 9 with QEMU's answer.
   */
  async #attachInterface(
    instance: I,
    handle: DomainHandle,
    nic: NetInterface,
    signal: AbortSignal,
  ): Promise<LiveDeviceChange> {
    if (nic.type === "vhostuser") {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        "hotplugging a vhostuser interface is not supported by the qemu driver",
        { where: "/interface/@type" },
      );
    }
    const before = handle.definition.devices.interfaces;
    const alias = nic.alias !== undefined && nic.alias.startsWith("ua-")
      ? nic.alias
      : nextInterfaceAlias(before);
    const added = attachDevice(handle.definition, "interfaces", { ...nic, alias }, "live");
    const live = this.#deps.instanceDefinition(await this.#deps.complete(added));
    // A NIC goes in a free slot of the buses QEMU has: completion adding a bus (a root port
    // on q35 once the spare ones are taken) means there is none, libvirt's refusal.
    if (live.devices.controllers.length > handle.definition.devices.controllers.length) {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, "No more available PCI slots");
    }
    // Aliases by position would rename the running NICs after an unplug: keep theirs.
    live.devices.interfaces.forEach((each, position) => {
      each.alias = position < before.length ? before[position].alias : alias;
    });
    const position = before.length;
    const commandLine = this.#deps.commandLine(live);
    const where = `/domain/devices/interface[${position + 1}]`;
    checkHostPaths(
      commandLine.hostPaths.filter((each) =>
        each.where === where || each.where.startsWith(`${where}/`)
      ),
    );
    const backend = commandLine.netdevs[position];
    const device = deviceOption(commandLine.args, alias);
    if (backend === undefined || device === undefined) {
      throw new Error(`no -netdev or -device for ${alias} in the command line`);
    }
    // Its tap on the bridge first (a `network` or `bridge` interface), removed if QEMU refuses.
    const port = bridgePortOf(backend, where);
    if (port !== undefined) await this.#deps.makeTap(live, port, where);
    try {
      await plugInterface(this.#deps.qmp(instance), backend, device, { signal });
    } catch (error) {
      if (port !== undefined) this.#deps.removeTap(port.tap);
      throw error;
    }
    return { live, alias };
  }

  /**
   * Asks the guest to release the device with `alias`, having noted its block nodes (or its
   * network backend) for removal once it is gone.
   */
  async detach(instance: I, alias: string, signal: AbortSignal, tap?: string): Promise<void> {
    const qmp = this.#deps.qmp(instance);
    const key = `${instance.uuid}/${alias}`;
    const nic = instance.disks.every((disk) => disk.qdevId !== alias)
      ? await netdevOfInterface(qmp, alias, { signal }).catch(() => undefined)
      : undefined;
    const nodes = nic === undefined ? await nodesOfDevice(qmp, alias, { signal }) : [];
    const maps = [this.#unplugging, this.#unpluggingNetdevs, this.#unpluggingTaps];
    for (const pending of maps as Map<string, unknown>[]) {
      if (pending.size >= PENDING_UNPLUGS_MAX) {
        pending.delete(pending.keys().next().value as string);
      }
    }
    this.#unplugging.set(key, nodes);
    if (nic !== undefined) this.#unpluggingNetdevs.set(key, nic);
    if (tap !== undefined) this.#unpluggingTaps.set(key, tap);
    try {
      await qmp.deviceDel(alias, { signal });
    } catch (error) {
      this.#unplugging.delete(key);
      this.#unpluggingNetdevs.delete(key);
      this.#unpluggingTaps.delete(key);
      throw error;
    }
  }

  /**
   * QEMU reported the device gone: its disk leaves the block figures and its nodes are removed
   * (after a service restart the nodes were not noted: those named after the alias are tried).
   */
  async deviceDeleted(instance: I, alias: string): Promise<void> {
    const index = instance.disks.findIndex((disk) => disk.qdevId === alias);
    if (index === -1) {
      await this.#interfaceDeleted(instance, alias);
      return;
    }
    instance.disks.splice(index, 1);
    const key = `${instance.uuid}/${alias}`;
    const noted = this.#unplugging.get(key);
    this.#unplugging.delete(key);
    const given = this.#labelled.get(instance.uuid)?.get(alias);
    if (given !== undefined) {
      this.#labelled.get(instance.uuid)?.delete(alias);
      this.#deps.giveBack(instance.uuid, given);
    }
    const nodes = noted ?? [`${alias}-format`, `${alias}-storage`];
    try {
      const failures = await removeNodes(this.#deps.qmp(instance), nodes, {});
      // Guessed names that are not there are no failure.
      if (noted !== undefined && failures.length > 0) {
        this.#deps.log(
          `domain ${instance.name}: block nodes left after unplug: ${failures.join("; ")}`,
        );
      }
    } catch (error) {
      this.#deps.log(`domain ${instance.name}: ${(error as Error).message}`);
    }
  }

  /**
   * A NIC is gone: its network backend is removed (after a service restart it was not noted:
   * libvirt's name, `host` + the alias, is tried, and its absence is no failure), then its tap
   * on a bridge (one not noted before a restart stays until the instance ends).
   */
  async #interfaceDeleted(instance: I, alias: string): Promise<void> {
    const key = `${instance.uuid}/${alias}`;
    const noted = this.#unpluggingNetdevs.get(key);
    const tap = this.#unpluggingTaps.get(key);
    this.#unpluggingNetdevs.delete(key);
    this.#unpluggingTaps.delete(key);
    this.#unplugging.delete(key);
    try {
      await this.#deps.qmp(instance).netdevDel(noted ?? `host${alias}`);
    } catch (error) {
      if (noted !== undefined) {
        this.#deps.log(
          `domain ${instance.name}: network backend ${noted} left after unplug: ${
            (error as Error).message
          }`,
        );
      }
    }
    // QEMU closed the tap with its backend: the persistent tap the service made goes too.
    if (tap !== undefined) this.#deps.removeTap(tap);
  }

  /**
   * The instance ended: gives back the files of disks it had plugged (those of its start are
   * given back from its runtime record).
   */
  ended(uuid: string): void {
    const byAlias = this.#labelled.get(uuid);
    this.#labelled.delete(uuid);
    for (const paths of byAlias?.values() ?? []) this.#deps.giveBack(uuid, paths);
  }

  /**
   * Whether the device with `alias` is gone from QEMU; when it is, what its unplug left (its
   * disk's block figures, its nodes) is cleaned up as on DEVICE_DELETED.
   */
  async gone(instance: I, alias: string, signal: AbortSignal): Promise<boolean> {
    try {
      await this.#deps.qmp(instance).qomGet(`/machine/peripheral/${alias}`, "type", { signal });
      return false;
    } catch (error) {
      if (!(error instanceof QmpCommandError) || error.class !== "DeviceNotFound") throw error;
    }
    await this.deviceDeleted(instance, alias);
    return true;
  }

  /**
   * Changes a cdrom's or floppy's medium (or ejects it), libvirt's live update of a disk.
   *
   * @throws {VirtError} 8 for a target that is not there; 84 for another field changed or a
   *   disk that is not removable.
   */
  async update(
    instance: I,
    handle: DomainHandle,
    change: DeviceChange,
    options: { force: boolean },
    signal: AbortSignal,
  ): Promise<LiveDeviceChange> {
    if (change.list === "interfaces") {
      return await this.#updateInterface(instance, handle, change.device as NetInterface, signal);
    }
    if (change.list !== "disks") throw unsupportedChange("update", change.list, "live");
    const disk = change.device as Disk;
    const position = devicePosition(handle.definition, "disks", disk, "update", "live");
    const old = handle.definition.devices.disks[position];
    for (
      const [field, before, after] of [
        ["device", old.device ?? "disk", disk.device ?? "disk"],
        ["bus", old.target.bus, disk.target.bus ?? old.target.bus],
      ] as const
    ) {
      if (before !== after) {
        throw new VirtError(
          ErrorCode.OPERATION_UNSUPPORTED,
          `cannot modify field '${field}' of the disk`,
        );
      }
    }
    await changeMedium(this.#deps.qmp(instance), old, disk, options.force, { signal });
    const live = updateDevice(handle.definition, "disks", disk, "live");
    const alias = old.alias ?? "";
    const path = disk.type === "block" ? disk.source?.dev : disk.source?.file;
    const running = instance.disks.findIndex((each) => each.qdevId === alias);
    if (running !== -1) {
      instance.disks[running] = {
        target: old.target.dev,
        qdevId: alias,
        ...(path === undefined ? {} : { path }),
      };
    }
    return { live, alias };
  }

  /**
   * Changes a running NIC as libvirt does live: its link state (`set_link`); see
   * {@linkcode changedInterface} for what is refused.
   */
  async #updateInterface(
    instance: I,
    handle: DomainHandle,
    nic: NetInterface,
    signal: AbortSignal,
  ): Promise<LiveDeviceChange> {
    const position = devicePosition(handle.definition, "interfaces", nic, "update", "live");
    const old = handle.definition.devices.interfaces[position];
    const changed = changedInterface(old, nic);
    const alias = old.alias ?? "";
    const up = (changed.link ?? "up") !== "down";
    if (up !== ((old.link ?? "up") !== "down") || changed.link !== old.link) {
      await this.#deps.qmp(instance).setLink(alias, up, { signal });
    }
    const live = structuredClone(handle.definition);
    live.devices.interfaces[position] = changed;
    return { live, alias };
  }
}

/** The `-device` option with id `alias` among `args`, or undefined. */
function deviceOption(args: readonly string[], alias: string): string | undefined {
  const pattern = new RegExp(`(^|,)id=${alias.replace(/[.]/g, "\\.")}(,|$)`);
  for (let index = 0; index + 1 < args.length; index++) {
    if (args[index] === "-device" && pattern.test(args[index + 1])) return args[index + 1];
  }
  return undefined;
}
