/**
 * Domain definition → the `bhyve` command line and the loader's (`bhyveload`, `grub-bhyve` or a
 * custom bootloader), as libvirt 9.0's bhyve driver builds them, with the grub device map.
 *
 * @module
 */

import type {
  Chardev,
  Controller,
  Disk,
  DomainDefinition,
  Graphics,
  Sound,
  Video,
  XmlElement,
} from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { filesystemElements } from "../../src/xml/filesystem_elements.ts";
import type { BhyveCapabilities } from "./bhyve_capabilities.ts";
import { domainText, fsAddress } from "./bhyve_defaults.ts";

/** Where the programs live, and what stands in for what only a running host knows. */
export interface BhyveCommandOptions {
  /** The binary's features. */
  capabilities: BhyveCapabilities;
  /** The `bhyve` program. */
  bhyve: string;
  /** The `bhyveload` program. */
  bhyveload: string;
  /** The name of the tap device a bridged NIC gets (libvirt creates it at start). */
  tapName: string;
  /** The grub device map file named on the `grub-bhyve` command line. */
  deviceMapFile: string;
  /**
   * The VNC port of a display with an automatic port: the one allocated at start, or 0 before
   * (what libvirt's inactive definition holds).
   */
  autoPort: number;
}

/** The command lines of a definition completed by `bhyveDefaults`. */
export interface BhyveCommands {
  /** The loader's argv, absent when the guest boots from UEFI firmware (`-l bootrom`). */
  load?: string[];
  /** The grub device map, for `grub-bhyve`. */
  deviceMap?: string;
  /** The `bhyve` argv. */
  bhyve: string[];
}

function unsupported(message: string, where = "/domain"): VirtError {
  return new VirtError(ErrorCode.CONFIG_UNSUPPORTED, message, { where });
}

function slotOf(address: { slot?: number; function?: number } | undefined): string {
  return `${address?.slot ?? 0}:${address?.function ?? 0}`;
}

/** Whether the guest boots from firmware through `-l bootrom`. */
export function bootsFromRom(def: DomainDefinition): boolean {
  return domainText(def, "bootloader") === undefined && def.os.loader !== undefined;
}

/**
 * Builds both command lines.
 *
 * @throws {VirtError} Code 67 for what bhyve (or this binary) cannot do, with where.
 */
export function bhyveCommands(def: DomainDefinition, options: BhyveCommandOptions): BhyveCommands {
  if (bootsFromRom(def)) {
    const loader = def.os.loader!;
    if (loader.type !== "pflash" || loader.readonly !== "yes") {
      throw unsupported("Only read-only pflash is supported.", "/domain/os/loader");
    }
  }
  const bhyve = bhyveArgv(def, options);
  if (bootsFromRom(def)) return { bhyve };
  return { ...loadCommand(def, options), bhyve };
}

function bhyveArgv(def: DomainDefinition, options: BhyveCommandOptions): string[] {
  const caps = options.capabilities;
  const argv = [options.bhyve, "-c"];
  const vcpus = def.vcpus;
  const topology = def.cpu?.topology;
  if (topology !== undefined && topology.sockets > 0) {
    if ((topology.dies ?? 1) !== 1) {
      throw unsupported("Only 1 die per socket is supported", "/domain/cpu/topology");
    }
    if (vcpus !== topology.sockets * topology.cores * topology.threads) {
      throw unsupported(
        "Invalid CPU topology: total number of vCPUs must equal the product of sockets, cores, and threads",
        "/domain/cpu/topology",
      );
    }
    if (!caps.cpuTopology) {
      throw unsupported(
        "Installed bhyve binary does not support defining CPU topology",
        "/domain/cpu/topology",
      );
    }
    argv.push(
      `cpus=${vcpus},sockets=${topology.sockets},cores=${topology.cores},threads=${topology.threads}`,
    );
  } else {
    argv.push(String(vcpus));
  }
  argv.push("-m", String(Math.ceil(def.memoryKiB / 1024)));
  const memoryBacking = def.extra?.elements?.find((each) => each.element.name === "memoryBacking");
  if (
    memoryBacking?.element.children?.some((child) =>
      typeof child !== "string" && child.name === "locked"
    )
  ) {
    argv.push("-S");
  }
  const features = def.features ?? {};
  if (features.acpi !== undefined && features.acpi.state !== "off") argv.push("-A");
  if (features.apic !== undefined && features.apic.state !== "off") argv.push("-I");
  if (features.msrs?.unknown === "ignore") argv.push("-w");
  const offset = def.clock?.offset ?? "utc";
  if (offset === "utc") {
    if (!caps.rtcUtc) {
      throw unsupported("Installed bhyve binary does not support UTC clock", "/domain/clock");
    }
    argv.push("-u");
  } else if (offset !== "localtime") {
    throw unsupported(`unsupported clock offset '${offset}'`, "/domain/clock/@offset");
  }
  // Exit to the host on HLT and PAUSE, so an idle guest sleeps and a spinning one yields.
  argv.push("-H", "-P", "-s", "0:0,hostbridge");
  if (bootsFromRom(def)) {
    if (!caps.lpcBootrom) {
      throw unsupported("Installed bhyve binary does not support UEFI loader", "/domain/os/loader");
    }
    argv.push("-l", `bootrom,${def.os.loader!.path ?? ""}`);
  }
  let usbControllers = 0;
  let isaControllers = 0;
  for (const controller of def.devices.controllers) {
    if (controller.type === "pci") {
      if (controller.model !== "pci-root") {
        throw unsupported(
          "unsupported PCI controller model: only PCI root supported",
          "/domain/devices/controller",
        );
      }
    } else if (controller.type === "sata") {
      argv.push("-s", ahciArgument(def, controller, caps));
    } else if (controller.type === "usb") {
      if (++usbControllers > 1) {
        throw unsupported("only single USB controller is supported", "/domain/devices/controller");
      }
      argv.push("-s", usbArgument(def, controller));
    } else if (controller.type === "isa") {
      if (++isaControllers > 1) {
        throw unsupported("only single ISA controller is supported", "/domain/devices/controller");
      }
      argv.push("-s", `${controller.address?.slot ?? 0}:0,lpc`);
    }
  }
  for (const net of def.devices.interfaces) {
    let model: string;
    if (net.model === "virtio") model = "virtio-net";
    else if (net.model === "e1000") {
      if (!caps.netE1000) {
        throw unsupported(
          "NIC model 'e1000' is not supported by given bhyve binary",
          "/domain/devices/interface/model",
        );
      }
      model = "e1000";
    } else throw unsupported("NIC model is not supported", "/domain/devices/interface/model");
    if (net.type !== "bridge") {
      throw unsupported(
        `Network type '${net.type}' is not supported`,
        "/domain/devices/interface/@type",
      );
    }
    argv.push("-s", `${net.address?.slot ?? 0}:0,${model},${options.tapName},mac=${net.mac}`);
  }
  for (const disk of def.devices.disks) {
    if (disk.target.bus === "sata") continue; // on its AHCI controller
    if (disk.target.bus !== "virtio") {
      throw unsupported("unsupported disk device", "/domain/devices/disk");
    }
    if ((disk.device ?? "disk") !== "disk") {
      throw unsupported("unsupported disk device", "/domain/devices/disk");
    }
    requireFileDisk(disk);
    argv.push("-s", `${disk.address?.slot ?? 0}:0,virtio-blk,${diskSource(disk)}`);
  }
  const { graphics, videos } = def.devices;
  if (graphics.length > 0 && videos.length > 0) {
    if (graphics.length !== 1 || videos.length !== 1) {
      throw unsupported("Multiple graphics devices are not supported", "/domain/devices/graphics");
    }
    argv.push("-s", framebufferArgument(def, graphics[0], videos[0], options));
  }
  for (const sound of def.devices.sounds) argv.push("-s", soundArgument(def, sound, caps));
  for (const element of filesystemElements(def.devices)) {
    argv.push("-s", filesystemArgument(element));
  }
  const serial = def.devices.serials[0];
  if (serial !== undefined) {
    if (serial.type !== "nmdm") {
      throw unsupported("only nmdm console types are supported", "/domain/devices/serial");
    }
    const port = serial.target?.port ?? 0;
    if (port > 2) {
      throw unsupported("only two serial ports are supported", "/domain/devices/serial");
    }
    argv.push("-l", `com${port + 1},${serial.sources[0]?.master ?? ""}`);
  }
  argv.push(...commandlineArguments(def));
  argv.push(def.name);
  return argv;
}

/** `<bhyve:commandline><bhyve:arg value=…/>`: arguments passed through verbatim. */
function commandlineArguments(def: DomainDefinition): string[] {
  const element = def.extra?.elements?.find((each) => each.element.name.endsWith(":commandline"))
    ?.element;
  return (element?.children ?? []).flatMap((child) =>
    typeof child !== "string" && child.name.endsWith(":arg") &&
      child.attributes?.value !== undefined
      ? [child.attributes.value]
      : []
  );
}

function diskSource(disk: Disk): string {
  return disk.source?.file ?? disk.source?.dev ?? "";
}

function requireFileDisk(disk: Disk): void {
  const type = disk.type ?? "file";
  if (type !== "file" && type !== "volume") {
    throw unsupported("unsupported disk type", "/domain/devices/disk/@type");
  }
}

function ahciArgument(
  def: DomainDefinition,
  controller: Controller,
  caps: BhyveCapabilities,
): string {
  let devices = "";
  for (const disk of def.devices.disks) {
    if (disk.target.bus !== "sata" || (disk.address?.controller ?? 0) !== (controller.index ?? 0)) {
      continue;
    }
    requireFileDisk(disk);
    const device = disk.device ?? "disk";
    const source = disk.source?.file;
    if (device === "cdrom" && source === undefined) {
      throw unsupported("cdrom device without source path not supported", "/domain/devices/disk");
    }
    if (device !== "disk" && device !== "cdrom") {
      throw unsupported("unsupported disk device", "/domain/devices/disk");
    }
    const kind = device === "disk" ? "hd" : "cd";
    devices += caps.ahci32Slot ? `,${kind}:${source}` : `-${kind},${source}`;
  }
  return `${controller.address?.slot ?? 0}:0,ahci${devices}`;
}

function usbArgument(def: DomainDefinition, controller: Controller): string {
  for (const input of def.devices.inputs) {
    if (input.bus !== "usb") {
      throw unsupported("only USB input devices are supported", "/domain/devices/input");
    }
    if (input.type !== "tablet") {
      throw unsupported("only tablet input devices are supported", "/domain/devices/input");
    }
  }
  if (def.devices.inputs.length !== 1) {
    throw unsupported("only single input device is supported", "/domain/devices/input");
  }
  return `${slotOf(controller.address)},xhci,tablet`;
}

function framebufferArgument(
  def: DomainDefinition,
  graphics: Graphics,
  video: Video,
  options: BhyveCommandOptions,
): string {
  const caps = options.capabilities;
  if (
    !caps.lpcBootrom || domainText(def, "bootloader") !== undefined || def.os.loader === undefined
  ) {
    throw unsupported(
      "Graphics are only supported when booting using UEFI",
      "/domain/devices/graphics",
    );
  }
  if (!caps.fbuf) {
    throw unsupported("Bhyve version does not support framebuffer", "/domain/devices/graphics");
  }
  if (graphics.type !== "vnc") {
    throw unsupported("Only VNC supported", "/domain/devices/graphics/@type");
  }
  const listen = graphics.listens[0];
  if (listen === undefined) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, "Missing listen element", {
      where: "/domain/devices/graphics",
    });
  }
  let option = `${slotOf(video.address)},fbuf`;
  if (listen.type === "address" || listen.type === "network") {
    option += ",tcp=";
    const autoport = graphics.autoport === "yes";
    const port = autoport ? options.autoPort : graphics.port ?? 0;
    if (!autoport && (port < 5900 || port > 65535)) {
      throw unsupported("vnc port must be in range [5900,65535]", "/domain/devices/graphics/@port");
    }
    if (listen.address !== undefined) {
      option += listen.address.includes(":") ? `[${listen.address}]` : listen.address;
    }
    option += `:${port}`;
  } else {
    throw unsupported("Unsupported listen type", "/domain/devices/graphics/listen");
  }
  if (graphics.passwd !== undefined) {
    if (!caps.vncPassword) {
      throw unsupported(
        "VNC Password authentication not supported by bhyve",
        "/domain/devices/graphics/@passwd",
      );
    }
    if (graphics.passwd.includes(",")) {
      throw unsupported(
        "Password may not contain ',' character",
        "/domain/devices/graphics/@passwd",
      );
    }
    option += `,password=${graphics.passwd}`;
  }
  const resolution = video.model?.extra?.elements?.find((each) =>
    each.element.name === "resolution"
  )?.element;
  if (resolution !== undefined) {
    option += `,w=${resolution.attributes?.x ?? 0},h=${resolution.attributes?.y ?? 0}`;
  }
  if (video.driver !== undefined) option += `,vga=${video.driver.vgaconf ?? "io"}`;
  return option;
}

function soundArgument(def: DomainDefinition, sound: Sound, caps: BhyveCapabilities): string {
  if (!caps.soundHda) {
    throw unsupported(
      "Sound devices emulation is not supported by given bhyve binary",
      "/domain/devices/sound",
    );
  }
  if (sound.model !== "ich7") {
    throw unsupported("Sound device model is not supported", "/domain/devices/sound/@model");
  }
  let parameters = "";
  const audio = (def.devices.extra?.elements ?? []).map((each) => each.element).find((element) =>
    element.name === "audio" && sound.audioId !== undefined &&
    Number(element.attributes?.id) === sound.audioId
  );
  if (audio !== undefined) {
    if (audio.attributes?.type !== "oss") {
      throw unsupported(
        `unsupported audio backend '${audio.attributes?.type}'`,
        "/domain/devices/audio/@type",
      );
    }
    const child = (name: string) =>
      audio.children?.find((each): each is XmlElement =>
        typeof each !== "string" && each.name === name
      );
    const input = child("input");
    const output = child("output");
    const common = ["mixingEngine", "fixedSettings", "voices", "bufferLength"];
    if (
      [input, output].some((each) => common.some((name) => each?.attributes?.[name] !== undefined))
    ) {
      throw unsupported("cannot set common audio backend settings", "/domain/devices/audio");
    }
    if (input?.attributes?.dev !== undefined) parameters += `,play=${input.attributes.dev}`;
    if (output?.attributes?.dev !== undefined) parameters += `,rec=${output.attributes.dev}`;
  }
  return `${slotOf(sound.address)},hda${parameters}`;
}

function filesystemArgument(element: XmlElement): string {
  const type = element.attributes?.type ?? "mount";
  if (type !== "mount") {
    throw unsupported(`unsupported filesystem type '${type}'`, "/domain/devices/filesystem/@type");
  }
  const child = (name: string) =>
    element.children?.find((each): each is XmlElement =>
      typeof each !== "string" && each.name === name
    );
  const driver = child("driver")?.attributes?.type;
  if (driver !== undefined) {
    throw unsupported(
      `unsupported filesystem driver '${driver}'`,
      "/domain/devices/filesystem/driver",
    );
  }
  // libvirt's parser makes a missing access mode `passthrough`.
  const accessmode = element.attributes?.accessmode ?? "passthrough";
  if (accessmode !== "passthrough") {
    throw unsupported(
      `unsupported filesystem accessmode '${accessmode}'`,
      "/domain/devices/filesystem/@accessmode",
    );
  }
  const address = fsAddress(element)?.attributes ?? {};
  const readonly = child("readonly") === undefined ? "" : ",ro";
  return `${Number(address.slot ?? 0)}:${Number(address.function ?? 0)},virtio-9p,${
    child("target")?.attributes?.dir ?? ""
  }=${child("source")?.attributes?.dir ?? ""}${readonly}`;
}

function loadCommand(
  def: DomainDefinition,
  options: BhyveCommandOptions,
): Omit<BhyveCommands, "bhyve"> {
  const bootloader = domainText(def, "bootloader");
  const bootloaderArgs = domainText(def, "bootloader_args");
  if (bootloader === undefined) {
    const disk = bootDisk(def);
    if (bootloaderArgs !== undefined) {
      return { load: [options.bhyveload, ...bootloaderArgs.split(" ")] };
    }
    return {
      load: [
        options.bhyveload,
        "-m",
        String(Math.ceil(def.memoryKiB / 1024)),
        "-d",
        diskSource(disk),
        def.name,
      ],
    };
  }
  if (bootloader.includes("grub-bhyve")) {
    return grubCommand(def, bootloader, bootloaderArgs, options);
  }
  return { load: customLoader(bootloader, bootloaderArgs) };
}

function customLoader(bootloader: string, bootloaderArgs: string | undefined): string[] {
  if (bootloaderArgs === undefined) {
    throw unsupported(
      "Custom loader requires explicit bootloader_args configuration",
      "/domain/bootloader_args",
    );
  }
  return [bootloader, ...bootloaderArgs.split(" ")];
}

/** A disk a loader can boot: a file disk or CD-ROM (libvirt skips the others). */
function usableDisk(disk: Disk): boolean {
  const device = disk.device ?? "disk";
  const type = disk.type ?? "file";
  return (device === "disk" || device === "cdrom") && (type === "file" || type === "volume");
}

function grubCommand(
  def: DomainDefinition,
  bootloader: string,
  bootloaderArgs: string | undefined,
  options: BhyveCommandOptions,
): Omit<BhyveCommands, "bhyve"> {
  if (bootloaderArgs !== undefined) return { load: customLoader(bootloader, bootloaderArgs) };
  let cd: Disk | undefined;
  let hdd: Disk | undefined;
  let chosen: Disk | undefined;
  let best = Infinity;
  for (const disk of def.devices.disks) {
    if (!usableDisk(disk)) continue;
    const order = disk.boot?.order ?? 0;
    if (order > 0 && order < best) {
      chosen = disk;
      best = order;
      continue;
    }
    if (cd === undefined && disk.device === "cdrom") cd = disk;
    if (hdd === undefined && (disk.device ?? "disk") === "disk") hdd = disk;
  }
  const line = (disk: Disk) =>
    `${disk.device === "cdrom" ? "(cd)" : "(hd0)"} ${diskSource(disk)}\n`;
  const deviceMap = chosen !== undefined
    ? line(chosen)
    : (hdd === undefined ? "" : line(hdd)) + (cd === undefined ? "" : line(cd));
  const root = chosen !== undefined
    ? (chosen.device === "cdrom" ? "cd" : "hd0,msdos1")
    : cd !== undefined
    ? "cd"
    : "hd0,msdos1";
  const load = [
    bootloader,
    "--root",
    root,
    "--device-map",
    options.deviceMapFile,
    "--memory",
    String(Math.ceil(def.memoryKiB / 1024)),
  ];
  const serial: Chardev | undefined = def.devices.serials[0];
  if (options.capabilities.grubConsoleDevice && serial !== undefined) {
    if (serial.type !== "nmdm") {
      throw unsupported("only nmdm console types are supported", "/domain/devices/serial");
    }
    // libvirt passes the nmdm end it reads as the port's path: the master.
    load.push("--cons-dev", serial.sources[0]?.master ?? "");
  }
  load.push(def.name);
  return { load, deviceMap };
}

function bootDisk(def: DomainDefinition): Disk {
  const disks = def.devices.disks;
  if (disks.length < 1) {
    throw unsupported("Domain should have at least one disk defined", "/domain/devices");
  }
  const boot = def.os.boot;
  if (boot.length > 1) throw unsupported("Only one boot device is supported", "/domain/os/boot");
  if (boot.length === 1) {
    const wanted = boot[0] === "cdrom" ? "cdrom" : boot[0] === "hd" ? "disk" : undefined;
    if (wanted === undefined) {
      throw unsupported(`Cannot boot from device ${boot[0]}`, "/domain/os/boot");
    }
    const match = disks.find((disk) => usableDisk(disk) && (disk.device ?? "disk") === wanted);
    if (match === undefined) {
      throw unsupported(`Cannot find boot device of requested type ${boot[0]}`, "/domain/os/boot");
    }
    return match;
  }
  let match: Disk | undefined;
  let lastUsable: Disk | undefined;
  for (const disk of disks) {
    if (!usableDisk(disk)) continue;
    lastUsable = disk;
    if ((disk.boot?.order ?? 0) > 0) {
      if (match !== undefined) {
        throw unsupported("Only one boot device is supported", "/domain/devices/disk/boot");
      }
      match = disk;
    }
  }
  // libvirt's fallback is the last usable disk (its variable says "first").
  const chosen = match ?? lastUsable;
  if (chosen === undefined) throw unsupported("unsupported disk device", "/domain/devices/disk");
  return chosen;
}
