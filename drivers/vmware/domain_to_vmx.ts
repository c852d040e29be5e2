/**
 * Domain definition → `.vmx`, as libvirt 9.0 converts one (`virVMXFormatConfig`, after the
 * define-time post-parse of a `vmware` domain): the entries in libvirt's order, for a given
 * virtual hardware version.
 *
 * @module
 */

import { parseCpuSet } from "../../src/model/cpu_set.ts";
import { applyDomainDefaults } from "../../src/model/domain_defaults.ts";
import { diskTargetIndex, withDiskDefaults } from "../../src/model/device_edit.ts";
import type {
  Chardev,
  Controller,
  Disk,
  DomainDefinition,
  NetInterface,
  XmlElement,
} from "../../src/model/domain.ts";
import { ErrorCode, type VirtError } from "../../src/model/errors.ts";
import { formatMac, parseMac } from "../../src/model/mac_address.ts";
import { toKiB } from "../../src/model/units.ts";
import { filesystemElements } from "../../src/xml/filesystem_elements.ts";
import { formatVmxFileName } from "./datastore_path.ts";
import { addImplicitControllers, driveAddress, SCSI_WIDE_MAX_UNIT } from "./disk_addresses.ts";
import { videoRamKiB } from "./video_ram.ts";
import { escapeHex, SCSI_MODEL_TO_VMX, vmxError, vmxUuid } from "./vmx_values.ts";

/** What the caller of an XML → `.vmx` conversion decides beyond the definition. */
export interface VmxWriteContext {
  /** The virtual hardware version written (`virtualHW.version`). Default 4, as libvirt's `vmware` driver... see module notes. */
  hardwareVersion?: number;
  /**
   * The model of a SCSI controller whose model is `auto`, found from a disk on it (the ESX
   * driver reads the disk's descriptor); without it, `auto` is refused.
   */
  autodetectScsiModel?: (disk: Disk) => string;
  /** Makes a MAC address for an interface without one. Default: random in VMware's `00:0c:29`. */
  generateMac?: () => string;
}

const ZERO_UUID = "00000000-0000-0000-0000-000000000000";

/**
 * Converts a domain definition to `.vmx` text.
 *
 * @throws {VirtError} Code 1 or 67 for what libvirt refuses to express, with where.
 *
 * @example
 * ```ts
 * import { domainToVmx } from "./domain_to_vmx.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * const vmx = domainToVmx({
 *   type: "vmware", name: "vm", uuid: "564d9bef-acd9-b4e0-c8f0-aea8b9103515", memoryKiB: 4096,
 *   vcpus: 1, os: { type: "hvm", boot: [] }, devices: emptyDevices(),
 * });
 * console.log(vmx.split("\n")[3]); // 'guestOS = "other"'
 * ```
 */
export function domainToVmx(definition: DomainDefinition, context: VmxWriteContext = {}): string {
  const hardwareVersion = context.hardwareVersion ?? 4;
  const def = vmwareDefaults(definition, context);
  const out: string[] = [];
  const line = (name: string, value: string | number) => out.push(`${name} = "${value}"`);
  if (def.type !== "vmware") {
    throw vmxError(
      `Expecting virt type to be 'vmware' but found '${def.type}'`,
      ErrorCode.INTERNAL_ERROR,
      "/domain/@type",
    );
  }
  line(".encoding", "UTF-8");
  line("config.version", "8");
  line("virtualHW.version", hardwareVersion);
  if (def.os.arch === "i686") line("guestOS", "other");
  else if (def.os.arch === "x86_64") line("guestOS", "other-64");
  else {
    throw vmxError(
      `Expecting domain XML attribute 'arch' of entry 'os/type' to be 'i686' or 'x86_64' but found '${def.os.arch}'`,
      ErrorCode.INTERNAL_ERROR,
      "/domain/os/type/@arch",
    );
  }
  const smbios = def.os.smbios;
  if (smbios === "host") line("smbios.reflecthost", "true");
  else if (smbios !== undefined && smbios !== "emulate") {
    throw vmxError(
      `Unsupported SMBIOS mode '${smbios}'`,
      ErrorCode.CONFIG_UNSUPPORTED,
      "/domain/os/smbios",
    );
  }
  if (def.uuid === undefined || def.uuid === ZERO_UUID) line("uuid.action", "create");
  else line("uuid.bios", vmxUuid(def.uuid));
  line("displayName", escapeHex(escapeHex(def.name, "|", '"'), "%", "/\\"));
  if (def.description !== undefined) line("annotation", escapeHex(def.description, "|", '"'));

  const maxKiB = Math.ceil(def.memoryKiB / 4096) * 4096;
  line("memsize", maxKiB / 1024);
  const currentKiB = def.currentMemoryKiB ?? def.memoryKiB;
  if (currentKiB < maxKiB) line("sched.mem.max", Math.ceil(currentKiB / 1024));
  const minGuaranteeKiB = minGuarantee(def);
  if (minGuaranteeKiB > 0) line("sched.mem.minsize", Math.ceil(minGuaranteeKiB / 1024));

  writeCpus(def, line);
  for (const graphics of def.devices.graphics) {
    if (graphics.type !== "vnc") {
      throw vmxError(
        `Unsupported graphics type '${graphics.type}'`,
        ErrorCode.CONFIG_UNSUPPORTED,
        "/domain/devices/graphics",
      );
    }
    line("RemoteDisplay.vnc.enabled", "true");
    if (graphics.autoport !== "yes" && graphics.port !== undefined) {
      line("RemoteDisplay.vnc.port", graphics.port);
    }
    const listen = graphics.listens[0];
    if (listen?.address !== undefined) line("RemoteDisplay.vnc.ip", listen.address);
    if (graphics.keymap !== undefined) line("RemoteDisplay.vnc.keymap", graphics.keymap);
    if (graphics.passwd !== undefined) line("RemoteDisplay.vnc.password", graphics.passwd);
  }

  const disks = def.devices.disks;
  disks.forEach((disk, index) => {
    verifyDiskAddress(disk, index);
    applyLegacyScsiDriverName(def.devices.controllers, disk);
  });
  const scsiModels = gatherScsiControllers(def.devices.controllers, disks, context);
  let hasScsi = false;
  for (let index = 0; index < 4; index++) {
    if (!scsiModels.has(index)) continue;
    hasScsi = true;
    line(`scsi${index}.present`, "true");
    const model = scsiModels.get(index);
    if (model !== undefined) line(`scsi${index}.virtualDev`, SCSI_MODEL_TO_VMX.get(model)!);
  }
  const floppyPresent = [false, false];
  disks.forEach((disk, index) => {
    const where = `/domain/devices/disk[${index + 1}]`;
    const device = disk.device ?? "disk";
    if (device === "floppy") writeFloppy(disk, floppyPresent, line, where);
    else if (device === "disk" || device === "cdrom" || device === "lun") {
      writeDisk(disk, line, where);
    } else {
      throw vmxError(
        `Unsupported disk device type '${device}'`,
        ErrorCode.CONFIG_UNSUPPORTED,
        where,
      );
    }
  });
  floppyPresent.forEach((present, unit) => {
    if (!present) line(`floppy${unit}.present`, "false");
  });

  const filesystems = filesystemElements(def.devices);
  if (filesystems.length > 0) {
    line("isolation.tools.hgfs.disable", "false");
    line("sharedFolder.maxNum", filesystems.length);
  }
  filesystems.forEach((element, number) => writeSharedFolder(element, number, line));

  def.devices.interfaces.forEach((net, index) => writeEthernet(net, index, hardwareVersion, line));

  const videos = def.devices.videos;
  if (videos.length > 1) {
    throw vmxError(
      "No support for multiple video devices",
      ErrorCode.INTERNAL_ERROR,
      "/domain/devices/video[2]",
    );
  }
  if (videos.length === 1) {
    const model = videos[0].model;
    const type = model?.type ?? "vmvga";
    if (type !== "vmvga") {
      throw vmxError(
        `Unsupported video device type '${type}'`,
        ErrorCode.CONFIG_UNSUPPORTED,
        "/domain/devices/video",
      );
    }
    if ((model?.heads ?? 1) > 1) {
      throw vmxError(
        "Multi-head video devices are unsupported",
        ErrorCode.CONFIG_UNSUPPORTED,
        "/domain/devices/video",
      );
    }
    const vramKiB = Math.ceil((model?.vram ?? 0) / 64) * 64;
    line("svga.vramSize", vramKiB * 1024);
  }
  for (const serial of def.devices.serials) writeSerial(serial, line);
  for (const parallel of def.devices.parallels) writeParallel(parallel, line);
  if (def.os.firmware === "efi") line("firmware", "efi");
  if (hardwareVersion >= 7) {
    if (hasScsi) {
      line("pciBridge0.present", "true");
      for (const bridge of [4, 5, 6, 7]) {
        line(`pciBridge${bridge}.present`, "true");
        line(`pciBridge${bridge}.virtualDev`, "pcieRootPort");
        line(`pciBridge${bridge}.functions`, "8");
      }
    }
    line("vmci0.present", "true");
  }
  return out.map((each) => `${each}\n`).join("");
}

type Line = (name: string, value: string | number) => void;

/** libvirt's define-time defaults for a `vmware` domain, on a copy. */
function vmwareDefaults(definition: DomainDefinition, context: VmxWriteContext): DomainDefinition {
  const def = applyDomainDefaults(definition, {
    arch: "i686",
    generateMac: context.generateMac ??
      (() => formatMac([0x00, 0x0c, 0x29, ...crypto.getRandomValues(new Uint8Array(3))])),
  });
  if (def.os.type !== "hvm" || (def.os.arch !== "i686" && def.os.arch !== "x86_64")) {
    throw vmxError(
      `No guest options available for arch '${def.os.arch ?? ""}' and os type '${def.os.type}'`,
      ErrorCode.CONFIG_UNSUPPORTED,
      "/domain/os/type",
    );
  }
  const devices = def.devices;
  devices.disks = devices.disks.map(withDiskDefaults);
  for (const disk of devices.disks) {
    if (disk.device === "cdrom") disk.readonly = true;
    if (disk.address === undefined) {
      const bus = disk.target.bus!;
      if (["scsi", "ide", "sata", "fdc"].includes(bus)) {
        disk.address = driveAddress(disk.target.dev, bus, SCSI_WIDE_MAX_UNIT);
      }
    }
  }
  addImplicitControllers(devices.disks, devices.controllers);
  // A display needs an adapter: libvirt adds the driver's default one (VMware SVGA).
  if (devices.graphics.length > 0 && devices.videos.length === 0) {
    devices.videos.push({ model: { type: "vmvga", primary: "yes" } });
  }
  for (const video of devices.videos) {
    const model = (video.model ??= { type: "vmvga" });
    if (model.type === "default") model.type = "vmvga";
    if (model.type === "vmvga") model.vram = videoRamKiB(model.vram ?? 0);
  }
  numberPorts(devices.serials);
  numberPorts(devices.parallels);
  return def;
}

/** Ports without a number get the one after the highest of their kind (libvirt's post-parse). */
function numberPorts(chardevs: Chardev[]): void {
  for (const chardev of chardevs) {
    if (chardev.target?.port !== undefined) continue;
    const highest = chardevs.reduce((max, each) => Math.max(max, each.target?.port ?? -1), -1);
    chardev.target = { ...chardev.target, port: highest + 1 };
  }
}

function minGuarantee(def: DomainDefinition): number {
  const typed = def.memtune?.minGuaranteeKiB;
  if (typed !== undefined) return Math.min(typed, def.memoryKiB);
  const memtune = def.extra?.elements?.find((placed) => placed.element.name === "memtune");
  const element = memtune?.element.children?.find((child): child is XmlElement =>
    typeof child !== "string" && child.name === "min_guarantee"
  );
  if (element === undefined) return 0;
  const text = (element.children ?? []).filter((child) => typeof child === "string").join("")
    .trim();
  if (!/^[0-9]+$/.test(text)) {
    throw vmxError(
      `invalid value '${text}' of memtune/min_guarantee`,
      ErrorCode.XML_ERROR,
      "/domain/memtune/min_guarantee",
    );
  }
  return Math.min(toKiB(BigInt(text), element.attributes?.unit), def.memoryKiB);
}

function writeCpus(def: DomainDefinition, line: Line): void {
  if (def.vcpu?.current !== undefined && def.vcpu.current < def.vcpus) {
    throw vmxError(
      "No support for domain XML entry 'vcpu' attribute 'current'",
      ErrorCode.CONFIG_UNSUPPORTED,
      "/domain/vcpu/@current",
    );
  }
  const vcpus = def.vcpus;
  line("numvcpus", vcpus);
  const cpu = def.cpu;
  if (cpu !== undefined) {
    const mode = cpu.mode ?? "custom";
    if (mode !== "custom") {
      throw vmxError(
        `Expecting domain XML CPU mode 'custom' but found '${mode}'`,
        ErrorCode.INTERNAL_ERROR,
        "/domain/cpu/@mode",
      );
    }
    const topology = cpu.topology;
    const sockets = topology?.sockets ?? 0;
    const cores = topology?.cores ?? 0;
    if ((topology?.threads ?? 0) !== 1) {
      throw vmxError(
        "Only 1 thread per core is supported",
        ErrorCode.CONFIG_UNSUPPORTED,
        "/domain/cpu/topology",
      );
    }
    if ((topology?.dies ?? 1) !== 1) {
      throw vmxError(
        "Only 1 die per socket is supported",
        ErrorCode.CONFIG_UNSUPPORTED,
        "/domain/cpu/topology",
      );
    }
    if (sockets * cores !== vcpus) {
      throw vmxError(
        `Expecting domain XML CPU sockets per core as ${vcpus} but found ${sockets * cores}`,
        ErrorCode.INTERNAL_ERROR,
        "/domain/cpu/topology",
      );
    }
    line("cpuid.coresPerSocket", cores);
  }
  const cpuset = def.vcpu?.cpuset;
  if (cpuset !== undefined) {
    const ids = parseCpuSet(cpuset);
    if (ids.length > 0) {
      if (ids.length < vcpus) {
        throw vmxError(
          `Expecting domain XML attribute 'cpuset' of entry 'vcpu' to contain at least ${vcpus} CPU(s)`,
          ErrorCode.INTERNAL_ERROR,
          "/domain/vcpu/@cpuset",
        );
      }
      line("sched.cpu.affinity", ids.join(","));
    }
  }
  const shares = def.cputune?.shares;
  if (shares !== undefined) {
    const level = shares === vcpus * 500
      ? "low"
      : shares === vcpus * 1000
      ? "normal"
      : shares === vcpus * 2000
      ? "high"
      : String(shares);
    line("sched.cpu.shares", level);
  }
}

/** The disk's drive address is the one its target name implies, within VMware's ranges. */
function verifyDiskAddress(disk: Disk, index: number): void {
  const where = `/domain/devices/disk[${index + 1}]/address`;
  const address = disk.address;
  if (address?.type !== "drive") {
    throw vmxError(
      `Unsupported disk address type '${address?.type ?? "none"}'`,
      ErrorCode.CONFIG_UNSUPPORTED,
      where,
    );
  }
  const bus = disk.target.bus ?? "ide";
  const controller = address.controller ?? 0;
  const driveBus = address.bus ?? 0;
  const unit = address.unit ?? 0;
  const expected = ["scsi", "ide", "sata", "fdc"].includes(bus)
    ? driveAddress(disk.target.dev, bus, SCSI_WIDE_MAX_UNIT)
    : { controller: 0, bus: 0, unit: 0 };
  if (expected.controller !== controller || expected.bus !== driveBus || expected.unit !== unit) {
    throw vmxError(
      `Disk address ${controller}:${driveBus}:${unit} doesn't match target device '${disk.target.dev}'`,
      ErrorCode.INTERNAL_ERROR,
      where,
    );
  }
  const range = (ok: boolean, message: string) => {
    if (!ok) throw vmxError(message, ErrorCode.INTERNAL_ERROR, where);
  };
  if (bus === "scsi") {
    range(controller <= 3, `SCSI controller index ${controller} out of [0..3] range`);
    range(driveBus === 0, `SCSI bus index ${driveBus} out of [0] range`);
    range(unit <= 15 && unit !== 7, `SCSI unit index ${unit} out of [0..6,8..15] range`);
  } else if (bus === "ide") {
    range(controller === 0, `IDE controller index ${controller} out of [0] range`);
    range(driveBus <= 1, `IDE bus index ${driveBus} out of [0..1] range`);
    range(unit <= 1, `IDE unit index ${unit} out of [0..1] range`);
  } else if (bus === "fdc") {
    range(controller === 0, `FDC controller index ${controller} out of [0] range`);
    range(driveBus === 0, `FDC bus index ${driveBus} out of [0] range`);
    range(unit <= 1, `FDC unit index ${unit} out of [0..1] range`);
  } else {
    throw vmxError(`Unsupported bus type '${bus}'`, ErrorCode.CONFIG_UNSUPPORTED, where);
  }
}

/** Every SCSI controller model name libvirt's domain XML knows. */
const XML_SCSI_MODELS = new Set([
  "auto",
  "buslogic",
  "lsilogic",
  "lsisas1068",
  "vmpvscsi",
  "ibmvscsi",
  "virtio-scsi",
  "lsisas1078",
  "virtio-transitional",
  "virtio-non-transitional",
  "ncr53c90",
  "dc390",
  "am53c974",
]);

/** Old definitions named the SCSI controller model in a SCSI disk's `<driver name>`. */
function applyLegacyScsiDriverName(controllers: Controller[], disk: Disk): void {
  const driver = disk.driver?.name;
  if (disk.target.bus !== "scsi" || driver === undefined) return;
  const model = driver.toLowerCase();
  if (!XML_SCSI_MODELS.has(model)) {
    throw vmxError(
      `Unknown driver name '${driver}'`,
      ErrorCode.INTERNAL_ERROR,
      "/domain/devices/disk/driver/@name",
    );
  }
  const index = disk.address?.controller ?? 0;
  // libvirt takes the first controller of that index, whatever its type.
  const controller = controllers.find((each) => (each.index ?? 0) === index);
  if (controller === undefined) {
    throw vmxError(
      `Missing SCSI controller for index ${index}`,
      ErrorCode.INTERNAL_ERROR,
      "/domain/devices/controller",
    );
  }
  if (controller.model === undefined) controller.model = model;
  else if (controller.model !== model) {
    throw vmxError(
      `Inconsistent SCSI controller model ('${driver}' is not '${controller.model}') for SCSI controller index ${index}`,
      ErrorCode.INTERNAL_ERROR,
      "/domain/devices/controller",
    );
  }
}

/** The SCSI controllers with disks on them, each with its model (absent: the default). */
function gatherScsiControllers(
  controllers: Controller[],
  disks: Disk[],
  context: VmxWriteContext,
): Map<number, string | undefined> {
  const present = new Map<number, string | undefined>();
  for (const controller of controllers) {
    if (controller.type !== "scsi") continue;
    const index = controller.index ?? 0;
    const attached = disks.filter((disk) =>
      disk.target.bus === "scsi" && (disk.address?.controller ?? 0) === index
    );
    if (attached.length === 0) continue;
    if (controller.model === "auto" && context.autodetectScsiModel !== undefined) {
      const models = attached.map((disk) => context.autodetectScsiModel!(disk));
      if (models.some((model) => model !== models[0])) {
        throw vmxError(
          `Disks on SCSI controller ${index} have inconsistent controller models, cannot autodetect model`,
          ErrorCode.INTERNAL_ERROR,
          "/domain/devices/controller",
        );
      }
      controller.model = models[0];
    }
    if (controller.model !== undefined && !SCSI_MODEL_TO_VMX.has(controller.model)) {
      throw vmxError(
        `Expecting domain XML attribute 'model' of entry 'controller' to be 'buslogic' or 'lsilogic' or 'lsisas1068' or 'vmpvscsi' but found '${controller.model}'`,
        ErrorCode.INTERNAL_ERROR,
        "/domain/devices/controller/@model",
      );
    }
    present.set(index, controller.model);
  }
  return present;
}

/** The index of a target name that must start with `prefix`. */
function diskIndexOf(dev: string, prefix: string, where: string): number {
  if (!dev.startsWith(prefix)) {
    throw vmxError(
      `Expecting domain XML attribute 'dev' of entry 'devices/disk/target' to start with '${prefix}'`,
      ErrorCode.INTERNAL_ERROR,
      where,
    );
  }
  const index = diskTargetIndex(dev);
  if (index < 0) {
    throw vmxError(
      `Could not parse valid disk index from '${dev}'`,
      ErrorCode.INTERNAL_ERROR,
      where,
    );
  }
  return index;
}

/** The controller (or IDE bus) and unit a target name stands for on VMware. */
function controllerAndUnit(dev: string, bus: string, where: string): [number, number] {
  const prefix = bus === "scsi" ? "sd" : "hd";
  const index = diskIndexOf(dev, prefix, where);
  if (bus === "scsi") {
    if (index >= 4 * 15) {
      throw vmxError(
        `SCSI disk index (parsed from '${dev}') is too large`,
        ErrorCode.INTERNAL_ERROR,
        where,
      );
    }
    const unit = index % 15;
    return [Math.trunc(index / 15), unit >= 7 ? unit + 1 : unit];
  }
  if (index >= 2 * 2) {
    throw vmxError(
      `IDE disk index (parsed from '${dev}') is too large`,
      ErrorCode.INTERNAL_ERROR,
      where,
    );
  }
  return [Math.trunc(index / 2), index % 2];
}

function writeDisk(disk: Disk, line: Line, where: string): void {
  const device = disk.device ?? "disk";
  const type = disk.type ?? "file";
  const bus = disk.target.bus ?? "ide";
  if (type !== "file" && type !== "block") {
    throw vmxError(
      `${bus} ${device} '${disk.target.dev}' has unsupported type '${type}', expecting 'file' or 'block'`,
      ErrorCode.CONFIG_UNSUPPORTED,
      where,
    );
  }
  if (bus !== "scsi" && bus !== "ide") {
    throw vmxError(
      `Unsupported bus type '${bus}' for ${device}`,
      ErrorCode.CONFIG_UNSUPPORTED,
      where,
    );
  }
  const [controller, unit] = controllerAndUnit(disk.target.dev, bus, where);
  const source = type === "file" ? disk.source?.file : disk.source?.dev;
  let deviceType: string;
  if (device === "disk" && type === "file") {
    deviceType = bus === "scsi" ? "scsi-hardDisk" : "ata-hardDisk";
  } else if (device === "cdrom") deviceType = type === "file" ? "cdrom-image" : "atapi-cdrom";
  else if (device === "lun") {
    deviceType = bus === "scsi" && source?.startsWith("/vmfs/devices/cdrom/")
      ? "scsi-passthru"
      : "cdrom-raw";
  } else {
    throw vmxError(
      `${bus} ${device} '${disk.target.dev}' has an unsupported type '${type}'`,
      ErrorCode.CONFIG_UNSUPPORTED,
      where,
    );
  }
  const prefix = `${bus}${controller}:${unit}`;
  line(`${prefix}.present`, "true");
  line(`${prefix}.deviceType`, deviceType);
  if (type === "file") {
    const extension = device === "disk" ? ".vmdk" : ".iso";
    let fileName: string | undefined;
    if (source !== undefined) {
      if (!source.toLowerCase().endsWith(extension)) {
        throw vmxError(
          `Image file for ${bus} ${device} '${disk.target.dev}' has unsupported suffix, expecting '${extension}'`,
          ErrorCode.INTERNAL_ERROR,
          `${where}/source/@file`,
        );
      }
      fileName = fileNameOf(source, `${where}/source/@file`);
    } else if (device === "cdrom") {
      fileName = "emptyBackingString";
    }
    if (fileName === undefined) {
      throw vmxError(
        `${bus} ${device} '${disk.target.dev}' has no source file`,
        ErrorCode.INTERNAL_ERROR,
        where,
      );
    }
    line(`${prefix}.fileName`, fileName);
  } else if (source === undefined && disk.source?.startupPolicy === "optional") {
    line(`${prefix}.autodetect`, "true");
    line(`${prefix}.fileName`, "auto detect");
  } else {
    if (source === undefined) {
      throw vmxError(
        `${bus} ${device} '${disk.target.dev}' has no source device`,
        ErrorCode.INTERNAL_ERROR,
        where,
      );
    }
    line(`${prefix}.fileName`, source);
  }
  if (bus === "scsi") {
    const cache = disk.driver?.cache;
    if (cache === "writethrough") line(`${prefix}.writeThrough`, "true");
    else if (cache !== undefined && cache !== "default") {
      throw vmxError(
        `${bus} harddisk '${disk.target.dev}' has unsupported cache mode '${cache}'`,
        ErrorCode.CONFIG_UNSUPPORTED,
        `${where}/driver/@cache`,
      );
    }
  }
  if (disk.transient === true) line(`${prefix}.mode`, "independent-nonpersistent");
}

function writeFloppy(disk: Disk, present: boolean[], line: Line, where: string): void {
  const dev = disk.target.dev;
  const unit = diskIndexOf(dev, "fd", where);
  if (unit >= 2) {
    throw vmxError(
      `Floppy disk index (parsed from '${dev}') is too large`,
      ErrorCode.INTERNAL_ERROR,
      where,
    );
  }
  present[unit] = true;
  line(`floppy${unit}.present`, "true");
  const type = disk.type ?? "file";
  if (type === "file") {
    line(`floppy${unit}.fileType`, "file");
    const source = disk.source?.file;
    if (source !== undefined) {
      line(`floppy${unit}.fileName`, fileNameOf(source, `${where}/source/@file`));
    }
  } else if (type === "block") {
    line(`floppy${unit}.fileType`, "device");
    if (disk.source?.dev !== undefined) line(`floppy${unit}.fileName`, disk.source.dev);
  } else {
    throw vmxError(
      `Floppy '${dev}' has unsupported type '${type}', expecting 'file' or 'block'`,
      ErrorCode.CONFIG_UNSUPPORTED,
      where,
    );
  }
}

function fileNameOf(source: string, where: string): string {
  const fileName = formatVmxFileName(source);
  if (fileName === undefined) {
    throw vmxError(
      `Could not map '${source}' to a datastore path`,
      ErrorCode.INTERNAL_ERROR,
      where,
    );
  }
  return fileName;
}

function childOf(element: XmlElement, name: string): XmlElement | undefined {
  return element.children?.find((child): child is XmlElement =>
    typeof child !== "string" && child.name === name
  );
}

function writeSharedFolder(element: XmlElement, number: number, line: Line): void {
  const type = element.attributes?.type ?? "mount";
  if (type !== "mount") {
    throw vmxError(
      "Only 'mount' filesystem type is supported",
      ErrorCode.CONFIG_UNSUPPORTED,
      `/domain/devices/filesystem[${number + 1}]`,
    );
  }
  const prefix = `sharedFolder${number}`;
  line(`${prefix}.present`, "true");
  line(`${prefix}.enabled`, "true");
  line(`${prefix}.readAccess`, "true");
  line(`${prefix}.writeAccess`, childOf(element, "readonly") === undefined ? "true" : "false");
  line(`${prefix}.hostPath`, childOf(element, "source")?.attributes?.dir ?? "(null)");
  line(`${prefix}.guestName`, childOf(element, "target")?.attributes?.dir ?? "(null)");
}

const NET_MODELS = new Set(["vlance", "vmxnet", "vmxnet2", "vmxnet3", "e1000", "e1000e"]);

function xmlEscape(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[char]!,
  );
}

function writeEthernet(
  net: NetInterface,
  index: number,
  hardwareVersion: number,
  line: Line,
): void {
  const where = `/domain/devices/interface[${index + 1}]`;
  // Before hardware version 7 (ESX 4.0) a machine has at most 4 NICs, from then on 10.
  const limit = hardwareVersion >= 7 ? 9 : 3;
  if (index > limit) {
    throw vmxError(
      `Ethernet controller index ${index} out of [0..${limit}] range`,
      ErrorCode.INTERNAL_ERROR,
      where,
    );
  }
  const prefix = `ethernet${index}`;
  line(`${prefix}.present`, "true");
  if (net.model !== undefined) {
    if (!NET_MODELS.has(net.model)) {
      throw vmxError(
        `Expecting domain XML entry 'devices/interface/model' to be 'vlance' or 'vmxnet' or 'vmxnet2' or 'vmxnet3' or 'e1000' or 'e1000e' but found '${net.model}'`,
        ErrorCode.INTERNAL_ERROR,
        `${where}/model`,
      );
    }
    if (net.model === "vmxnet2") {
      line(`${prefix}.virtualDev`, "vmxnet");
      line(`${prefix}.features`, "15");
    } else {
      line(`${prefix}.virtualDev`, net.model);
    }
  }
  if (net.type === "bridge") {
    line(`${prefix}.networkName`, net.source?.bridge ?? "(null)");
    if (net.target?.dev !== undefined) {
      line(`${prefix}.connectionType`, "custom");
      line(`${prefix}.vnet`, net.target.dev);
    } else {
      line(`${prefix}.connectionType`, "bridged");
    }
  } else if (net.type === "user") {
    line(`${prefix}.connectionType`, "nat");
  } else if (net.type === "vds") {
    const source = net.source ?? {};
    line(`${prefix}.dvs.switchId`, vmxUuid(source.switchid ?? ZERO_UUID));
    line(`${prefix}.dvs.portId`, Number(source.portid ?? 0));
    line(`${prefix}.dvs.portgroupId`, xmlEscape(source.portgroupid ?? ""));
    line(`${prefix}.dvs.connectionId`, Number(source.connectionid ?? 0));
  } else if (net.type !== "null") {
    throw vmxError(
      `Unsupported net type '${net.type}'`,
      ErrorCode.CONFIG_UNSUPPORTED,
      `${where}/@type`,
    );
  }

  const bytes = parseMac(net.mac ?? "00:00:00:00:00:00") ?? [0, 0, 0, 0, 0, 0];
  const mac = formatMac(bytes);
  const high = (bytes[0] << 16) | (bytes[1] << 8) | bytes[2];
  const low = (bytes[3] << 16) | (bytes[4] << 8) | bytes[5];
  // Without an explicit type, VMware's address ranges say how the address came about.
  let macType: string;
  let macCheck: string | undefined;
  let vpx = false;
  if (high === 0x000c29) macType = "generated";
  else if (high === 0x005056 && low <= 0x3fffff) macType = "static";
  else if (high === 0x005056 && low >= 0x800000 && low <= 0xbfffff) {
    macType = "generated";
    vpx = true;
  } else {
    macType = "static";
    macCheck = "no";
  }
  const macAttributes = net.extra?.children?.mac?.attributes ?? {};
  if (macAttributes.type !== undefined) {
    macType = macAttributes.type;
    if (macType === "generated") macCheck = undefined;
  }
  if (macAttributes.check !== undefined) macCheck = macAttributes.check;
  if (macType === "generated") {
    line(`${prefix}.addressType`, vpx ? "vpx" : "generated");
    line(`${prefix}.generatedAddress`, mac);
    if (!vpx) line(`${prefix}.generatedAddressOffset`, "0");
  } else {
    line(`${prefix}.addressType`, "static");
    line(`${prefix}.address`, mac);
  }
  if (macCheck !== undefined) {
    line(`${prefix}.checkMACAddress`, macCheck === "yes" ? "true" : "false");
  }
}

const TCP_SCHEMES: ReadonlyMap<string, string> = new Map([
  ["raw", "tcp"],
  ["telnet", "telnet"],
  ["telnets", "telnets"],
  ["tls", "ssl"],
]);

function portOf(chardev: Chardev, kind: string, max: number): number {
  const port = chardev.target?.port ?? 0;
  if (port > max) {
    throw vmxError(
      `${kind} port index ${port} out of [0..${max}] range`,
      ErrorCode.INTERNAL_ERROR,
      `/domain/devices/${kind.toLowerCase()}/target/@port`,
    );
  }
  return port;
}

/** The `device` and `file` kinds serial and parallel ports share; false for another kind. */
function writePortFile(chardev: Chardev, prefix: string, kind: string, line: Line): boolean {
  const path = chardev.sources[0]?.path;
  if (chardev.type === "dev") {
    line(`${prefix}.fileType`, "device");
    line(`${prefix}.fileName`, path ?? "(null)");
    return true;
  }
  if (chardev.type === "file") {
    line(`${prefix}.fileType`, "file");
    line(`${prefix}.fileName`, fileNameOf(path ?? "", `/domain/devices/${kind}/source/@path`));
    return true;
  }
  return false;
}

function unsupportedChardev(chardev: Chardev, kind: string): VirtError {
  return vmxError(
    `Unsupported character device type '${chardev.type ?? "pty"}'`,
    ErrorCode.CONFIG_UNSUPPORTED,
    `/domain/devices/${kind}/@type`,
  );
}

function writeSerial(serial: Chardev, line: Line): void {
  const port = portOf(serial, "Serial", 3);
  const prefix = `serial${port}`;
  const source = serial.sources[0];
  line(`${prefix}.present`, "true");
  if (writePortFile(serial, prefix, "serial", line)) {
    // written
  } else if (serial.type === "pipe") {
    line(`${prefix}.fileType`, "pipe");
    // The VI client's defaults: libvirt's XML cannot say which end the VM is.
    line(`${prefix}.pipe.endPoint`, "client");
    line(`${prefix}.tryNoRxLoss`, "false");
    line(`${prefix}.fileName`, source?.path ?? "(null)");
  } else if (serial.type === "tcp") {
    const scheme = TCP_SCHEMES.get(serial.protocol ?? "raw");
    if (scheme === undefined) {
      throw vmxError(
        `Unsupported character device TCP protocol '${serial.protocol}'`,
        ErrorCode.CONFIG_UNSUPPORTED,
        "/domain/devices/serial/protocol",
      );
    }
    line(`${prefix}.fileType`, "network");
    line(
      `${prefix}.fileName`,
      `${scheme}://${source?.host ?? "(null)"}:${source?.service ?? "(null)"}`,
    );
    line(`${prefix}.network.endPoint`, source?.mode === "bind" ? "server" : "client");
  } else {
    throw unsupportedChardev(serial, "serial");
  }
  line(`${prefix}.yieldOnMsrRead`, "true");
}

function writeParallel(parallel: Chardev, line: Line): void {
  const prefix = `parallel${portOf(parallel, "Parallel", 2)}`;
  line(`${prefix}.present`, "true");
  if (!writePortFile(parallel, prefix, "parallel", line)) {
    throw unsupportedChardev(parallel, "parallel");
  }
}
