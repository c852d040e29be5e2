/**
 * `xl.cfg` → domain definition (libvirt's `xenParseXL`, format `xen-xl`).
 *
 * @module
 */

import type { Controller, Disk, DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { formatCpuSet } from "../../src/model/cpu_set.ts";
import { parseXenConf, XenConf } from "./xen_conf.ts";
import { isHvm, parseCommon, parseCpuSetOrFail } from "./xen_parse_common.ts";
import { parseXlDiskSpec } from "./xl_disk_spec.ts";
import {
  applyXenDefaults,
  parseBootOrder,
  XEN_FIRMWARE_DIR,
  XEN_HVMLOADER,
} from "./xen_defaults.ts";
import { addExtraElement, xmlElement } from "./xen_extra.ts";
import { libxlFeatureName } from "./xen_cpuid.ts";

/**
 * Reads an `xl.cfg` file into a domain definition, with the defaults libvirt's Xen driver
 * fills in.
 *
 * @example
 * ```ts
 * import { xlToDefinition } from "./xl_parse.ts";
 * const definition = xlToDefinition('name = "guest"\nmemory = 512\n');
 * console.log(definition.memoryKiB); // 524288
 * ```
 *
 * @throws {VirtError} Code 33 on a syntax error; 1 or 67 for values libvirt refuses.
 */
export function xlToDefinition(text: string): DomainDefinition {
  const conf = new XenConf(parseXenConf(text));
  const definition = parseCommon(conf, "xl");
  parseOs(conf, definition);
  parseVnuma(conf, definition);
  parseXenbusLimits(conf, definition);
  parseCpuid(conf, definition);
  parseDisks(conf, definition);
  parseSpice(conf, definition);
  parseInputs(conf, definition);
  parseUsbHostdevs(conf, definition);
  parseUsbControllers(conf, definition);
  parseChannels(conf, definition);
  parseDeviceModelArgs(conf, definition);
  applyXenDefaults(definition);
  return definition;
}

function commandLine(conf: XenConf): string | undefined {
  const cmdline = conf.string("cmdline");
  const root = conf.string("root");
  const extra = conf.string("extra");
  if (cmdline !== undefined) return cmdline;
  if (root !== undefined && extra !== undefined) return `root=${root} ${extra}`;
  if (root !== undefined) return `root=${root}`;
  return extra;
}

function setKernel(conf: XenConf, definition: DomainDefinition): void {
  const kernel = conf.string("kernel");
  if (kernel !== undefined) definition.os.kernel = kernel;
  const ramdisk = conf.string("ramdisk");
  if (ramdisk !== undefined) definition.os.initrd = ramdisk;
  const cmdline = commandLine(conf);
  if (cmdline !== undefined) definition.os.cmdline = cmdline;
}

function parseOs(conf: XenConf, definition: DomainDefinition): void {
  if (!isHvm(definition)) {
    const bootloader = conf.string("bootloader");
    if (bootloader !== undefined) {
      addExtraElement(definition, xmlElement("bootloader", undefined, [bootloader]), "vcpu");
    }
    const bootargs = conf.string("bootargs");
    if (bootargs !== undefined) {
      addExtraElement(
        definition,
        xmlElement("bootloader_args", undefined, [bootargs]),
        bootloader === undefined ? "vcpu" : "bootloader",
      );
    }
    setKernel(conf, definition);
    return;
  }
  if (conf.string("bios") === "ovmf") {
    definition.os.loader = {
      readonly: "yes",
      type: "pflash",
      path: `${XEN_FIRMWARE_DIR}/ovmf.bin`,
    };
  } else {
    definition.os.loader = { path: XEN_HVMLOADER };
  }
  setKernel(conf, definition);
  const slic = conf.string("acpi_firmware");
  if (slic !== undefined) {
    // libvirt writes <acpi> after the kernel, initrd and cmdline, before the boot order.
    const os = definition.os;
    const after = os.cmdline !== undefined
      ? "cmdline"
      : os.initrd !== undefined
      ? "initrd"
      : os.kernel !== undefined
      ? "kernel"
      : "loader";
    addExtraElement(
      os,
      xmlElement("acpi", undefined, [xmlElement("table", { type: "slic" }, [slic])]),
      after,
    );
  }
  definition.os.boot = parseBootOrder(conf.string("boot") ?? "c");
  const nested = conf.bool("nestedhvm", -1);
  if (nested !== -1) {
    definition.cpu ??= { mode: "host-passthrough", features: [] };
    if (nested === 0) definition.cpu.features.push({ policy: "disable", name: "vmx" });
  }
}

function parseCpuid(conf: XenConf, definition: DomainDefinition): void {
  const text = conf.string("cpuid");
  if (text === undefined) return;
  definition.cpu ??= { mode: "host-passthrough", features: [] };
  const pairs = text.split(",");
  if (pairs[0] === "") return;
  if (pairs[0] !== "host") {
    throw new VirtError(
      ErrorCode.CONF_SYNTAX,
      `cpuid starting with ${pairs[0]} is not supported, only libxl format is`,
      { where: "cpuid" },
    );
  }
  const policies: Record<string, string> = {
    "1": "force",
    "0": "disable",
    x: "optional",
    k: "optional",
    s: "optional",
  };
  for (const pair of pairs.slice(1)) {
    const equals = pair.indexOf("=");
    if (equals <= 0) {
      throw new VirtError(ErrorCode.CONF_SYNTAX, `Invalid libxl cpuid key=value element: ${pair}`, {
        where: "cpuid",
      });
    }
    const policy = policies[pair.slice(equals + 1)];
    if (policy === undefined) {
      throw new VirtError(ErrorCode.CONF_SYNTAX, `Invalid libxl cpuid value: ${pair}`, {
        where: "cpuid",
      });
    }
    definition.cpu.features.push({ policy, name: libxlFeatureName(pair.slice(0, equals), true) });
  }
}

function parseVnuma(conf: XenConf, definition: DomainDefinition): void {
  const list = conf.value("vnuma");
  if (list === undefined || list.kind !== "list") return;
  const nodes = list.items.filter((item) => item.kind === "list").length;
  const cells: NonNullable<NonNullable<DomainDefinition["cpu"]>["numa"]>["cells"] = [];
  let vcpuCount = 0;
  list.items.forEach((item, index) => {
    let pnode = -1;
    let cpus: number[] | undefined;
    let sizeKiB = 0;
    let distances: number[] | undefined;
    if (item.kind === "list") {
      for (const entry of item.items) {
        if (entry.kind !== "string") break;
        const equals = entry.value.lastIndexOf("=");
        if (equals === -1) {
          throw new VirtError(
            ErrorCode.INTERNAL_ERROR,
            `vnuma vnode invalid format '${entry.value}'`,
            { where: "vnuma" },
          );
        }
        const data = entry.value.slice(equals + 1);
        if (data === "") continue;
        const key = entry.value.slice(0, equals);
        if (key.startsWith("pnode")) {
          if (!/^[0-9]+$/.test(data) || Number(data) >= nodes) {
            throw new VirtError(
              ErrorCode.CONFIG_UNSUPPORTED,
              `vnuma vnode ${index} contains invalid pnode value '${data}'`,
              { where: "vnuma" },
            );
          }
          pnode = Number(data);
        } else if (key.startsWith("size")) {
          if (!/^[0-9]+$/.test(data)) {
            throw new VirtError(ErrorCode.INTERNAL_ERROR, `vnuma size '${data}' is malformed`, {
              where: "vnuma",
            });
          }
          sizeKiB = Number(data) * 1024;
        } else if (key.startsWith("vcpus")) {
          cpus = parseCpuSetOrFail(data, "vnuma");
          vcpuCount += cpus.length;
        } else if (key.startsWith("vdistances")) {
          const tokens = data.split(",");
          if (tokens.length !== nodes) {
            throw new VirtError(
              ErrorCode.CONFIG_UNSUPPORTED,
              `vnuma pnode ${pnode} configured '${entry.value}' (count ${tokens.length}) doesn't fit the number of specified vnodes ${nodes}`,
              { where: "vnuma" },
            );
          }
          distances = tokens.map((token) => {
            if (!/^[0-9]+$/.test(token)) {
              throw new VirtError(ErrorCode.INTERNAL_ERROR, `vnuma distance '${token}'`, {
                where: "vnuma",
              });
            }
            return Number(token);
          });
        } else {
          throw new VirtError(
            ErrorCode.CONF_SYNTAX,
            `Invalid vnuma configuration for vnode ${index}`,
            { where: "vnuma" },
          );
        }
      }
    }
    if (pnode < 0 || cpus === undefined || sizeKiB === 0) {
      throw new VirtError(
        ErrorCode.CONF_SYNTAX,
        `Incomplete vnuma configuration for vnode ${index}`,
        { where: "vnuma" },
      );
    }
    const cell: (typeof cells)[number] = {
      id: index,
      cpus: formatCpuSet(cpus),
      memoryKiB: sizeKiB,
    };
    if (distances !== undefined) {
      addExtraElement(
        cell,
        xmlElement(
          "distances",
          undefined,
          distances.map((value, sibling) =>
            xmlElement("sibling", { id: String(sibling), value: String(value) })
          ),
        ),
      );
    }
    cells.push(cell);
  });
  if (definition.vcpus < vcpuCount) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `vnuma configuration contains ${vcpuCount} vcpus, which is greater than ${definition.vcpus} maxvcpus`,
      { where: "vnuma" },
    );
  }
  definition.cpu = { features: [], numa: { cells } };
}

function xenbusController(definition: DomainDefinition): Controller {
  let controller = definition.devices.controllers.find((candidate) => candidate.type === "xenbus");
  if (controller === undefined) {
    controller = { type: "xenbus", index: 0 };
    definition.devices.controllers.push(controller);
  }
  return controller;
}

function parseXenbusLimits(conf: XenConf, definition: DomainDefinition): void {
  const controller = xenbusController(definition);
  const events = conf.unsigned("max_event_channels", 0);
  const frames = conf.unsigned("max_grant_frames", 0);
  if (events > 0 || frames > 0) {
    controller.extra ??= {};
    controller.extra.attributes ??= {};
    if (frames > 0) controller.extra.attributes.maxGrantFrames = String(frames);
    if (events > 0) controller.extra.attributes.maxEventChannels = String(events);
  }
}

function parseDisks(conf: XenConf, definition: DomainDefinition): void {
  const list = conf.value("disk");
  if (list === undefined || list.kind !== "list") return;
  for (const item of list.items) {
    if (item.kind !== "string") continue;
    definition.devices.disks.push(diskFromSpec(item.value, definition));
  }
}

function diskFromSpec(text: string, definition: DomainDefinition): Disk {
  const spec = parseXlDiskSpec(text);
  const disk: Disk = { target: { dev: spec.vdev } };
  let driverName: string | undefined;
  let format: string | undefined;
  let storageType: string | undefined;
  let network: Disk["source"] | undefined;
  if (spec.target !== undefined && spec.target.startsWith("rbd:")) {
    storageType = "network";
    network = parseRbdSource(spec.target.replaceAll("\\\\", "\\"));
  }
  if (spec.cdrom) {
    driverName = "qemu";
    storageType = "file";
    disk.device = "cdrom";
    format = "raw";
  } else {
    disk.device = "disk";
    const formats: Record<string, string | undefined> = {
      qcow: "qcow",
      qcow2: "qcow2",
      vhd: "vhd",
      raw: "raw",
      qed: "qed",
      empty: undefined,
    };
    format = spec.format === undefined ? "raw" : formats[spec.format];
    const backend = spec.backendtype ?? "qdisk";
    if (backend === "qdisk") {
      driverName = "qemu";
      storageType ??= "file";
    } else if (backend === "tap") {
      driverName = "tap";
      storageType = "file";
    } else if (backend === "phy") {
      driverName = "phy";
      storageType = "block";
    } else {
      throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `disk backend not supported: ${backend}`, {
        where: "disk",
      });
    }
  }
  disk.type = storageType;
  disk.driver = { name: driverName, ...(format === undefined ? {} : { type: format }) };
  if (network !== undefined) disk.source = network;
  else if (spec.target !== undefined) {
    disk.source = storageType === "block"
      ? { dev: spec.target, hosts: [] }
      : { file: spec.target, hosts: [] };
  }
  if (!spec.readwrite) disk.readonly = true;
  disk.target.bus = busOf(spec.vdev, definition);
  return disk;
}

/** The bus a guest device name implies (libvirt's rule for both dialects). */
export function busOf(vdev: string, definition: DomainDefinition): string {
  if (vdev.startsWith("xvd") || !isHvm(definition)) return "xen";
  if (vdev.startsWith("sd")) return "scsi";
  return "ide";
}

/** `rbd:pool/image:key=value:…` → a network source (libvirt's RBD colon string). */
function parseRbdSource(text: string): NonNullable<Disk["source"]> {
  const body = text.slice("rbd:".length);
  const parts: string[] = [];
  let current = "";
  for (let index = 0; index < body.length; index++) {
    const char = body[index];
    if (char === "\\" && index + 1 < body.length) {
      current += body[++index];
    } else if (char === ":") {
      parts.push(current);
      current = "";
    } else current += char;
  }
  parts.push(current);
  const source: NonNullable<Disk["source"]> = { protocol: "rbd", name: parts[0], hosts: [] };
  for (const option of parts.slice(1)) {
    const equals = option.indexOf("=");
    if (equals === -1) continue;
    const key = option.slice(0, equals);
    const value = option.slice(equals + 1);
    if (key === "mon_host") {
      for (const host of value.split(";").filter((entry) => entry !== "")) {
        const match = /^(\[[^\]]+\]|[^:]+)(?::([0-9]+))?$/.exec(host);
        if (match === null) continue;
        source.hosts.push({
          name: match[1].replace(/^\[|\]$/g, ""),
          ...(match[2] === undefined ? {} : { port: Number(match[2]) }),
        });
      }
    }
  }
  return source;
}

function parseSpice(conf: XenConf, definition: DomainDefinition): void {
  if (!isHvm(definition) || !conf.bool("spice", 0)) return;
  const graphics: DomainDefinition["devices"]["graphics"][number] = { type: "spice", listens: [] };
  const tlsPort = conf.unsigned("spicetls_port", 0);
  const port = conf.unsigned("spiceport", 0);
  if (port !== 0) graphics.port = port;
  if (tlsPort !== 0) graphics.tlsPort = tlsPort;
  graphics.autoport = tlsPort === 0 && port === 0 ? "yes" : "no";
  const host = conf.string("spicehost");
  if (host !== undefined) {
    graphics.listen = host;
    graphics.listens.push({ type: "address", address: host });
  }
  if (!conf.bool("spicedisable_ticketing", 0)) graphics.passwd = conf.requiredString("spicepasswd");
  addExtraElement(
    graphics,
    xmlElement("mouse", {
      mode: conf.bool("spiceagent_mouse", 0) ? "client" : "server",
    }),
    host === undefined ? undefined : "listen",
  );
  addExtraElement(
    graphics,
    xmlElement("clipboard", {
      copypaste: conf.bool("spice_clipboard_sharing", 0) ? "yes" : "no",
    }),
    "mouse",
  );
  definition.devices.graphics = [graphics];
}

function parseInputs(conf: XenConf, definition: DomainDefinition): void {
  if (!isHvm(definition)) return;
  const value = conf.value("usbdevice");
  if (value === undefined) return;
  const items = value.kind === "list" ? value.items : [value];
  for (const item of items) {
    if (item.kind !== "string") {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, "config value usbdevice was malformed", {
        where: "usbdevice",
      });
    }
    const types: Record<string, string> = {
      mouse: "mouse",
      tablet: "tablet",
      keyboard: "keyboard",
    };
    const type = types[item.value];
    if (type !== undefined) definition.devices.inputs.push({ type, bus: "usb" });
  }
}

/** The `key=value` pairs of a comma list; undefined when one part has no `=`. */
function keyValues(text: string): Map<string, string> | undefined {
  const pairs = new Map<string, string>();
  for (const raw of text.split(",")) {
    const part = raw.replace(/^[\s]+/, "");
    if (part === "") continue;
    const equals = part.indexOf("=");
    if (equals === -1) return undefined;
    if (!pairs.has(part.slice(0, equals))) pairs.set(part.slice(0, equals), part.slice(equals + 1));
  }
  return pairs;
}

function hexNumber(text: string | undefined): number | undefined {
  if (text === undefined || !/^(0x)?[0-9a-fA-F]+$/.test(text)) return undefined;
  return parseInt(text, 16);
}

function parseUsbHostdevs(conf: XenConf, definition: DomainDefinition): void {
  const list = conf.value("usbdev");
  if (list === undefined || list.kind !== "list") return;
  for (const item of list.items) {
    if (item.kind !== "string") continue;
    const pairs = keyValues(item.value);
    if (pairs === undefined) continue;
    const bus = hexNumber(pairs.get("hostbus"));
    const device = hexNumber(pairs.get("hostaddr"));
    if (
      (pairs.has("hostbus") && bus === undefined) || (pairs.has("hostaddr") && device === undefined)
    ) {
      continue;
    }
    definition.devices.hostdevs.push({
      mode: "subsystem",
      type: "usb",
      managed: "no",
      source: { address: { bus: String(bus ?? 0), device: String(device ?? 0) } },
    });
  }
}

function parseUsbControllers(conf: XenConf, definition: DomainDefinition): void {
  const list = conf.value("usbctrl");
  if (list === undefined || list.kind !== "list") return;
  for (const item of list.items) {
    if (item.kind !== "string") continue;
    const pairs = keyValues(item.value);
    if (pairs === undefined) continue;
    const type = pairs.get("type");
    if (type !== undefined && !type.startsWith("qusb")) continue;
    const version = pairs.has("version") ? hexNumber(pairs.get("version")) : 2;
    const ports = pairs.has("ports") ? hexNumber(pairs.get("ports")) : 8;
    if (version === undefined || ports === undefined) continue;
    definition.devices.controllers.push({
      type: "usb",
      model: version === 1 ? "qusb1" : "qusb2",
      ports,
    });
  }
}

function parseChannels(conf: XenConf, definition: DomainDefinition): void {
  const list = conf.value("channel");
  if (list === undefined || list.kind !== "list") return;
  for (const item of list.items) {
    if (item.kind !== "string") continue;
    let connection: string | undefined;
    let name: string | undefined;
    let path: string | undefined;
    let complete = true;
    for (const raw of item.value.split(",")) {
      const part = raw.replace(/^\s+/, "");
      const equals = part.indexOf("=");
      if (equals === -1) {
        complete = false;
        break;
      }
      const key = part.slice(0, equals);
      const value = part.slice(equals + 1);
      if (key === "connection") connection = value;
      else if (key === "name" && name === undefined) name = value;
      else if (key === "path" && path === undefined) path = value;
    }
    if (!complete) continue;
    const target = { type: "xen", ...(name === undefined ? {} : { name }) };
    if (connection?.startsWith("socket")) {
      definition.devices.channels.push({
        type: "unix",
        sources: [{ mode: "bind", ...(path === undefined ? {} : { path }) }],
        target,
      });
    } else if (connection?.startsWith("pty")) {
      definition.devices.channels.push({ type: "pty", sources: [], target });
    } else {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `channel connection '${connection ?? ""}' is not supported`,
        { where: "channel" },
      );
    }
  }
}

function parseDeviceModelArgs(conf: XenConf, definition: DomainDefinition): void {
  const list = conf.value("device_model_args");
  if (list === undefined || list.kind !== "list") return;
  const args = list.items.flatMap((item) => item.kind === "string" ? [item.value] : []);
  if (args.length === 0) return;
  definition.extra ??= {};
  definition.extra.attributes = {
    ...definition.extra.attributes,
    "xmlns:xen": "http://libvirt.org/schemas/domain/xen/1.0",
  };
  addExtraElement(
    definition,
    xmlElement("xen:commandline", undefined, args.map((value) => xmlElement("xen:arg", { value }))),
    "devices",
  );
}
