/**
 * The QEMU command line of a domain definition, built purely from the definition and a few
 * facts about where it runs (emulator, accelerator, monitor socket, pid file, sandbox support).
 *
 * The command line follows what libvirt generates for QEMU 7.2 (`-blockdev` disks, `-device`
 * for everything, `-S -no-shutdown`, the monitor as a Unix socket chardev), plus
 * `-pidfile` (the driver detaches QEMU so it outlives the service). Everything in the definition is either
 * expressed or refused with code 67 naming the element: nothing is silently dropped.
 *
 * @module
 */

import { refuseUnappliedTuning } from "./qemu_cgroup.ts";
import type { HugepageHost } from "./huge_pages.ts";
import { addMemoryDevices } from "./memory_devices.ts";
import type { HugetlbfsMount } from "./hugetlbfs_mounts.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { Accelerator } from "./accelerator.ts";
import {
  ArgumentCollector,
  type BlockNode,
  type ChardevSocket,
  type HostPathRequirement,
  type MachineFamily,
  type NetdevBackend,
  type PtyChardev,
} from "./argument_collector.ts";
import { addCharacterDeviceArguments, characterDeviceControllers } from "./chardev_arguments.ts";
import { refuseConfig, refuseExtra, refuseExtrasDeep } from "./config_refusal.ts";
import { checkPciBuses } from "./pci_bus_check.ts";
import { checkCpuNames, checkDefinitionRules } from "./definition_rules.ts";
import type { CpuNames } from "./qemu_capabilities.ts";
import { addSysinfoArguments } from "./sysinfo_arguments.ts";
import {
  addControllerArguments,
  type NeededController,
  scsiModels,
} from "./controller_arguments.ts";
import {
  addDeviceArguments,
  deviceControllers,
  type DeviceRuntimeSettings,
} from "./device_arguments.ts";
import { diskSeclabel, domainSeclabel } from "./dac_policy.ts";
import { addDiskArguments, diskController } from "./disk_arguments.ts";
import type { DiskSecretCipher } from "./disk_encryption.ts";
import { addNetworkArguments } from "./network_arguments.ts";
import { qemuOption, type QemuOptionValue } from "./qemu_option.ts";
import {
  addCpu,
  addMemoryAndCpus,
  domainExtraElement,
  elementChildren,
  featureProperties,
  kvmDirtyRingSize,
  memoryBacking,
} from "./cpu_memory_arguments.ts";

/** The namespace of libvirt's `<qemu:commandline>` passthrough. */
export const QEMU_COMMANDLINE_NAMESPACE = "http://libvirt.org/schemas/domain/qemu/1.0";

/**
 * The seccomp sandbox QEMU runs in where it supports `-sandbox`: libvirt's `seccomp_sandbox`
 * default. QEMU cannot fork, exec, change its ids or its scheduling once it runs (which is why
 * it is detached by the driver instead of `-daemonize`d).
 */
export const SANDBOX_OPTION =
  "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

/** Where the command line runs. */
export interface CommandLineContext {
  /** The emulator binary (see {@linkcode emulatorFor}). */
  emulator: string;
  /** The accelerator the domain type means here. */
  accelerator: Accelerator;
  /** The monitor's Unix socket. */
  monitorSocketPath: string;
  /** The pid file QEMU writes. */
  pidFilePath: string;
  /** Whether the emulator supports `-sandbox`. */
  sandbox: boolean;
  /** The clock, in ms since the epoch (for `<clock offset='variable'>`). */
  nowMs: number;
  /**
   * The control group QEMU runs in (the service's own: it does not move QEMU), which a
   * `<resource><partition>` must name; undefined when unknown (any partition is refused).
   */
  resourcePartition?: string;
  /**
   * The build is the define-time check: what only the accelerator of the start decides (a
   * host-passthrough CPU under TCG) is left to the start, as libvirt does. Default false.
   */
  atDefine?: boolean;
  /** The CPU models and flags the emulator knows; undefined: not checked. */
  cpuNames?: CpuNames;
  /** The host's hugetlbfs mounts, default page size first. Default none. */
  hugetlbfs?: readonly HugetlbfsMount[];
  /**
   * Encrypts LUKS disks' passphrases with the start's master key (disk_encryption.ts); absent
   * at a dry build (placeholders are written). Never given to a worker thread.
   */
  diskSecrets?: DiskSecretCipher;
  /** QEMU waits for a migration stream (`-incoming defer`): a restore. Default false. */
  incoming?: boolean;
  /** QEMU starts from this internal snapshot (`-loadvm`): a snapshot's revert. */
  loadSnapshot?: string;
}

/** A built command line and what the driver needs to know about it. */
export interface CommandLine {
  /** The emulator binary. */
  emulator: string;
  /** Its arguments. */
  args: string[];
  /** Environment variables to set for QEMU (`TZ`, `<qemu:env>`). */
  env: Record<string, string>;
  /** Host CPUs QEMU runs on (`<vcpu cpuset>`), or undefined for any. */
  cpuset?: string;
  /** Host paths to check before start. */
  hostPaths: HostPathRequirement[];
  /** The disks' format nodes. */
  blockNodes: BlockNode[];
  /** Chardevs with pty backends. */
  ptyChardevs: PtyChardev[];
  /** The interfaces' network backends (for hotplug and link states). */
  netdevs: NetdevBackend[];
  /** `<console>`s that are the same device as a serial port, with its chardev id. */
  sharedConsoles: { index: number; chardevId: string }[];
  /** Socket paths the driver chose for unix character devices without one. */
  chardevSockets: ChardevSocket[];
  /** Settings applied once QEMU runs. */
  runtime: DeviceRuntimeSettings;
  /** Whether the domain has a memory balloon (current memory can then be set at start). */
  balloon: boolean;
  /** The domain's folders under hugetlbfs mounts, for QEMU's huge-page files. */
  hugepageFolders: string[];
  /**
   * The address of the domain's private D-Bus daemon QEMU connects to (which must run first),
   * or undefined when it uses none.
   */
  privateBusAddress?: string;
}

/**
 * The emulator binary of a definition: `<emulator>`, or `qemu-system-<arch>` (looked up on PATH
 * when run).
 *
 * @throws {VirtError} 67 for an architecture other than x86.
 *
 * @example
 * ```ts
 * import { emulatorFor } from "./command_line.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * const definition = {
 *   type: "qemu", name: "vm", memoryKiB: 131072, vcpus: 1,
 *   os: { type: "hvm", arch: "i686", boot: [] }, devices: emptyDevices(),
 * };
 * console.log(emulatorFor(definition)); // "qemu-system-i386"
 * ```
 */
export function emulatorFor(definition: DomainDefinition): string {
  if (definition.devices.emulator !== undefined) return definition.devices.emulator;
  const arch = definition.os.arch ?? "x86_64";
  if (arch === "x86_64") return "qemu-system-x86_64";
  if (arch === "i686") return "qemu-system-i386";
  throw refuseConfig("/domain/os/type/@arch", `architecture '${arch}' is not supported`);
}

/**
 * Builds the command line.
 *
 * @param definition The domain definition.
 * @param context Where it runs.
 * @returns The command line and its side data.
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) naming the first element or attribute that the
 *   driver cannot express.
 *
 * @example
 * ```ts
 * import { buildCommandLine } from "./command_line.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * const line = buildCommandLine(
 *   { type: "qemu", name: "vm", memoryKiB: 131072, vcpus: 1, os: { type: "hvm", boot: [] }, devices: emptyDevices() },
 *   { emulator: "qemu-system-x86_64", accelerator: "tcg", monitorSocketPath: "/run/vm/monitor.sock",
 *     pidFilePath: "/run/vm/qemu.pid", sandbox: true, nowMs: 0 },
 * );
 * console.log(line.args.slice(0, 2)); // ["-name", "guest=vm,debug-threads=on"]
 * ```
 */
export function buildCommandLine(
  definition: DomainDefinition,
  context: CommandLineContext,
): CommandLine {
  checkDomain(definition);
  checkDefinitionRules(definition);
  checkPciBuses(definition);
  const family = machineFamily(definition);
  const runtimeDir = context.monitorSocketPath.slice(0, context.monitorSocketPath.lastIndexOf("/"));
  const collector = new ArgumentCollector(family, context.accelerator, runtimeDir);
  claimExplicitPciSlots(definition, collector);
  collector.push("-name", qemuOption(undefined, { guest: definition.name, "debug-threads": true }));
  collector.push("-S");
  const cpuProperties: Record<string, QemuOptionValue> = {};
  const machineProperties = featureProperties(definition, collector, cpuProperties);
  // SeaBIOS writes to the serial port when the machine has no graphics (QEMU's sgabios successor).
  if (definition.os.bios?.useserial === "yes") machineProperties.graphics = false;
  const rtc = clockSettings(definition, collector, context.nowMs, machineProperties, cpuProperties);
  const hugepageHost: HugepageHost = {
    mounts: context.atDefine === true ? undefined : context.hugetlbfs ?? [],
    folderName: runtimeDir.slice(runtimeDir.lastIndexOf("/") + 1),
    folders: [],
  };
  const backing = memoryBacking(definition, collector, machineProperties, hugepageHost);
  collector.push(
    "-machine",
    qemuOption(definition.os.machine ?? "pc", {
      usb: false,
      "dump-guest-core": definition.memoryDumpCore === undefined
        ? false
        : definition.memoryDumpCore === "on",
      ...machineProperties,
    }),
  );
  const dirtyRingSize = kvmDirtyRingSize(definition);
  collector.push(
    "-accel",
    context.accelerator === "kvm" && dirtyRingSize !== undefined
      ? qemuOption("kvm", { "dirty-ring-size": dirtyRingSize })
      : context.accelerator,
  );
  const cpuModel = addCpu(definition, collector, cpuProperties, context.atDefine ?? false);
  if (context.cpuNames !== undefined) checkCpuNames(definition, context.cpuNames);
  addMemoryAndCpus(definition, collector, backing, cpuModel, context.emulator);
  addMemoryDevices(definition, collector, backing, hugepageHost);
  if (definition.uuid !== undefined) collector.push("-uuid", definition.uuid);
  if (definition.genid !== undefined) {
    collector.device(qemuOption("vmgenid", {
      guid: definition.genid === "" ? "auto" : definition.genid,
      id: "vmgenid0",
    }));
  }
  collector.push("-no-user-config", "-nodefaults");
  collector.push(
    "-chardev",
    qemuOption("socket", {
      id: "charmonitor",
      path: context.monitorSocketPath,
      server: true,
      wait: false,
    }),
    "-mon",
    "chardev=charmonitor,id=monitor,mode=control",
  );
  collector.push("-rtc", qemuOption(undefined, rtc));
  collector.push("-no-shutdown");
  if (context.incoming === true) collector.push("-incoming", "defer");
  if (context.loadSnapshot !== undefined) collector.push("-loadvm", context.loadSnapshot);
  // A reboot that ends (destroy) or freezes (preserve) the domain must stop QEMU instead of
  // resetting it; the guest's SHUTDOWN (reason guest-reset) then lets the actor apply on_reboot.
  if (definition.onReboot === "destroy" || definition.onReboot === "preserve") {
    collector.push("-no-reboot");
  }
  addSysinfoArguments(definition, collector);
  addBoot(definition, collector);
  addPowerManagement(definition, collector);
  for (const id of iothreadIds(definition)) {
    collector.push("-object", qemuOption("iothread", { id: `iothread${id}` }));
  }
  addAcpiTables(definition, collector);
  const devices = definition.devices;
  const needed = neededControllers(definition);
  addControllerArguments(devices.controllers, needed, collector);
  addDiskArguments(devices.disks, collector, {
    iothreads: iothreadIds(definition),
    scsiModels: scsiModels(devices.controllers, needed),
    ...(context.diskSecrets === undefined ? {} : { secrets: context.diskSecrets }),
  });
  addNetworkArguments(devices.interfaces, collector);
  addCharacterDeviceArguments(devices, collector);
  const runtime = addDeviceArguments(devices, collector);
  if (context.sandbox) collector.push("-sandbox", SANDBOX_OPTION);
  collector.push("-msg", "timestamp=on");
  addCommandlinePassthrough(definition, collector);
  checkResource(definition, context.resourcePartition);
  collector.push("-pidfile", context.pidFilePath);
  return {
    emulator: context.emulator,
    args: collector.args,
    env: collector.env,
    ...(definition.vcpu?.cpuset === undefined ? {} : { cpuset: definition.vcpu.cpuset }),
    hostPaths: collector.hostPaths,
    blockNodes: collector.blockNodes,
    ptyChardevs: collector.ptyChardevs,
    netdevs: collector.netdevs,
    sharedConsoles: collector.sharedConsoles,
    chardevSockets: collector.chardevSockets,
    runtime,
    balloon: devices.memballoon !== undefined && devices.memballoon.model !== "none",
    hugepageFolders: hugepageHost.folders,
    ...(collector.privateBusAddress === undefined
      ? {}
      : { privateBusAddress: collector.privateBusAddress }),
  };
}

/**
 * The machine family of `<os><type machine>`: i440fx (`pc`, `pc-i440fx-*`) or q35.
 *
 * @throws {VirtError} 67 for other machine types.
 *
 * @example
 * ```ts
 * import { machineFamily } from "./command_line.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * const os = { type: "hvm", machine: "pc-q35-7.2", boot: [] };
 * console.log(machineFamily({ type: "qemu", name: "vm", memoryKiB: 1, vcpus: 1, os, devices: emptyDevices() })); // "q35"
 * ```
 */
export function machineFamily(definition: DomainDefinition): MachineFamily {
  const machine = definition.os.machine ?? "pc";
  if (machine === "q35" || machine.startsWith("pc-q35-")) return "q35";
  if (machine === "pc" || machine.startsWith("pc-i440fx-")) return "i440fx";
  throw refuseConfig("/domain/os/type/@machine", `machine type '${machine}' is not supported`);
}

/** Elements whose `extra` their builders check themselves (with what they handle allowed). */
const EXTRA_HANDLED_BY_BUILDERS: readonly RegExp[] = [
  /^\/domain$/,
  /^\/domain\/os$/,
  /^\/domain\/devices$/,
  /^\/domain\/devices\/(interface|controller|graphics|redirdev)\[\d+\]$/,
  // A disk's own extra (its <encryption>) and its source's: disk_arguments.ts.
  /^\/domain\/devices\/disk\[\d+\](\/source)?$/,
  /^\/domain\/cpu\/numa\/cell\[\d+\]$/,
];

function checkDomain(definition: DomainDefinition): void {
  if (definition.name === "") {
    throw new VirtError(ErrorCode.XML_ERROR, "missing domain name", { where: "/domain/name" });
  }
  if (definition.memoryKiB <= 0) {
    throw refuseConfig("/domain/memory", "a domain needs a memory size");
  }
  refuseExtra(definition.extra, "/domain", {
    elements: (name) =>
      name === "memoryBacking" || name === "pm" || name === "seclabel" || name === "resource" ||
      name === "iothreadids" || name === "sysinfo" || name === "vcpus" ||
      name.endsWith(":commandline"),
    children: (name) => name === "features",
  });
  // Every other level is checked here once; the builders handle the levels they skip.
  refuseExtrasDeep(
    definition,
    "/domain",
    (where) => EXTRA_HANDLED_BY_BUILDERS.some((pattern) => pattern.test(where)),
  );
  if (definition.os.type !== "hvm") {
    throw refuseConfig("/domain/os/type", `os type '${definition.os.type}' is not supported`);
  }
  refuseExtra(definition.os.extra, "/domain/os", { elements: (name) => name === "acpi" });
  const unsupported: [unknown, string, string][] = [
    [definition.os.firmware, "/domain/os/@firmware", "firmware autoselection"],
    [definition.os.firmwareFeatures, "/domain/os/firmware", "firmware features"],
    [definition.os.dtb, "/domain/os/dtb", "a device tree"],
    [definition.os.init, "/domain/os/init", "an init program"],
    [definition.idmap, "/domain/idmap", "an id map"],
    [definition.featureCapabilities, "/domain/features/capabilities", "process capabilities"],
    ...definition.devices.interfaces.flatMap((net, index): [unknown, string, string][] => [
      // A user-mode interface's <ip> is its slirp network (network_arguments.ts).
      [
        net.type === "user" ? undefined : net.ips,
        `/domain/devices/interface[${index + 1}]/ip`,
        "a guest-side ip",
      ],
      [net.routes, `/domain/devices/interface[${index + 1}]/route`, "a guest-side route"],
      [net.guestDev, `/domain/devices/interface[${index + 1}]/guest`, "a guest-side device name"],
    ]),
    [definition.onLockfailure, "/domain/on_lockfailure", "on_lockfailure"],
    [
      definition.vcpu?.placement === "auto" ? "auto" : undefined,
      "/domain/vcpu/@placement",
      "automatic vcpu placement",
    ],
  ];
  for (const [value, where, what] of unsupported) {
    if (value !== undefined) {
      throw refuseConfig(where, `${what} is not supported by the qemu driver`);
    }
  }
  // Shares, bandwidth, pinning, memory limits and the I/O weight run (qemu_cgroup.ts).
  refuseUnappliedTuning(definition);
  if (
    definition.os.smbios !== undefined && definition.os.smbios !== "emulate" &&
    definition.os.smbios !== "sysinfo"
  ) {
    throw refuseConfig(
      "/domain/os/smbios/@mode",
      `smbios mode '${definition.os.smbios}' is not supported`,
    );
  }
  const policies: [string | undefined, string][] = [
    [definition.onPoweroff, "on_poweroff"],
    [definition.onReboot, "on_reboot"],
    [definition.onCrash, "on_crash"],
  ];
  for (const [policy, element] of policies) {
    if (policy !== undefined && !["destroy", "restart", "preserve"].includes(policy)) {
      throw refuseConfig(`/domain/${element}`, `${element} action '${policy}' is not supported`);
    }
  }
}

/**
 * The ids of the domain's I/O threads: `<iothreadids>` when given (more are numbered after the
 * highest), else 1 to `<iothreads>`.
 *
 * @example
 * ```ts
 * import { iothreadIds } from "./command_line.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * const os = { type: "hvm", boot: [] };
 * console.log(iothreadIds({ type: "qemu", name: "vm", memoryKiB: 1, vcpus: 1, iothreads: 2, os, devices: emptyDevices() }));
 * // [1, 2]
 * ```
 */
export function iothreadIds(definition: DomainDefinition): number[] {
  const listed = elementChildren(domainExtraElement(definition, "iothreadids") ?? { name: "" })
    .map((child, index) => {
      const id = Number(child.attributes?.id);
      if (child.name !== "iothread" || !Number.isSafeInteger(id) || id < 1) {
        throw refuseConfig(
          `/domain/iothreadids/${child.name}[${index + 1}]`,
          "invalid iothread id",
        );
      }
      return id;
    });
  const ids = [...listed];
  let next = Math.max(0, ...listed) + 1;
  while (ids.length < (definition.iothreads ?? 0)) ids.push(next++);
  return ids;
}

/** `<os><acpi><table type='slic'>PATH</table></acpi>` → `-acpitable sig=SLIC,file=PATH`. */
function addAcpiTables(definition: DomainDefinition, collector: ArgumentCollector): void {
  const acpi = (definition.os.extra?.elements ?? []).find((placed) =>
    placed.element.name === "acpi"
  );
  if (acpi === undefined) return;
  elementChildren(acpi.element).forEach((table, index) => {
    const where = `/domain/os/acpi/table[${index + 1}]`;
    const path = (table.children ?? []).filter((child) => typeof child === "string").join("")
      .trim();
    const type = table.attributes?.type;
    if (table.name !== "table" || (type !== "slic" && type !== "msdm") || path === "") {
      throw refuseConfig(where, `acpi table type '${type}' is not supported`);
    }
    collector.requirePath(path, "file", where);
    collector.push("-acpitable", qemuOption(undefined, { sig: type.toUpperCase(), file: path }));
  });
}

/** Marks every explicit PCI slot on bus 0 taken before any device is placed automatically. */
function claimExplicitPciSlots(definition: DomainDefinition, collector: ArgumentCollector): void {
  const devices = definition.devices;
  const addressed = [
    ...devices.disks,
    ...devices.controllers,
    ...devices.interfaces,
    ...devices.serials,
    ...devices.inputs,
    ...devices.videos,
    ...devices.sounds,
    ...devices.watchdogs,
    ...devices.rngs,
    ...(devices.memballoon === undefined ? [] : [devices.memballoon]),
  ];
  for (const device of addressed) {
    const address = device.address;
    if (address?.type === "pci" && address.slot !== undefined) {
      collector.claimSlot(address.bus ?? 0, address.slot, address.function ?? 0);
    }
  }
  for (const controller of devices.controllers) {
    if (controller.type === "pci") collector.claimPciIndex(controller.index ?? 0);
  }
}

function neededControllers(definition: DomainDefinition): NeededController[] {
  const needed: NeededController[] = [];
  definition.devices.disks.forEach((disk, index) => {
    const controller = diskController(disk, `/domain/devices/disk[${index + 1}]`);
    if (controller === undefined) return;
    // The i440fx IDE and the q35 AHCI controllers are built in.
    if (controller.type === "ide" || controller.type === "fdc") return;
    if (
      controller.type === "sata" && controller.index === 0 && machineFamily(definition) === "q35"
    ) return;
    needed.push(controller);
  });
  needed.push(...characterDeviceControllers(definition.devices));
  needed.push(...deviceControllers(definition.devices));
  if (definition.devices.controllers.some((each) => each.type === "usb" && each.model === "none")) {
    const usbUser = needed.find((each) => each.type === "usb");
    if (usbUser !== undefined) {
      throw refuseConfig(
        "/domain/devices/controller",
        "a USB device needs a USB controller, but the USB controller model is 'none'",
      );
    }
  }
  return needed;
}

/**
 * The `-rtc` properties of `<clock>`; timer settings that are machine or CPU properties go into
 * `machine` and `cpu`.
 */
function clockSettings(
  definition: DomainDefinition,
  collector: ArgumentCollector,
  nowMs: number,
  machine: Record<string, QemuOptionValue>,
  cpu: Record<string, QemuOptionValue>,
): Record<string, QemuOptionValue> {
  const clock = definition.clock;
  const where = "/domain/clock";
  refuseExtra(clock?.extra, where);
  const rtc: Record<string, QemuOptionValue> = {};
  const offset = clock?.offset ?? "utc";
  switch (offset) {
    case "utc":
      rtc.base = "utc";
      break;
    case "localtime":
      rtc.base = "localtime";
      break;
    case "timezone":
      if (clock?.timezone === undefined) {
        throw refuseConfig(`${where}/@timezone`, "clock offset 'timezone' needs a timezone");
      }
      collector.env.TZ = clock.timezone;
      rtc.base = "localtime";
      break;
    case "variable": {
      const basis = clock?.basis ?? "utc";
      if (basis !== "utc" && basis !== "localtime") {
        throw refuseConfig(`${where}/@basis`, `clock basis '${basis}' is not supported`);
      }
      // With basis 'localtime' the adjustment counts from the host's local time, as libvirt's.
      const localOffsetMs = basis === "localtime"
        ? -new Date(nowMs).getTimezoneOffset() * 60_000
        : 0;
      const seconds = Number(clock?.adjustment ?? "0");
      if (!Number.isFinite(seconds)) {
        throw refuseConfig(
          `${where}/@adjustment`,
          `clock adjustment '${clock?.adjustment}' is not supported`,
        );
      }
      rtc.base = qemuDate(nowMs + localOffsetMs + seconds * 1000);
      break;
    }
    case "absolute":
      rtc.base = qemuDate((clock?.start ?? 0) * 1000);
      break;
    default:
      throw refuseConfig(`${where}/@offset`, `clock offset '${offset}' is not supported`);
  }
  clock?.timers.forEach((timer, index) => {
    const timerWhere = `${where}/timer[${index + 1}]`;
    refuseExtra(timer.extra, timerWhere);
    const present = timer.present === undefined ? undefined : timer.present === "yes";
    const refuse = (attribute: string) =>
      refuseConfig(
        `${timerWhere}/@${attribute}`,
        `timer '${timer.name}' attribute '${attribute}' is not supported`,
      );
    switch (timer.name) {
      case "rtc":
        if (present === false) throw refuse("present");
        if (timer.tickpolicy === "catchup") rtc.driftfix = "slew";
        else if (timer.tickpolicy !== undefined && timer.tickpolicy !== "delay") {
          throw refuse("tickpolicy");
        }
        if (timer.track === "guest") rtc.clock = "vm";
        else if (timer.track === "wall") rtc.clock = "host";
        else if (timer.track === "realtime") rtc.clock = "rt";
        else if (timer.track !== undefined) throw refuse("track");
        if (timer.frequency !== undefined || timer.mode !== undefined) throw refuse("mode");
        break;
      case "pit":
        if (present === false) throw refuse("present");
        // As libvirt: delay (the default) and discard set the in-kernel PIT's policy, which
        // QEMU takes under TCG too (the global then names a device that is not created);
        // catchup is the in-kernel PIT's own default; merge has no QEMU equivalent.
        switch (timer.tickpolicy ?? "delay") {
          case "delay":
          case "discard":
            collector.push("-global", `kvm-pit.lost_tick_policy=${timer.tickpolicy ?? "delay"}`);
            break;
          case "catchup":
            break;
          default:
            throw refuseConfig(
              `${timerWhere}/@tickpolicy`,
              `unsupported pit tickpolicy '${timer.tickpolicy}'`,
            );
        }
        if (
          timer.track !== undefined || timer.frequency !== undefined || timer.mode !== undefined
        ) throw refuse("track");
        break;
      case "hpet":
        if (timer.tickpolicy !== undefined || timer.track !== undefined) throw refuse("tickpolicy");
        if (present !== undefined) machine.hpet = present;
        break;
      case "kvmclock":
        if (timer.tickpolicy !== undefined || timer.track !== undefined) throw refuse("tickpolicy");
        if (present !== undefined) cpu.kvmclock = present;
        break;
      case "hypervclock":
        // The Hyper-V reference time page, a CPU property (TCG provides it too).
        if (timer.tickpolicy !== undefined || timer.track !== undefined) throw refuse("tickpolicy");
        if (timer.frequency !== undefined || timer.mode !== undefined) throw refuse("mode");
        if (present === true) cpu["hv-time"] = true;
        break;
      case "tsc":
        if (timer.mode !== undefined || timer.tickpolicy !== undefined) throw refuse("mode");
        if (timer.frequency !== undefined) cpu["tsc-frequency"] = timer.frequency;
        break;
      default:
        throw refuseConfig(`${timerWhere}/@name`, `timer '${timer.name}' is not supported`);
    }
  });
  return rtc;
}

/** `YYYY-MM-DDTHH:MM:SS` in UTC, QEMU's `-rtc base=` date form. */
function qemuDate(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19);
}

const BOOT_DEVICES: Record<string, string> = { hd: "c", cdrom: "d", fd: "a", network: "n" };

/** Boot devices QEMU's PC machines take in `-boot order`. */
const PC_BOOT_DEVICES_MAX = 3;

function addBoot(definition: DomainDefinition, collector: ArgumentCollector): void {
  const os = definition.os;
  const devices = definition.devices;
  const perDevice = devices.disks.some((disk) => disk.boot !== undefined) ||
    devices.interfaces.some((nic) => nic.boot !== undefined);
  if (perDevice && os.boot.length > 0) {
    throw refuseConfig(
      "/domain/os/boot",
      "per-device boot elements cannot be used together with os/boot elements",
    );
  }
  if (os.boot.length > PC_BOOT_DEVICES_MAX) {
    // QEMU's PC firmware interface holds three boot devices; it refuses a longer order.
    throw refuseConfig(
      `/domain/os/boot[${PC_BOOT_DEVICES_MAX + 1}]`,
      `too many boot devices for PC: at most ${PC_BOOT_DEVICES_MAX} <boot dev> elements, or use per-device <boot order>`,
    );
  }
  const order = os.boot.map((device, index) => {
    const letter = BOOT_DEVICES[device];
    if (letter === undefined) {
      throw refuseConfig(
        `/domain/os/boot[${index + 1}]/@dev`,
        `boot device '${device}' is not supported`,
      );
    }
    return letter;
  }).join("");
  const boot: Record<string, QemuOptionValue> = {
    order: order === "" ? undefined : order,
    menu: os.bootmenu === undefined ? undefined : os.bootmenu.enable === "yes",
    "splash-time": os.bootmenu?.timeout,
    "reboot-timeout": os.bios?.rebootTimeout,
    strict: true,
  };
  collector.push("-boot", qemuOption(undefined, boot));
  addFirmware(definition, collector);
  if (os.kernel !== undefined) {
    collector.requirePath(os.kernel, "file", "/domain/os/kernel");
    collector.push("-kernel", os.kernel);
  }
  if (os.initrd !== undefined) {
    if (os.kernel === undefined) {
      throw refuseConfig("/domain/os/initrd", "an initrd needs a kernel");
    }
    collector.requirePath(os.initrd, "file", "/domain/os/initrd");
    collector.push("-initrd", os.initrd);
  }
  if (os.cmdline !== undefined) {
    if (os.kernel === undefined) {
      throw refuseConfig("/domain/os/cmdline", "a kernel command line needs a kernel");
    }
    collector.push("-append", os.cmdline);
  }
}

function addFirmware(definition: DomainDefinition, collector: ArgumentCollector): void {
  const { loader, nvram } = definition.os;
  if (loader === undefined) {
    if (nvram !== undefined) throw refuseConfig("/domain/os/nvram", "nvram needs a pflash loader");
    return;
  }
  const where = "/domain/os/loader";
  if (loader.path === undefined) throw refuseConfig(where, "a loader needs a path");
  if (loader.stateless === "yes") {
    throw refuseConfig(`${where}/@stateless`, "loader stateless='yes' is not supported");
  }
  if (loader.secure === "yes") {
    // Secure boot: the flash is writable only from SMM, which the machine must have.
    if (collector.family !== "q35") {
      throw refuseConfig(
        `${where}/@secure`,
        "Secure boot is supported with q35 machine types only",
      );
    }
    if (loader.type !== "pflash") {
      throw refuseConfig(`${where}/@secure`, "Secure boot needs a pflash loader");
    }
    if (definition.features?.smm?.state !== "on") {
      throw refuseConfig(`${where}/@secure`, "Secure boot requires SMM feature enabled");
    }
    collector.push("-global", "driver=cfi.pflash01,property=secure,value=on");
  }
  if (loader.format !== undefined && loader.format !== "raw") {
    throw refuseConfig(`${where}/@format`, `loader format '${loader.format}' is not supported`);
  }
  collector.requirePath(loader.path, "file", where);
  if ((loader.type ?? "rom") === "rom") {
    if (nvram !== undefined) throw refuseConfig("/domain/os/nvram", "nvram needs a pflash loader");
    collector.push("-bios", loader.path);
    return;
  }
  if (loader.type !== "pflash") {
    throw refuseConfig(`${where}/@type`, `loader type '${loader.type}' is not supported`);
  }
  const pflash = (unit: number, path: string, readOnly: boolean) => {
    collector.push(
      "-blockdev",
      JSON.stringify({
        driver: "file",
        filename: path,
        "node-name": `pflash${unit}-storage`,
        "read-only": readOnly,
      }),
    );
    collector.push(
      "-blockdev",
      JSON.stringify({
        driver: "raw",
        file: `pflash${unit}-storage`,
        "node-name": `pflash${unit}-format`,
        "read-only": readOnly,
      }),
    );
    collector.push(
      "-machine",
      qemuOption(undefined, { [`pflash${unit}`]: `pflash${unit}-format` }),
    );
  };
  pflash(0, loader.path, loader.readonly === "yes");
  if (nvram !== undefined) {
    if (
      nvram.path === undefined || nvram.template !== undefined || (nvram.format ?? "raw") !== "raw"
    ) {
      throw refuseConfig(
        "/domain/os/nvram",
        "nvram needs an existing raw file path and no template",
      );
    }
    collector.requirePath(nvram.path, "file", "/domain/os/nvram");
    pflash(1, nvram.path, false);
  }
}

function addPowerManagement(definition: DomainDefinition, collector: ArgumentCollector): void {
  const pm = domainExtraElement(definition, "pm");
  if (pm === undefined) return;
  const device = collector.family === "q35" ? "ICH9-LPC" : "PIIX4_PM";
  for (const child of elementChildren(pm)) {
    const where = `/domain/pm/${child.name}`;
    const enabled = child.attributes?.enabled;
    if (enabled !== "yes" && enabled !== "no") {
      throw refuseConfig(`${where}/@enabled`, "pm needs enabled='yes' or 'no'");
    }
    const property =
      { "suspend-to-mem": "disable_s3", "suspend-to-disk": "disable_s4" }[child.name];
    if (property === undefined) {
      throw refuseConfig(where, `pm element '${child.name}' is not supported`);
    }
    collector.push("-global", `${device}.${property}=${enabled === "yes" ? 0 : 1}`);
  }
}

/**
 * Accepts `<resource><partition>` only where QEMU will run: evirt does not move QEMU to another
 * control group, and the live XML shows the one it runs in, so a live XML defined again runs.
 */
function checkResource(definition: DomainDefinition, partition: string | undefined): void {
  const placed = (definition.extra?.elements ?? []).find(({ element }) =>
    element.name === "resource"
  );
  if (placed === undefined) return;
  const children = elementChildren(placed.element);
  const other = children.find((child) => child.name !== "partition");
  if (other !== undefined || placed.element.attributes !== undefined) {
    throw refuseConfig(
      `/domain/resource${other === undefined ? "" : `/${other.name}`}`,
      "only a resource partition is supported",
    );
  }
  for (const child of children) {
    const text = (child.children ?? []).filter((each) => typeof each === "string").join("");
    if (text !== partition) {
      throw refuseConfig(
        "/domain/resource/partition",
        `resource partition '${text}' is not supported: QEMU runs in '${partition ?? "(unknown)"}'`,
      );
    }
  }
}

/** Checks `<seclabel>` (`dac_policy.ts` applies it) and handles `<qemu:commandline>` passthrough. */
function addCommandlinePassthrough(
  definition: DomainDefinition,
  collector: ArgumentCollector,
): void {
  const domainAttributes = definition.extra?.attributes ?? {};
  domainSeclabel(definition);
  definition.devices.disks.forEach((_disk, index) => diskSeclabel(definition, index));
  (definition.extra?.elements ?? []).forEach(({ element }) => {
    if (element.name === "seclabel") return;
    if (!element.name.endsWith(":commandline")) return;
    const prefix = element.name.slice(0, element.name.indexOf(":"));
    const namespace = element.attributes?.[`xmlns:${prefix}`] ??
      domainAttributes[`xmlns:${prefix}`];
    const where = `/domain/${element.name}`;
    if (namespace !== QEMU_COMMANDLINE_NAMESPACE) {
      throw refuseConfig(where, `element '${element.name}' is not supported by the qemu driver`);
    }
    for (const child of elementChildren(element)) {
      const local = child.name.slice(child.name.indexOf(":") + 1);
      const attributes = child.attributes ?? {};
      if (local === "arg") {
        // Raw arguments could undo what evirt relies on (the monitor, the pid file, the sandbox).
        throw refuseConfig(
          `${where}/${child.name}`,
          "passing raw arguments to QEMU is not supported by evirt",
        );
      } else if (local === "env" && attributes.name !== undefined) {
        collector.env[attributes.name] = attributes.value ?? "";
      } else {
        throw refuseConfig(`${where}/${child.name}`, `element '${child.name}' is not supported`);
      }
    }
  });
}
