/**
 * What `xl.cfg` and `xm` configurations share, read into a domain definition (libvirt's
 * `xenParseConfigCommon`): name and UUID, guest type, memory, lifecycle actions, vCPUs,
 * hypervisor features and timers, the clock, the device model, network interfaces, PCI
 * passthrough, sound, the framebuffer and the character devices.
 *
 * @module
 */

import {
  type Chardev,
  type DomainDefinition,
  emptyDevices,
  type Graphics,
  type NetInterface,
} from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { formatMac, parseMac } from "../../src/model/mac_address.ts";
import { parseIp } from "../../src/model/ip_address.ts";
import { formatCpuSet, parseCpuSet } from "../../src/model/cpu_set.ts";
import type { XenConf } from "./xen_conf.ts";
import { addExtraElement, xmlElement } from "./xen_extra.ts";

/** The two dialects: they differ in a few settings' names and in what they allow. */
export type XenDialect = "xl" | "xm";

/** libvirt's smallest Xen guest, in MiB (`MIN_XEN_GUEST_SIZE`). */
const MIN_XEN_GUEST_MIB = 64;

const LIFECYCLE_ACTIONS = new Set([
  "destroy",
  "restart",
  "rename-restart",
  "preserve",
  "coredump-destroy",
  "coredump-restart",
]);

const SOUND_MODELS = new Set(["sb16", "es1370", "pcspk", "ac97", "ich6", "ich7", "ich9", "usb"]);

const CHARDEV_TYPES = new Set([
  "null",
  "vc",
  "pty",
  "dev",
  "file",
  "pipe",
  "stdio",
  "udp",
  "tcp",
  "unix",
  "spicevmc",
  "spiceport",
  "nmdm",
  "qemu-vdagent",
  "dbus",
]);

/** A definition whose guest type, machine and common settings come from `conf`. */
export function parseCommon(conf: XenConf, dialect: XenDialect): DomainDefinition {
  const definition: DomainDefinition = {
    type: "xen",
    name: conf.requiredString("name"),
    uuid: parseUuid(conf),
    memoryKiB: 0,
    vcpus: 0,
    os: { type: "linux", arch: "x86_64", machine: "xenpv", boot: [] },
    devices: emptyDevices(),
  };
  parseGuestType(conf, definition);
  parseMemory(conf, definition);
  parseLifecycle(conf, definition);
  parseCpus(conf, definition);
  parseFeatures(conf, definition);
  parseClock(conf, definition);
  const emulator = conf.string("device_model_override");
  if (emulator !== undefined) definition.devices.emulator = emulator;
  parseInterfaces(conf, definition, dialect === "xl" ? "vif" : "netfront");
  parsePciList(conf, definition);
  parseSound(conf, definition);
  parseFramebuffer(conf, definition);
  parseCharDevices(conf, definition, dialect);
  return definition;
}

/** Whether the definition is a fully virtualized (HVM) guest. */
export function isHvm(definition: DomainDefinition): boolean {
  return definition.os.type === "hvm";
}

function parseUuid(conf: XenConf): string {
  const text = conf.string("uuid");
  if (text === undefined) return crypto.randomUUID();
  const hex = text.replace(/[-\s]/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) {
    throw new VirtError(ErrorCode.CONF_SYNTAX, `${text} not parseable`, { where: "uuid" });
  }
  const lower = hex.toLowerCase();
  return `${lower.slice(0, 8)}-${lower.slice(8, 12)}-${lower.slice(12, 16)}-${
    lower.slice(16, 20)
  }-${lower.slice(20)}`;
}

function parseGuestType(conf: XenConf, definition: DomainDefinition): void {
  const type = conf.string("type");
  if (type !== undefined) {
    const types: Record<string, [string, string]> = {
      pv: ["linux", "xenpv"],
      pvh: ["xenpvh", "xenpvh"],
      hvm: ["hvm", "xenfv"],
    };
    const chosen = types[type];
    if (chosen === undefined) {
      throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `type ${type} is not supported`, {
        where: "type",
      });
    }
    [definition.os.type, definition.os.machine] = chosen;
  } else if ((conf.string("builder") ?? "linux") === "hvm") {
    definition.os.type = "hvm";
    definition.os.machine = "xenfv";
  }
}

function parseMemory(conf: XenConf, definition: DomainDefinition): void {
  const currentMiB = conf.unsigned("memory", MIN_XEN_GUEST_MIB * 2);
  const maxMiB = conf.unsigned("maxmem", currentMiB);
  definition.memoryKiB = maxMiB * 1024;
  // libvirt's post-parse: a balloon target above the maximum (or none) is the maximum.
  definition.currentMemoryKiB = currentMiB === 0 || currentMiB > maxMiB
    ? definition.memoryKiB
    : currentMiB * 1024;
}

function parseLifecycle(conf: XenConf, definition: DomainDefinition): void {
  const read = (name: string, fallback: string): string => {
    const value = conf.string(name) ?? fallback;
    if (!LIFECYCLE_ACTIONS.has(value)) {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, `unexpected value ${value} for ${name}`, {
        where: name,
      });
    }
    return value;
  };
  definition.onPoweroff = read("on_poweroff", "destroy");
  definition.onReboot = read("on_reboot", "restart");
  definition.onCrash = read("on_crash", "restart");
}

function parseCpus(conf: XenConf, definition: DomainDefinition): void {
  const count = conf.unsigned("vcpus", 1);
  let maximum = count;
  if (conf.value("maxvcpus") !== undefined) maximum = conf.unsigned("maxvcpus", 0);
  if (maximum < 1) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "domain configuration does not support vcpu count 0",
      {
        where: "vcpus",
      },
    );
  }
  definition.vcpus = maximum;
  definition.vcpu = { placement: "static" };
  // A maxvcpus below vcpus drops the vCPUs above it (libvirt's virDomainDefSetVcpusMax).
  if (count < maximum) definition.vcpu.current = count;
  const cpus = conf.string("cpus");
  if (cpus !== undefined) definition.vcpu.cpuset = formatCpuSet(parseCpuSetOrFail(cpus, "cpus"));
}

/** A CPU list (`0-3,^2`) or code 8 naming the setting. */
export function parseCpuSetOrFail(text: string, where: string): number[] {
  try {
    return parseCpuSet(text);
  } catch {
    throw new VirtError(ErrorCode.INVALID_ARG, `Failed to parse bitmap '${text}'`, { where });
  }
}

function featureSwitch(definition: DomainDefinition, name: string, state?: string): void {
  definition.features ??= {};
  definition.features[name] = state === undefined ? {} : { state };
}

function addXenFeature(definition: DomainDefinition, element: ReturnType<typeof xmlElement>) {
  featureSwitch(definition, "xen");
  definition.extra ??= {};
  definition.extra.children ??= {};
  const features = definition.extra.children.features ??= {};
  features.children ??= {};
  const xen = features.children.xen ??= {};
  xen.elements ??= [];
  xen.elements.push({ element });
}

function parseFeatures(conf: XenConf, definition: DomainDefinition): void {
  const timers = (definition.clock ??= { timers: [] }).timers;
  const tscMode = conf.string("tsc_mode");
  if (tscMode !== undefined) {
    const modes: Record<string, string> = {
      always_emulate: "emulate",
      native: "native",
      native_paravirt: "paravirt",
    };
    timers.push({ name: "tsc", present: "yes", mode: modes[tscMode] ?? "auto" });
  }
  const passthrough = conf.string("passthrough");
  if (passthrough !== undefined) {
    if (passthrough === "disabled") {
      // libvirt records the Xen features off, and writes no <xen> element for features off.
    } else if (passthrough === "enabled") {
      addXenFeature(definition, xmlElement("passthrough", { state: "on" }));
    } else if (passthrough === "sync_pt" || passthrough === "share_pt") {
      addXenFeature(definition, xmlElement("passthrough", { state: "on", mode: passthrough }));
    } else {
      throw new VirtError(ErrorCode.CONF_SYNTAX, `Invalid passthrough mode ${passthrough}`, {
        where: "passthrough",
      });
    }
  }
  if (isHvm(definition)) {
    if (conf.bool("pae", 1)) featureSwitch(definition, "pae");
    if (conf.bool("acpi", 1)) featureSwitch(definition, "acpi");
    if (conf.bool("apic", 1)) featureSwitch(definition, "apic");
    if (!conf.bool("hap", 1)) featureSwitch(definition, "hap", "off");
    if (conf.bool("viridian", 0)) featureSwitch(definition, "viridian");
    const hpet = conf.bool("hpet", -1);
    if (hpet !== -1) timers.push({ name: "hpet", present: hpet ? "yes" : "no" });
  } else if (conf.bool("e820_host", 0)) {
    addXenFeature(definition, xmlElement("e820_host", { state: "on" }));
  }
}

function parseClock(conf: XenConf, definition: DomainDefinition): void {
  const localtime = conf.bool("localtime", 0);
  const clock = definition.clock ??= { timers: [] };
  if (isHvm(definition)) {
    clock.offset = "variable";
    clock.adjustment = String(conf.unsigned("rtc_timeoffset", 0) | 0);
    clock.basis = localtime ? "localtime" : "utc";
  } else {
    clock.offset = localtime ? "localtime" : "utc";
    clock.adjustment = "reset";
  }
}

function parseInterfaces(conf: XenConf, definition: DomainDefinition, vifTypename: string): void {
  const list = conf.value("vif");
  if (list === undefined || list.kind !== "list") return;
  for (const item of list.items) {
    if (item.kind !== "string") continue;
    definition.devices.interfaces.push(parseVif(item.value, vifTypename));
  }
}

function parseVif(entry: string, vifTypename: string): NetInterface {
  const keys: Record<string, string> = {};
  for (const part of entry.split(",")) {
    const key = part.replace(/^\s+/, "");
    const equals = key.indexOf("=");
    if (equals === -1) {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, `malformed vif entry '${entry}'`, {
        where: "vif",
      });
    }
    const name = key.slice(0, equals);
    if (["mac", "bridge", "script", "model", "type", "vifname", "ip", "rate"].includes(name)) {
      keys[name] = key.slice(equals + 1);
    }
  }
  const script = keys.script;
  const bridged = keys.bridge !== undefined || script === "vif-bridge" || script === "vif-vnic";
  const net: NetInterface = { type: bridged ? "bridge" : "ethernet" };
  if (keys.mac !== undefined) {
    const bytes = parseMac(keys.mac);
    if (bytes === undefined) {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, `malformed mac address '${keys.mac}'`, {
        where: "vif",
      });
    }
    net.mac = formatMac(bytes);
  }
  let openvswitch: { tags: number[]; trunk: boolean } | undefined;
  if (bridged && keys.bridge !== undefined) {
    const bridge = keys.bridge;
    const tagNumber = (text: string): number => {
      if (!/^[0-9]+$/.test(text)) {
        throw new VirtError(ErrorCode.INTERNAL_ERROR, `malformed vlan tag '${text}'`, {
          where: "vif",
        });
      }
      return Number(text);
    };
    if (bridge.includes(".")) {
      const dot = bridge.indexOf(".");
      net.source = { bridge: bridge.slice(0, dot) };
      openvswitch = { tags: [tagNumber(bridge.slice(dot + 1))], trunk: false };
    } else if (bridge.includes(":")) {
      const [name, ...tags] = bridge.split(":");
      net.source = { bridge: name };
      openvswitch = { tags: tags.map(tagNumber), trunk: true };
    } else {
      net.source = { bridge };
    }
  }
  if (openvswitch !== undefined) {
    addExtraElement(
      net,
      xmlElement(
        "vlan",
        openvswitch.trunk ? { trunk: "yes" } : undefined,
        openvswitch.tags.map((id) => xmlElement("tag", { id: String(id) })),
      ),
      "source",
    );
    addExtraElement(net, xmlElement("virtualport", { type: "openvswitch" }), "vlan");
  }
  let previous = openvswitch === undefined ? "source" : "virtualport";
  if (keys.rate !== undefined) {
    // libvirt writes <bandwidth> right after the source (and VLAN/port), before <ip>/<script>.
    addExtraElement(
      net,
      xmlElement("bandwidth", undefined, [
        xmlElement("outbound", { average: String(parseVifRate(keys.rate)) }),
      ]),
      previous,
    );
    previous = "bandwidth";
  }
  if (keys.ip !== undefined) {
    for (const address of keys.ip.split(" ")) {
      const parsed = parseIp(address);
      if (parsed === undefined) {
        throw new VirtError(ErrorCode.INVALID_ARG, `Invalid IP address: ${address}`, {
          where: "vif",
        });
      }
      addExtraElement(net, xmlElement("ip", { address, family: parsed.family }), previous);
      previous = "ip";
    }
  }
  if (script !== undefined && script !== "") {
    addExtraElement(net, xmlElement("script", { path: script }), previous);
  }
  if (keys.model !== undefined) net.model = keys.model;
  else if (keys.type !== undefined && keys.type === vifTypename) net.model = "netfront";
  if (keys.vifname !== undefined && keys.vifname !== "") net.target = { dev: keys.vifname };
  return net;
}

/** A `rate=` value (`10MB/s`, `100Mb/s@20ms`) in KB/s. */
function parseVifRate(rate: string): number {
  const speed = rate.split("@")[0];
  const match = /^([0-9]+)([GMK]?)([Bb])\/s$/.exec(speed);
  if (match === null) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, `Invalid rate '${rate}' specified`, {
      where: "vif",
    });
  }
  let amount = Number(match[1]);
  if (match[2] === "G") amount *= 1024 * 1024;
  else if (match[2] === "M") amount *= 1024;
  if (match[3] === "b") amount = Math.floor(amount / 8);
  return amount;
}

function parsePciList(conf: XenConf, definition: DomainDefinition): void {
  const value = conf.value("pci");
  if (value === undefined || value.kind !== "list") return;
  for (const entry of conf.stringList("pci") ?? []) {
    definition.devices.hostdevs.push(parsePci(entry));
  }
}

function hexField(text: string | undefined, entry: string): number {
  if (text === undefined || !/^\s*(0x)?[0-9a-fA-F]+$/.test(text)) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, `Malformed PCI address ${entry}`, {
      where: "pci",
    });
  }
  return parseInt(text, 16);
}

function parsePci(entry: string): DomainDefinition["devices"]["hostdevs"][number] {
  const tokens = splitLimited(entry, ":", 3);
  let domain = 0;
  let index = 0;
  if (tokens.length === 3) domain = hexField(tokens[index++], entry);
  const bus = hexField(tokens[index++], entry);
  const rest = tokens[index] ?? "";
  const dot = rest.indexOf(".");
  if (dot === -1) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, `Malformed PCI address ${rest}`, {
      where: "pci",
    });
  }
  const slot = hexField(rest.slice(0, dot), entry);
  const afterSlot = rest.slice(dot + 1);
  const comma = afterSlot.indexOf(",");
  const func = hexField(comma === -1 ? afterSlot : afterSlot.slice(0, comma), entry);
  let writeFiltering: string | undefined;
  if (comma !== -1) {
    const options = afterSlot.slice(comma + 1);
    for (const option of options.split(",")) {
      const equals = option.indexOf("=");
      if (equals === -1) {
        throw new VirtError(ErrorCode.INTERNAL_ERROR, `Malformed PCI options ${options}`, {
          where: "pci",
        });
      }
      if (option.slice(0, equals) === "permissive") {
        const value = option.slice(equals + 1);
        if (!/^-?[0-9]+$/.test(value)) {
          throw new VirtError(ErrorCode.INTERNAL_ERROR, `Malformed PCI options ${options}`, {
            where: "pci",
          });
        }
        writeFiltering = Number(value) !== 0 ? "no" : "yes";
      }
    }
  }
  const hex = (value: number, width: number) => `0x${value.toString(16).padStart(width, "0")}`;
  return {
    mode: "subsystem",
    type: "pci",
    managed: "no",
    source: {
      address: {
        domain: hex(domain, 4),
        bus: hex(bus, 2),
        slot: hex(slot, 2),
        function: hex(func, 1),
      },
      ...(writeFiltering === undefined ? {} : { extra: { attributes: { writeFiltering } } }),
    },
  };
}

function splitLimited(text: string, separator: string, limit: number): string[] {
  const parts = text.split(separator);
  if (parts.length <= limit) return parts;
  return [...parts.slice(0, limit - 1), parts.slice(limit - 1).join(separator)];
}

function parseSound(conf: XenConf, definition: DomainDefinition): void {
  if (!isHvm(definition)) return;
  const text = conf.string("soundhw");
  if (text === undefined) return;
  const models = text === "all" ? ["sb16", "es1370"] : text.split(",");
  for (const model of models) {
    if (!SOUND_MODELS.has(model)) {
      throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `unknown sound model '${model}'`, {
        where: "soundhw",
      });
    }
    definition.devices.sounds.push({ model, codecs: [] });
  }
}

function vncListen(graphics: Graphics, address: string | undefined): void {
  if (address === undefined) {
    graphics.listens.push({ type: "address" });
    return;
  }
  graphics.listen = address;
  graphics.listens.push({ type: "address", address });
}

function parseFramebuffer(conf: XenConf, definition: DomainDefinition): void {
  const hvm = isHvm(definition);
  if (hvm) {
    if (conf.bool("vnc", 0)) {
      const graphics: Graphics = { type: "vnc", listens: [] };
      const autoport = conf.bool("vncunused", 1) !== 0;
      graphics.port = autoport ? -1 : conf.unsigned("vncdisplay", 0) + 5900;
      graphics.autoport = autoport ? "yes" : "no";
      vncListen(graphics, conf.string("vnclisten"));
      const passwd = conf.string("vncpasswd");
      if (passwd !== undefined) graphics.passwd = passwd;
      const keymap = conf.string("keymap");
      if (keymap !== undefined) graphics.keymap = keymap;
      definition.devices.graphics.push(graphics);
    } else if (conf.bool("sdl", 0)) {
      const graphics: Graphics = { type: "sdl", listens: [] };
      const display = conf.string("display");
      if (display !== undefined) graphics.display = display;
      const xauth = conf.string("xauthority");
      if (xauth !== undefined) graphics.xauth = xauth;
      definition.devices.graphics.push(graphics);
    }
  }
  if (hvm || definition.devices.graphics.length > 0) return;
  const vfbs = conf.value("vfb");
  if (vfbs === undefined || vfbs.kind !== "list") return;
  const entries = conf.stringList("vfb") ?? [];
  if (entries.length !== 1) return;
  const entry = entries[0];
  const sdl = entry.includes("type=sdl");
  const graphics: Graphics = { type: sdl ? "sdl" : "vnc", listens: [] };
  let listen: string | undefined;
  let autoport = false;
  for (const raw of entry.split(",")) {
    const key = raw.replace(/^[\s,]+/, "");
    if (!key.includes("=")) break;
    const equals = key.indexOf("=");
    const [name, value] = [key.slice(0, equals), key.slice(equals + 1)];
    if (!sdl) {
      if (name === "vncunused") autoport = value === "1";
      else if (name === "vnclisten") listen = value;
      else if (name === "vncpasswd") graphics.passwd = value;
      else if (name === "keymap") graphics.keymap = value;
      else if (name === "vncdisplay") {
        if (!/^-?[0-9]+$/.test(value)) {
          throw new VirtError(ErrorCode.INTERNAL_ERROR, `invalid vncdisplay value '${value}'`, {
            where: "vfb",
          });
        }
        graphics.port = Number(value) + 5900;
      }
    } else if (name === "display") graphics.display = value;
    else if (name === "xauthority") graphics.xauth = value;
  }
  if (!sdl) {
    if (autoport) {
      graphics.port = -1;
      graphics.autoport = "yes";
    } else {
      graphics.port ??= 0;
      graphics.autoport = "no";
    }
    vncListen(graphics, listen);
  }
  definition.devices.graphics.push(graphics);
}

/** A character device from its xend description (`pty`, `tcp:host:port,server`, `/dev/…`). */
export function parseCharSource(value: string): Chardev {
  let type: string;
  let rest = value;
  let protocol: string | undefined;
  if (value.startsWith("/")) {
    type = "dev";
  } else {
    const colon = value.indexOf(":");
    const prefix = colon === -1 ? value : value.slice(0, colon);
    if (colon !== -1) rest = value.slice(colon + 1);
    if (prefix.startsWith("telnet")) {
      type = "tcp";
      protocol = "telnet";
    } else if (CHARDEV_TYPES.has(prefix)) {
      type = prefix;
    } else {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, `unknown chr device type '${prefix}'`, {
        where: "serial",
      });
    }
  }
  const chardev: Chardev = { type, sources: [] };
  const malformed = () =>
    new VirtError(ErrorCode.INTERNAL_ERROR, "malformed char device string", { where: "serial" });
  switch (type) {
    case "dev":
    case "file":
    case "pipe":
      chardev.sources.push({ path: rest });
      break;
    case "tcp": {
      const colon = rest.indexOf(":");
      if (colon === -1) throw malformed();
      const host = rest.slice(0, colon);
      const afterHost = rest.slice(colon + 1);
      const comma = afterHost.indexOf(",");
      const service = comma === -1 ? afterHost : afterHost.slice(0, comma);
      const listen = comma !== -1 && afterHost.slice(comma).includes(",server");
      chardev.sources.push({
        mode: listen ? "bind" : "connect",
        ...(host === "" ? {} : { host }),
        service,
      });
      chardev.protocol = protocol ?? "raw";
      break;
    }
    case "udp": {
      const colon = rest.indexOf(":");
      if (colon === -1) throw malformed();
      const connectHost = rest.slice(0, colon);
      const afterHost = rest.slice(colon + 1);
      const at = afterHost.indexOf("@");
      if (at === -1) {
        chardev.sources.push({
          mode: "connect",
          ...(connectHost === "" ? {} : { host: connectHost }),
          service: afterHost,
        });
      } else {
        const bind = afterHost.slice(at + 1);
        const bindColon = bind.indexOf(":");
        if (bindColon === -1) throw malformed();
        const bindHost = bind.slice(0, bindColon);
        chardev.sources.push({
          mode: "bind",
          ...(bindHost === "" ? {} : { host: bindHost }),
          service: bind.slice(bindColon + 1),
        });
        chardev.sources.push({
          mode: "connect",
          ...(connectHost === "" ? {} : { host: connectHost }),
          service: afterHost.slice(0, at),
        });
      }
      break;
    }
    case "unix": {
      const comma = rest.indexOf(",");
      const path = comma === -1 ? rest : rest.slice(0, comma);
      const listen = comma !== -1 && rest.slice(comma).includes(",server");
      chardev.sources.push({ mode: listen ? "bind" : "connect", path });
      break;
    }
  }
  return chardev;
}

function parseCharDevices(conf: XenConf, definition: DomainDefinition, dialect: XenDialect) {
  if (!isHvm(definition)) {
    definition.devices.consoles.push({
      type: "pty",
      sources: [],
      target: { type: "xen", port: 0 },
    });
    return;
  }
  const parallel = conf.string("parallel");
  if (parallel !== undefined && parallel !== "none") {
    const chardev = parseCharSource(parallel);
    chardev.target = { port: 0 };
    definition.devices.parallels.push(chardev);
  }
  const serial = conf.value("serial");
  if (serial?.kind === "list") {
    if (dialect === "xm") {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        "Multiple serial devices are not supported by xen-xm",
        { where: "serial" },
      );
    }
    (conf.stringList("serial") ?? []).forEach((port, index) => {
      if (port === "none") return;
      const chardev = parseCharSource(port);
      chardev.target = { port: index };
      definition.devices.serials.push(chardev);
    });
    return;
  }
  const single = conf.string("serial");
  if (single !== undefined && single !== "none") {
    const chardev = parseCharSource(single);
    chardev.target = { port: 0 };
    definition.devices.serials.push(chardev);
  }
}
