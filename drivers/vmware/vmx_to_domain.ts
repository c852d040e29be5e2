/**
 * `.vmx` → domain definition, as libvirt 9.0 converts one (`virVMXParseConfig` followed by its
 * define-time post-parse for a `vmware` domain): identity, memory, vCPUs and topology, CPU
 * affinity and shares, VNC, SCSI/SATA/IDE disks and CD-ROMs, floppies, shared folders,
 * Ethernet cards, the SVGA adapter, serial and parallel ports, firmware, and the
 * `vmware:` namespace data the caller knows (datacenter path, managed object reference).
 *
 * @module
 */

import { addConsoleCompat } from "../../src/model/console_compat.ts";
import { formatCpuSet } from "../../src/model/cpu_set.ts";
import {
  type Chardev,
  type Controller,
  type Disk,
  type DomainDefinition,
  emptyDevices,
  type NetInterface,
  type XmlElement,
  type XmlPlacedElement,
} from "../../src/model/domain.ts";
import { ErrorCode } from "../../src/model/errors.ts";
import { formatMac, parseMac } from "../../src/model/mac_address.ts";
import {
  addImplicitControllers,
  driveAddress,
  SCSI_SUPER_WIDE_MAX_UNIT,
  SCSI_WIDE_MAX_UNIT,
} from "./disk_addresses.ts";
import { type DatastoreLookup, EVERY_FILE_EXISTS, parseVmxFileName } from "./datastore_path.ts";
import { readVmx, type VmxEntries } from "./vmx_text.ts";
import { videoRamKiB } from "./video_ram.ts";
import {
  canonicalUuid,
  indexToDiskName,
  SCSI_MODEL_FROM_VMX,
  unescapeHex,
  vmxBoolean,
  vmxError,
  vmxLong,
  vmxString,
} from "./vmx_values.ts";

/** The namespace of libvirt's VMware-specific domain XML elements. */
export const VMWARE_NAMESPACE = "http://libvirt.org/schemas/domain/vmware/1.0";

/** What the caller of a `.vmx` conversion knows beyond the file. */
export interface VmxReadContext {
  /** Whether a datastore file exists. Default: every file does. */
  exists?: DatastoreLookup;
  /** The datacenter path of the host the file came from (`<vmware:datacenterpath>`). */
  datacenterPath?: string;
  /** The managed object reference of the machine (`<vmware:moref>`). */
  moref?: string;
}

/**
 * Converts `.vmx` text to a domain definition.
 *
 * @throws {VirtError} Code 33 for a syntax error, code 1 (or 67) for what libvirt refuses,
 *   with the entry in `where`.
 *
 * @example
 * ```ts
 * import { vmxToDomain } from "./vmx_to_domain.ts";
 * const def = vmxToDomain('config.version = "8"\nvirtualHW.version = "4"\ndisplayName = "vm"\n');
 * console.log(def.name, def.memoryKiB, def.os.arch); // "vm" 32768 "i686"
 * ```
 */
export function vmxToDomain(text: string, context: VmxReadContext = {}): DomainDefinition {
  let vmx = readVmx(text);
  const encoding = vmx.get(".encoding");
  if (encoding !== undefined && encoding.toLowerCase() !== "utf-8") {
    vmx = readVmx(recode(text, encoding));
  }
  const exists = context.exists ?? EVERY_FILE_EXISTS;
  const networksMaxIndex = maxEthernetIndex(vmx);

  const configVersion = vmxLong(vmx, "config.version", 0, true);
  if (configVersion !== 8) {
    throw vmxError(
      `Expecting VMX entry 'config.version' to be 8 but found ${configVersion}`,
      ErrorCode.INTERNAL_ERROR,
      "config.version",
    );
  }
  const hardwareVersion = vmxLong(vmx, "virtualHW.version", 0, true);
  if (hardwareVersion < 4) {
    throw vmxError(
      `Expecting VMX entry 'virtualHW.version' to be 4 or higher but found ${hardwareVersion}`,
      ErrorCode.INTERNAL_ERROR,
      "virtualHW.version",
    );
  }
  const scsiMaxUnit = hardwareVersion >= 13 ? SCSI_SUPER_WIDE_MAX_UNIT : SCSI_WIDE_MAX_UNIT;

  const def: DomainDefinition = {
    type: "vmware",
    name: "",
    memoryKiB: 0,
    vcpus: 0,
    os: { type: "hvm", boot: [] },
    devices: emptyDevices(),
  };
  readIdentity(vmx, def);
  readMemory(vmx, def);
  readCpus(vmx, def);
  def.os.arch = (vmxString(vmx, "guestOS") ?? "").endsWith("-64") ? "x86_64" : "i686";
  if (vmxBoolean(vmx, "smbios.reflecthost", false)) def.os.smbios = "host";
  readVnc(vmx, def);

  const devices = def.devices;
  const scsiModels = readScsiDisks(vmx, devices.disks, exists, scsiMaxUnit);
  if (devices.disks.length > 0) {
    const last = devices.disks[devices.disks.length - 1].address!.controller!;
    for (let controller = 0; controller <= last; controller++) {
      devices.controllers.push(scsiController(controller, scsiModels[controller]));
    }
  }
  const beforeSata = devices.disks.length;
  readSataDisks(vmx, devices.disks, exists, scsiMaxUnit);
  if (devices.disks.length > beforeSata) {
    const last = devices.disks[devices.disks.length - 1].address!.controller!;
    for (let controller = 0; controller <= last; controller++) {
      devices.controllers.push({ type: "sata", index: controller });
    }
  }
  for (let bus = 0; bus < 2; bus++) {
    for (let unit = 0; unit < 2; unit++) {
      const disk = readDisk(vmx, "disk", "ide", bus, unit, exists, scsiMaxUnit) ??
        readDisk(vmx, "cdrom", "ide", bus, unit, exists, scsiMaxUnit);
      if (disk !== undefined) devices.disks.push(disk);
    }
  }
  for (let unit = 0; unit < 2; unit++) {
    const disk = readDisk(vmx, "floppy", "fdc", 0, unit, exists, scsiMaxUnit);
    if (disk !== undefined) devices.disks.push(disk);
  }
  const filesystems = readSharedFolders(vmx);
  for (let index = 0; index <= networksMaxIndex; index++) {
    const net = readEthernet(vmx, index);
    if (net !== undefined) devices.interfaces.push(net);
  }
  devices.videos.push({ model: { type: "vmvga", vram: readVramKiB(vmx), primary: "yes" } });
  for (let port = 0; port < 4; port++) {
    const serial = readSerial(vmx, port, exists);
    if (serial !== undefined) devices.serials.push(serial);
  }
  for (let port = 0; port < 3; port++) {
    const parallel = readParallel(vmx, port, exists);
    if (parallel !== undefined) devices.parallels.push(parallel);
  }
  const firmware = vmxString(vmx, "firmware");
  if (firmware !== undefined) {
    if (firmware !== "efi") {
      throw vmxError(
        `VMX entry 'firmware' has unknown value '${firmware}'`,
        ErrorCode.INTERNAL_ERROR,
        "firmware",
      );
    }
    def.os.firmware = "efi";
  }

  // libvirt's post-parse: lifecycle and clock defaults, implicit controllers, the console.
  def.clock = { offset: "utc", timers: [] };
  def.onPoweroff = "destroy";
  def.onReboot = "restart";
  def.onCrash = "destroy";
  addImplicitControllers(devices.disks, devices.controllers);
  addConsoleCompat(def);
  placeExtras(def, filesystems, context);
  return def;
}

/**
 * The text decoded as `encoding`, when it came in as one character per byte
 * (`vmxTextFromBytes` of a file that is not UTF-8); text with wider characters was decoded
 * already and is kept.
 */
function recode(text: string, encoding: string): string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(encoding);
  } catch {
    throw vmxError(
      `Unsupported encoding '${encoding}' of the VMX text`,
      ErrorCode.INTERNAL_ERROR,
      ".encoding",
    );
  }
  const bytes = new Uint8Array(text.length);
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    // Characters beyond one byte mean the text was decoded already: keep it as it is.
    if (code > 0xff) return text;
    bytes[index] = code;
  }
  return decoder.decode(bytes);
}

function maxEthernetIndex(vmx: VmxEntries): number {
  let max = -1;
  for (const name of vmx.names) {
    if (!name.toLowerCase().startsWith("ethernet")) continue;
    const match = /^\s*([+-]?[0-9]+)\./.exec(name.slice("ethernet".length));
    const index = match === null ? -1 : Number(match[1]);
    if (match === null || index < 0) {
      throw vmxError(
        `failed to parse the index of the VMX key '${name}'`,
        ErrorCode.INTERNAL_ERROR,
        name,
      );
    }
    max = Math.max(max, index);
  }
  return max;
}

function readIdentity(vmx: VmxEntries, def: DomainDefinition): void {
  const uuid = vmxString(vmx, "uuid.bios");
  if (uuid === undefined) {
    def.uuid = "00000000-0000-0000-0000-000000000000";
  } else {
    const canonical = canonicalUuid(uuid);
    if (canonical === undefined) {
      throw vmxError(
        `Could not parse UUID from string '${uuid}'`,
        ErrorCode.INTERNAL_ERROR,
        "uuid.bios",
      );
    }
    def.uuid = canonical;
  }
  const name = vmxString(vmx, "displayName");
  if (name !== undefined) def.name = unescaped(name, ["%", "|"], "displayName", "name");
  const genid = vmxLong(vmx, "vm.genid", 0);
  const genidX = vmxLong(vmx, "vm.genidX", 0);
  if (genid !== 0 || genidX !== 0) {
    const hex = (value: number) => BigInt.asUintN(64, BigInt(value)).toString(16).padStart(16, "0");
    def.genid = canonicalUuid(hex(genid) + hex(genidX));
  }
  const annotation = vmxString(vmx, "annotation");
  if (annotation !== undefined) {
    def.description = unescaped(annotation, ["|"], "annotation", "annotation");
  }
}

/** A value with its `cXX` escapes undone, one escape character after the other. */
function unescaped(value: string, escapes: string[], entry: string, label: string): string {
  let text: string | undefined = value;
  for (const escape of escapes) text = text === undefined ? undefined : unescapeHex(text, escape);
  if (text === undefined) {
    throw vmxError(
      `VMX entry '${label}' contains invalid escape sequence`,
      ErrorCode.INTERNAL_ERROR,
      entry,
    );
  }
  return text;
}

function readMemory(vmx: VmxEntries, def: DomainDefinition): void {
  const memsize = vmxLong(vmx, "memsize", 32);
  if (memsize <= 0 || memsize % 4 !== 0) {
    throw vmxError(
      `Expecting VMX entry 'memsize' to be an unsigned integer (multiple of 4) but found ${memsize}`,
      ErrorCode.INTERNAL_ERROR,
      "memsize",
    );
  }
  def.memoryKiB = memsize * 1024;
  let max = vmxLong(vmx, "sched.mem.max", memsize);
  if (max < 0) max = memsize;
  def.currentMemoryKiB = Math.min(max * 1024, def.memoryKiB);
  let min = vmxLong(vmx, "sched.mem.minsize", 0);
  if (min < 0) min = 0;
  const minKiB = Math.min(min * 1024, def.memoryKiB);
  if (minKiB > 0) {
    def.extra = {
      ...def.extra,
      elements: [...def.extra?.elements ?? [], {
        after: "currentMemory",
        element: {
          name: "memtune",
          children: [{
            name: "min_guarantee",
            attributes: { unit: "KiB" },
            children: [String(minKiB)],
          }],
        },
      }],
    };
  }
}

function readCpus(vmx: VmxEntries, def: DomainDefinition): void {
  const vcpus = vmxLong(vmx, "numvcpus", 1);
  if (vcpus <= 0) {
    throw vmxError(
      `Expecting VMX entry 'numvcpus' to be an unsigned integer greater than 0 but found ${vcpus}`,
      ErrorCode.INTERNAL_ERROR,
      "numvcpus",
    );
  }
  def.vcpus = vcpus;
  def.vcpu = { placement: "static" };
  const coresPerSocket = vmxLong(vmx, "cpuid.coresPerSocket", 1);
  if (coresPerSocket > 1) {
    const sockets = Math.trunc(vcpus / coresPerSocket);
    if (sockets <= 0) {
      throw vmxError(
        "VMX entry 'cpuid.coresPerSocket' smaller than 'numvcpus'",
        ErrorCode.INTERNAL_ERROR,
        "cpuid.coresPerSocket",
      );
    }
    def.cpu = {
      topology: { sockets, dies: 1, cores: coresPerSocket, threads: 1 },
      features: [],
    };
  }
  const affinity = vmxString(vmx, "sched.cpu.affinity");
  if (affinity !== undefined && affinity.toLowerCase() !== "all") {
    const parts = affinity.split(",");
    if (parts.length < vcpus) {
      throw vmxError(
        `Expecting VMX entry 'sched.cpu.affinity' to contain at least as many values as 'numvcpus' (${vcpus}) but found only ${parts.length} value(s)`,
        ErrorCode.INTERNAL_ERROR,
        "sched.cpu.affinity",
      );
    }
    const ids = new Set<number>();
    for (const part of parts) {
      if (!/^\s*\+?[0-9]+\s*$/.test(part)) {
        throw vmxError(
          `Expecting VMX entry 'sched.cpu.affinity' to be a comma separated list of unsigned integers but found '${affinity}'`,
          ErrorCode.INTERNAL_ERROR,
          "sched.cpu.affinity",
        );
      }
      const id = Number(part.trim());
      // libvirt's CPU mask holds 16384 CPUs.
      if (id >= 16384) {
        throw vmxError(
          `VMX entry 'sched.cpu.affinity' contains a ${id}, this value is too large`,
          ErrorCode.INTERNAL_ERROR,
          "sched.cpu.affinity",
        );
      }
      ids.add(id);
    }
    def.vcpu.cpuset = formatCpuSet([...ids].sort((a, b) => a - b));
  }
  const shares = vmxString(vmx, "sched.cpu.shares");
  if (shares !== undefined) {
    const level = shares.toLowerCase();
    const perVcpu = level === "low" ? 500 : level === "normal" ? 1000 : level === "high" ? 2000 : 0;
    let value = perVcpu * vcpus;
    if (perVcpu === 0) {
      if (!/^\s*\+?[0-9]+$/.test(shares)) {
        throw vmxError(
          `Expecting VMX entry 'sched.cpu.shares' to be an unsigned integer or 'low', 'normal' or 'high' but found '${shares}'`,
          ErrorCode.INTERNAL_ERROR,
          "sched.cpu.shares",
        );
      }
      value = Number(shares.trim());
    }
    const lists = { vcpupins: [], iothreadpins: [], vcpuscheds: [], iothreadscheds: [] };
    def.cputune = { shares: value, ...lists, cachetunes: [], memorytunes: [] };
  }
}

function readVnc(vmx: VmxEntries, def: DomainDefinition): void {
  if (!vmxBoolean(vmx, "RemoteDisplay.vnc.enabled", false)) return;
  const port = vmxLong(vmx, "RemoteDisplay.vnc.port", -1);
  const listen = vmxString(vmx, "RemoteDisplay.vnc.ip");
  const keymap = vmxString(vmx, "RemoteDisplay.vnc.keymap");
  const passwd = vmxString(vmx, "RemoteDisplay.vnc.password");
  def.devices.graphics.push({
    type: "vnc",
    ...(port < 0 ? { port: -1, autoport: "yes" } : { port, autoport: "no" }),
    ...(listen === undefined ? {} : { listen }),
    ...(keymap === undefined ? {} : { keymap }),
    ...(passwd === undefined ? {} : { passwd }),
    listens: [{ type: "address", ...(listen === undefined ? {} : { address: listen }) }],
  });
}

/** The SCSI disks and CD-ROMs of controllers 0–3, and each present controller's model. */
function readScsiDisks(
  vmx: VmxEntries,
  disks: Disk[],
  exists: DatastoreLookup,
  scsiMaxUnit: number,
): (string | undefined)[] {
  const models: (string | undefined)[] = [];
  for (let controller = 0; controller < 4; controller++) {
    if (!vmxBoolean(vmx, `scsi${controller}.present`, false)) continue;
    const name = `scsi${controller}.virtualDev`;
    const virtualDev = vmxString(vmx, name);
    if (virtualDev !== undefined) {
      const model = SCSI_MODEL_FROM_VMX.get(virtualDev.toLowerCase());
      if (model === undefined) {
        throw vmxError(
          `Expecting VMX entry '${name}' to be 'buslogic' or 'lsilogic' or 'lsisas1068' or 'pvscsi' but found '${virtualDev.toLowerCase()}'`,
          ErrorCode.INTERNAL_ERROR,
          name,
        );
      }
      models[controller] = model;
    }
    for (let unit = 0; unit < scsiMaxUnit; unit++) {
      if (unit === 7) continue; // the controller's own unit
      const disk = readDisk(vmx, "disk", "scsi", controller, unit, exists, scsiMaxUnit) ??
        readDisk(vmx, "cdrom", "scsi", controller, unit, exists, scsiMaxUnit);
      if (disk !== undefined) disks.push(disk);
    }
  }
  return models;
}

function readSataDisks(
  vmx: VmxEntries,
  disks: Disk[],
  exists: DatastoreLookup,
  scsiMaxUnit: number,
): void {
  for (let controller = 0; controller < 4; controller++) {
    if (!vmxBoolean(vmx, `sata${controller}.present`, false)) continue;
    for (let unit = 0; unit < 30; unit++) {
      const disk = readDisk(vmx, "disk", "sata", controller, unit, exists, scsiMaxUnit) ??
        readDisk(vmx, "cdrom", "sata", controller, unit, exists, scsiMaxUnit);
      if (disk !== undefined) disks.push(disk);
    }
  }
}

function scsiController(index: number, model: string | undefined): Controller {
  return model === undefined ? { type: "scsi", index } : { type: "scsi", index, model };
}

const endsWithCase = (text: string, suffix: string) =>
  text.toLowerCase().endsWith(suffix.toLowerCase());
const equalsCase = (text: string | undefined, other: string) =>
  text !== undefined && text.toLowerCase() === other.toLowerCase();

/**
 * One disk entry (`scsi0:1`, `sata0:2`, `ide1:0`, `floppy0`) read as the device kind asked
 * for; undefined when absent, not of that kind, or a client device.
 */
function readDisk(
  vmx: VmxEntries,
  device: "disk" | "cdrom" | "floppy",
  bus: "scsi" | "sata" | "ide" | "fdc",
  controllerOrBus: number,
  unit: number,
  exists: DatastoreLookup,
  scsiMaxUnit: number,
): Disk | undefined {
  let prefix: string;
  let dev: string;
  if (bus === "scsi") {
    prefix = `scsi${controllerOrBus}:${unit}`;
    dev = indexToDiskName(controllerOrBus * 15 + (unit < 7 ? unit : unit - 1), "sd");
  } else if (bus === "sata") {
    prefix = `sata${controllerOrBus}:${unit}`;
    dev = indexToDiskName(controllerOrBus * 30 + unit, "sd");
  } else if (bus === "ide") {
    prefix = `ide${controllerOrBus}:${unit}`;
    dev = indexToDiskName(controllerOrBus * 2 + unit, "hd");
  } else {
    prefix = `floppy${unit}`;
    dev = indexToDiskName(unit, "fd");
  }
  if (!vmxBoolean(vmx, `${prefix}.present`, false)) return undefined;
  vmxBoolean(vmx, `${prefix}.startConnected`, true);
  const deviceTypeName = `${prefix}.deviceType`;
  const deviceType = vmxString(vmx, deviceTypeName);
  const clientDevice = vmxBoolean(vmx, `${prefix}.clientDevice`, false);
  const mode = vmxString(vmx, `${prefix}.mode`);
  // Client devices live on the machine of a console user: nothing libvirt can describe.
  if (clientDevice) return undefined;
  const fileType = vmxString(vmx, `${prefix}.fileType`);
  const fileNameName = `${prefix}.fileName`;
  const fileName = vmxString(vmx, fileNameName);
  const writeThrough = vmxBoolean(vmx, `${prefix}.writeThrough`, false);
  const notHandled = () =>
    vmxError(
      `Invalid or not yet handled value '${
        fileName ?? "<null>"
      }' for VMX entry '${fileNameName}' for device type '${deviceType ?? "unknown"}'`,
      ErrorCode.INTERNAL_ERROR,
      fileNameName,
    );
  const mapped = (allowMissing: boolean) => {
    const result = parseVmxFileName(fileName!, exists, allowMissing);
    if (!result.ok) throw vmxError(result.reason, ErrorCode.INTERNAL_ERROR, fileNameName);
    return result.source;
  };
  const requireImageType = () => {
    if (deviceType !== undefined && !equalsCase(deviceType, "cdrom-image")) {
      throw vmxError(
        `Expecting VMX entry '${deviceTypeName}' to be 'cdrom-image' but found '${deviceType}'`,
        ErrorCode.INTERNAL_ERROR,
        deviceTypeName,
      );
    }
  };
  const disk: Disk = { device, target: { dev, bus } };
  let source: string | undefined;
  let sourceKind: "file" | "dev" = "file";
  let startupPolicy: string | undefined;

  if (device === "disk") {
    if (
      fileName === undefined || endsWithCase(fileName, ".iso") ||
      fileName === "emptyBackingString" ||
      equalsCase(deviceType, "atapi-cdrom") || equalsCase(deviceType, "cdrom-raw") ||
      equalsCase(deviceType, "cdrom-image") ||
      (equalsCase(deviceType, "scsi-passthru") && fileName.startsWith("/vmfs/devices/cdrom/"))
    ) {
      return undefined; // a CD-ROM: the CD-ROM reading takes it
    }
    if (!endsWithCase(fileName, ".vmdk")) throw notHandled();
    if (deviceType !== undefined) {
      if (
        bus === "scsi" && !equalsCase(deviceType, "scsi-hardDisk") &&
        !equalsCase(deviceType, "disk")
      ) {
        throw vmxError(
          `Expecting VMX entry '${deviceTypeName}' to be 'scsi-hardDisk' or 'disk' but found '${deviceType}'`,
          ErrorCode.INTERNAL_ERROR,
          deviceTypeName,
        );
      }
      if (
        bus === "ide" && !equalsCase(deviceType, "ata-hardDisk") && !equalsCase(deviceType, "disk")
      ) {
        throw vmxError(
          `Expecting VMX entry '${deviceTypeName}' to be 'ata-hardDisk' or 'disk' but found '${deviceType}'`,
          ErrorCode.INTERNAL_ERROR,
          deviceTypeName,
        );
      }
    }
    disk.type = "file";
    source = mapped(false);
    if (writeThrough) disk.driver = { cache: "writethrough" };
    if (mode !== undefined && mode.toLowerCase() === "independent-nonpersistent") {
      disk.transient = true;
    }
  } else if (device === "cdrom") {
    disk.readonly = true;
    if (fileName !== undefined && endsWithCase(fileName, ".vmdk")) return undefined;
    if (fileName !== undefined && endsWithCase(fileName, ".iso")) {
      requireImageType();
      disk.type = "file";
      source = mapped(true);
    } else if (equalsCase(deviceType, "atapi-cdrom") || equalsCase(deviceType, "cdrom-raw")) {
      // Raw access CD-ROMs are LUNs.
      if (equalsCase(deviceType, "cdrom-raw")) disk.device = "lun";
      disk.type = "block";
      sourceKind = "dev";
      if (fileName !== undefined && fileName.toLowerCase() === "auto detect") {
        startupPolicy = "optional";
      } else {
        source = fileName;
      }
    } else if (bus === "scsi" && equalsCase(deviceType, "scsi-passthru")) {
      if (fileName === undefined || !fileName.startsWith("/vmfs/devices/cdrom/")) return undefined;
      disk.device = "lun";
      disk.type = "block";
      sourceKind = "dev";
      source = fileName;
    } else if (fileName === "emptyBackingString") {
      requireImageType();
      disk.type = "file";
    } else {
      throw notHandled();
    }
  } else {
    if (equalsCase(fileType, "device")) {
      disk.type = "block";
      sourceKind = "dev";
      source = fileName;
    } else if (equalsCase(fileType, "file")) {
      disk.type = "file";
      if (fileName !== undefined) source = mapped(false);
    } else {
      throw notHandled();
    }
  }
  if (source !== undefined || startupPolicy !== undefined) {
    disk.source = {
      ...(source === undefined ? {} : { [sourceKind]: source }),
      ...(startupPolicy === undefined ? {} : { startupPolicy }),
      hosts: [],
    };
  }
  disk.address = driveAddress(disk.target.dev, bus, scsiMaxUnit);
  return disk;
}

interface SharedFolder {
  hostPath: string;
  guestName: string;
  readonly: boolean;
}

function readSharedFolders(vmx: VmxEntries): SharedFolder[] {
  if (vmxBoolean(vmx, "isolation.tools.hgfs.disable", true)) return [];
  const count = vmxLong(vmx, "sharedFolder.maxNum", 0);
  const folders: SharedFolder[] = [];
  // A bound on the loop: libvirt allocates one slot per announced folder.
  for (let number = 0; number < Math.min(count, 4096); number++) {
    const prefix = `sharedFolder${number}`;
    const present = vmxBoolean(vmx, `${prefix}.present`, false);
    const enabled = vmxBoolean(vmx, `${prefix}.enabled`, false);
    if (!(present && enabled)) continue;
    const hostPath = vmxString(vmx, `${prefix}.hostPath`, true)!;
    const guestName = vmxString(vmx, `${prefix}.guestName`, true)!;
    const writeAccess = vmxBoolean(vmx, `${prefix}.writeAccess`, false);
    folders.push({ hostPath, guestName, readonly: !writeAccess });
  }
  return folders;
}

const NET_MODELS: ReadonlyMap<string, string> = new Map([
  ["vlance", "vlance"],
  ["vmxnet", "vmxnet"],
  ["vmxnet3", "vmxnet3"],
  ["e1000", "e1000"],
  ["e1000e", "e1000e"],
]);

function readEthernet(vmx: VmxEntries, index: number): NetInterface | undefined {
  const prefix = `ethernet${index}`;
  if (!vmxBoolean(vmx, `${prefix}.present`, false)) return undefined;
  vmxBoolean(vmx, `${prefix}.startConnected`, true);
  const connectionTypeName = `${prefix}.connectionType`;
  const connectionType = vmxString(vmx, connectionTypeName);
  const addressTypeName = `${prefix}.addressType`;
  const addressType = vmxString(vmx, addressTypeName);
  const generatedName = `${prefix}.generatedAddress`;
  const generated = vmxString(vmx, generatedName);
  const addressName = `${prefix}.address`;
  const address = vmxString(vmx, addressName);
  const checkMac = vmxString(vmx, `${prefix}.checkMACAddress`);
  let mac = "00:00:00:00:00:00";
  let macType: string | undefined;
  const macOf = (text: string, name: string) => {
    const bytes = parseMac(text);
    if (bytes === undefined) {
      throw vmxError(
        `Expecting VMX entry '${name}' to be MAC address but found '${text}'`,
        ErrorCode.INTERNAL_ERROR,
        name,
      );
    }
    return formatMac(bytes);
  };
  const addressTypeLower = addressType?.toLowerCase();
  if (
    addressTypeLower === undefined || addressTypeLower === "generated" || addressTypeLower === "vpx"
  ) {
    if (generated !== undefined) mac = macOf(generated, generatedName);
    if (addressType !== undefined) macType = "generated";
  } else if (addressTypeLower === "static") {
    if (address !== undefined) mac = macOf(address, addressName);
    macType = "static";
  } else {
    throw vmxError(
      `Expecting VMX entry '${addressTypeName}' to be 'generated' or 'static' or 'vpx' but found '${addressType}'`,
      ErrorCode.INTERNAL_ERROR,
      addressTypeName,
    );
  }
  const macAttributes: Record<string, string> = {};
  if (macType !== undefined) macAttributes.type = macType;
  if (checkMac !== undefined) macAttributes.check = checkMac === "true" ? "yes" : "no";

  const virtualDevName = `${prefix}.virtualDev`;
  const virtualDev = vmxString(vmx, virtualDevName);
  const features = vmxLong(vmx, `${prefix}.features`, 0);
  let model: string | undefined;
  if (virtualDev !== undefined) {
    model = NET_MODELS.get(virtualDev.toLowerCase());
    if (model === undefined) {
      throw vmxError(
        `Expecting VMX entry '${virtualDevName}' to be 'vlance' or 'vmxnet' or 'vmxnet3' or 'e1000' or 'e1000e' but found '${virtualDev}'`,
        ErrorCode.INTERNAL_ERROR,
        virtualDevName,
      );
    }
    if (model === "vmxnet" && features === 15) model = "vmxnet2";
  }
  const connection = connectionType?.toLowerCase();
  let networkName: string | undefined;
  if (connection === undefined || connection === "bridged" || connection === "custom") {
    networkName = vmxString(vmx, `${prefix}.networkName`, connection !== undefined);
  }
  const vnet = connection === "custom" ? vmxString(vmx, `${prefix}.vnet`, true) : undefined;
  const switchId = vmxString(vmx, `${prefix}.dvs.switchId`);

  const net: NetInterface = { type: "null", mac };
  if (Object.keys(macAttributes).length > 0) {
    net.extra = { children: { mac: { attributes: macAttributes } } };
  }
  if (switchId !== undefined) {
    const switchUuid = canonicalUuid(switchId);
    if (switchUuid === undefined) {
      throw vmxError(
        `Could not parse UUID from string '${switchId}'`,
        ErrorCode.INTERNAL_ERROR,
        `${prefix}.dvs.switchId`,
      );
    }
    const portgroupId = vmxString(vmx, `${prefix}.dvs.portgroupId`, true)!;
    const portId = vmxLong(vmx, `${prefix}.dvs.portId`, 0, true);
    const connectionId = vmxLong(vmx, `${prefix}.dvs.connectionId`, 0, true);
    net.type = "vds";
    net.source = {
      switchid: switchUuid,
      portid: String(portId),
      portgroupid: portgroupId,
      connectionid: String(connectionId),
    };
  } else if (connection === undefined && networkName === undefined) {
    net.type = "null";
  } else if (connection === undefined || connection === "bridged") {
    net.type = "bridge";
    net.source = { bridge: networkName! };
  } else if (connection === "hostonly") {
    throw vmxError(
      `No yet handled value '${connectionType}' for VMX entry '${connectionTypeName}'`,
      ErrorCode.INTERNAL_ERROR,
      connectionTypeName,
    );
  } else if (connection === "nat") {
    net.type = "user";
  } else if (connection === "custom") {
    net.type = "bridge";
    net.source = { bridge: networkName! };
    net.target = { dev: vnet! };
  } else {
    throw vmxError(
      `Invalid value '${connectionType}' for VMX entry '${connectionTypeName}'`,
      ErrorCode.INTERNAL_ERROR,
      connectionTypeName,
    );
  }
  if (model !== undefined) net.model = model;
  return net;
}

function readVramKiB(vmx: VmxEntries): number {
  const bytes = vmxLong(vmx, "svga.vramSize", 4 * 1024 * 1024);
  return videoRamKiB(Math.ceil(bytes / 1024));
}

const TCP_PROTOCOLS: ReadonlyMap<string, string> = new Map([
  ["tcp", "raw"],
  ["tcp4", "raw"],
  ["tcp6", "raw"],
  ["telnet", "telnet"],
  ["telnets", "telnets"],
  ["ssl", "tls"],
  ["tcp+ssl", "tls"],
  ["tcp4+ssl", "tls"],
  ["tcp6+ssl", "tls"],
]);

function readSerial(vmx: VmxEntries, port: number, exists: DatastoreLookup): Chardev | undefined {
  const prefix = `serial${port}`;
  if (!vmxBoolean(vmx, `${prefix}.present`, false)) return undefined;
  vmxBoolean(vmx, `${prefix}.startConnected`, true);
  const fileTypeName = `${prefix}.fileType`;
  const fileType = vmxString(vmx, fileTypeName);
  const fileNameName = `${prefix}.fileName`;
  const fileName = vmxString(vmx, fileNameName);
  const endPointName = `${prefix}.network.endPoint`;
  const endPoint = vmxString(vmx, endPointName);
  const kind = fileType?.toLowerCase() ?? "device";
  const target = { port };
  if (kind === "device") {
    return { type: "dev", sources: fileName === undefined ? [] : [{ path: fileName }], target };
  }
  if (kind === "file") {
    return {
      type: "file",
      sources: [{ path: mappedFile(fileName, fileNameName, exists) }],
      target,
    };
  }
  if (kind === "pipe") {
    // Client/server and VM/application pipe ends are not expressible in domain XML.
    return { type: "pipe", sources: fileName === undefined ? [] : [{ path: fileName }], target };
  }
  if (kind === "network") {
    const uri = parseUri(fileName ?? "", fileNameName);
    if (uri.port === undefined) {
      throw vmxError(
        `VMX entry '${fileNameName}' doesn't contain a port part`,
        ErrorCode.INTERNAL_ERROR,
        fileNameName,
      );
    }
    const protocol = uri.scheme === undefined ? "raw" : TCP_PROTOCOLS.get(uri.scheme.toLowerCase());
    if (protocol === undefined) {
      throw vmxError(
        `VMX entry '${fileNameName}' contains unsupported scheme '${uri.scheme}'`,
        ErrorCode.INTERNAL_ERROR,
        fileNameName,
      );
    }
    const end = endPoint?.toLowerCase();
    if (end !== undefined && end !== "server" && end !== "client") {
      throw vmxError(
        `Expecting VMX entry '${endPointName}' to be 'server' or 'client' but found '${endPoint}'`,
        ErrorCode.INTERNAL_ERROR,
        endPointName,
      );
    }
    return {
      type: "tcp",
      sources: [{
        mode: end === "client" ? "connect" : "bind",
        ...(uri.host === undefined ? {} : { host: uri.host }),
        service: String(uri.port),
      }],
      protocol,
      target,
    };
  }
  throw vmxError(
    `Expecting VMX entry '${fileTypeName}' to be 'device', 'file' or 'pipe' or 'network' but found '${fileType}'`,
    ErrorCode.INTERNAL_ERROR,
    fileTypeName,
  );
}

function readParallel(vmx: VmxEntries, port: number, exists: DatastoreLookup): Chardev | undefined {
  const prefix = `parallel${port}`;
  if (!vmxBoolean(vmx, `${prefix}.present`, false)) return undefined;
  vmxBoolean(vmx, `${prefix}.startConnected`, true);
  const fileTypeName = `${prefix}.fileType`;
  const fileType = vmxString(vmx, fileTypeName, true)!;
  const fileNameName = `${prefix}.fileName`;
  const fileName = vmxString(vmx, fileNameName, true)!;
  const target = { port };
  const kind = fileType.toLowerCase();
  if (kind === "device") return { type: "dev", sources: [{ path: fileName }], target };
  if (kind === "file") {
    return {
      type: "file",
      sources: [{ path: mappedFile(fileName, fileNameName, exists) }],
      target,
    };
  }
  throw vmxError(
    `Expecting VMX entry '${fileTypeName}' to be 'device' or 'file' but found '${fileType}'`,
    ErrorCode.INTERNAL_ERROR,
    fileTypeName,
  );
}

function mappedFile(fileName: string | undefined, name: string, exists: DatastoreLookup): string {
  if (fileName === undefined) {
    throw vmxError(`Missing essential config entry '${name}'`, ErrorCode.INTERNAL_ERROR, name);
  }
  const result = parseVmxFileName(fileName, exists, false);
  if (!result.ok) throw vmxError(result.reason, ErrorCode.INTERNAL_ERROR, name);
  return result.source!;
}

/** The scheme, host and port of a `scheme://host:port` URI; the port absent when not given or 0. */
function parseUri(text: string, name: string): { scheme?: string; host?: string; port?: number } {
  const match =
    /^(?:([A-Za-z][A-Za-z0-9+.\-]*):)?\/\/(\[[^\]]*\]|[^/:?#]*)(?::([0-9]*))?(?:[/?#].*)?$/
      .exec(text);
  if (match === null) {
    throw vmxError(`Unable to parse URI ${text}`, ErrorCode.INTERNAL_ERROR, name);
  }
  const host = match[2].startsWith("[") ? match[2].slice(1, -1) : match[2];
  const port = match[3] === undefined || match[3] === "" ? 0 : Number(match[3]);
  return {
    ...(match[1] === undefined ? {} : { scheme: match[1] }),
    ...(host === "" ? {} : { host }),
    ...(port === 0 ? {} : { port }),
  };
}

/** The elements the typed model does not cover, placed where libvirt writes them. */
function placeExtras(
  def: DomainDefinition,
  folders: SharedFolder[],
  context: VmxReadContext,
): void {
  const devices = def.devices;
  if (folders.length > 0) {
    const lastKey = (name: string, count: number) => count === 1 ? name : `${name}[${count}]`;
    let after = devices.controllers.length > 0
      ? lastKey("controller", devices.controllers.length)
      : devices.disks.length > 0
      ? lastKey("disk", devices.disks.length)
      : undefined;
    const placed: XmlPlacedElement[] = [];
    folders.forEach((folder, index) => {
      const element: XmlElement = {
        name: "filesystem",
        attributes: { type: "mount", accessmode: "passthrough" },
        children: [
          { name: "source", attributes: { dir: folder.hostPath } },
          { name: "target", attributes: { dir: folder.guestName } },
          ...(folder.readonly ? [{ name: "readonly" }] : []),
        ],
      };
      placed.push(after === undefined ? { element } : { after, element });
      after = lastKey("filesystem", index + 1);
    });
    devices.extra = { ...devices.extra, elements: [...devices.extra?.elements ?? [], ...placed] };
  }
  if (context.datacenterPath !== undefined || context.moref !== undefined) {
    const elements: XmlPlacedElement[] = [];
    if (context.datacenterPath !== undefined) {
      elements.push({
        after: "devices",
        element: { name: "vmware:datacenterpath", children: [context.datacenterPath] },
      });
    }
    if (context.moref !== undefined) {
      elements.push({
        after: elements.length > 0 ? "vmware:datacenterpath" : "devices",
        element: { name: "vmware:moref", children: [context.moref] },
      });
    }
    def.extra = {
      ...def.extra,
      attributes: { ...def.extra?.attributes, "xmlns:vmware": VMWARE_NAMESPACE },
      elements: [...def.extra?.elements ?? [], ...elements],
    };
  }
}
