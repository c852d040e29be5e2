/**
 * `bhyve-argv` → domain definition, as libvirt 9.0 reads `bhyve` and loader command lines
 * (`domxml-from-native bhyve-argv`): the `/usr/sbin/bhyve` line gives CPUs, memory, ACPI/APIC,
 * UTC, UUID, wired memory, nmdm serial ports and the PCI devices it knows (AHCI and virtio
 * disks, virtio and e1000 NICs, the frame buffer); the other line is `bhyveload` (its default
 * `-m`/`-d` form marks the boot disk; anything else is kept as bootloader arguments) or a
 * custom loader. Like libvirt, it applies no driver defaults: what the lines do not say is
 * absent (lifecycle actions read `destroy`).
 *
 * @module
 */

import {
  type Disk,
  type DomainDefinition,
  emptyDevices,
  type NetInterface,
  type XmlPlacedElement,
} from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { formatMac, parseMac } from "../../src/model/mac_address.ts";

/** What the reader cannot know from the text. */
export interface BhyveArgvOptions {
  /** Makes the UUID of a guest whose command line names none. Default random. */
  generateUuid?: () => string;
  /** Makes the MAC of a NIC whose command line names none. Default random in 52:54:00. */
  generateMac?: () => string;
  /** Receives what libvirt logs as a warning and drops (a device it cannot read). */
  warn?: (message: string) => void;
}

/** The bhyve program libvirt recognises its command line by. */
const BHYVE_PROGRAM = "/usr/sbin/bhyve";
const BHYVELOAD_PROGRAM = "/usr/sbin/bhyveload";
/** The largest native text read, in characters. */
const MAX_TEXT_CHARS = 1024 * 1024;

function failure(
  message: string,
  code:
    | typeof ErrorCode.OPERATION_FAILED
    | typeof ErrorCode.INTERNAL_ERROR
    | typeof ErrorCode.INVALID_ARG = ErrorCode.OPERATION_FAILED,
): VirtError {
  return new VirtError(code, message);
}

/** The text with backslash-newline continuations removed. */
function unescapeContinuations(text: string): string {
  return text.replace(/\\(\r\n|\r|\n)/g, "");
}

/** The words of one line: quoted with `'` or `"` (no escapes inside), else up to a space. */
function words(line: string): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < line.length) {
    const quote = line[at] === "'" || line[at] === '"' ? line[at] : undefined;
    const start = quote === undefined ? at : at + 1;
    const end = line.indexOf(quote ?? " ", start);
    out.push(end === -1 ? line.slice(start) : line.slice(start, end));
    if (end === -1) break;
    at = quote === undefined ? end : end + 1;
    while (at < line.length && /\s/.test(line[at])) at++;
  }
  return out;
}

/**
 * Reads `bhyve` (and loader) command lines.
 *
 * @throws {VirtError} Code 9 for arguments libvirt cannot read, code 1 without a bhyve line,
 *   code 8 for an option missing its value.
 *
 * @example
 * ```ts
 * import { bhyveArgvToDomain } from "./argv_to_domain.ts";
 * const def = bhyveArgvToDomain("/usr/sbin/bhyve -c 2 -m 256 -H -P -s 0:0,hostbridge vm");
 * console.log(def.name, def.vcpus, def.memoryKiB); // "vm" 2 262144
 * ```
 */
export function bhyveArgvToDomain(text: string, options: BhyveArgvOptions = {}): DomainDefinition {
  if (text.length > MAX_TEXT_CHARS) {
    throw failure(
      `command line longer than ${MAX_TEXT_CHARS} characters`,
      ErrorCode.INTERNAL_ERROR,
    );
  }
  const lines = unescapeContinuations(text).split(/[\r\n]+/).filter((line) => line !== "");
  let bhyve: string[] | undefined;
  let loader: string[] | undefined;
  for (const line of lines) {
    const argv = words(line);
    if (bhyve === undefined && argv[0] === BHYVE_PROGRAM) bhyve = argv;
    else if (loader === undefined) loader = argv;
  }
  if (bhyve === undefined) {
    throw failure("Failed to convert the command string to argv-lists", ErrorCode.INTERNAL_ERROR);
  }
  const def: DomainDefinition = {
    type: "bhyve",
    name: "",
    uuid: (options.generateUuid ?? (() => crypto.randomUUID()))(),
    memoryKiB: 0,
    vcpus: 0,
    vcpu: { placement: "static" },
    os: { type: "hvm", boot: [] },
    clock: { offset: "localtime", timers: [] },
    onPoweroff: "destroy",
    onReboot: "destroy",
    onCrash: "destroy",
    devices: emptyDevices(),
  };
  const state: ParseState = { currentKiB: 0, virtioDisks: 0, ahciDisks: 0, options };
  readBhyve(def, bhyve, state);
  if (loader !== undefined && loader[0] === BHYVELOAD_PROGRAM) readBhyveload(def, loader, state);
  else if (loader !== undefined) setBootloader(def, loader);
  return def;
}

interface ParseState {
  currentKiB: number;
  virtioDisks: number;
  ahciDisks: number;
  options: BhyveArgvOptions;
}

/** Walks the options of `argv` (the last word is the VM name), handing each to `each`. */
function walkOptions(
  argv: string[],
  each: (option: string, value: () => string) => void,
): string {
  const count = argv.length - 1;
  let at = 1;
  for (; at < count; at++) {
    if (!argv[at].startsWith("-")) break;
    const option = argv[at];
    each(option, () => {
      if (at + 1 === count) {
        throw failure(`Missing argument for '${option}'`, ErrorCode.INVALID_ARG);
      }
      return argv[++at];
    });
  }
  if (count !== at) throw failure("Failed to parse arguments for bhyve command");
  return argv[count];
}

function setName(def: DomainDefinition, name: string): void {
  if (def.name === "") def.name = name;
  else if (def.name !== name) throw failure("Failed to parse arguments: VM name mismatch");
}

/** FreeBSD's memory sizes: a plain number below 1 MiB means MiB; else a size with a suffix. */
function memoryKiB(text: string, state: ParseState): number {
  let bytes: bigint;
  if (/^\s*\+?[0-9]+$/.test(text)) {
    bytes = BigInt(text.trim());
    if (bytes < 1024n * 1024n) bytes *= 1024n * 1024n;
  } else {
    const match = /^([0-9]+)([bkmgtpe])?$/i.exec(text);
    if (match === null) throw failure("Failed to parse memory");
    const power = "bkmgtpe".indexOf((match[2] ?? "b").toLowerCase());
    bytes = BigInt(match[1]) * 1024n ** BigInt(power);
  }
  const kib = Number(bytes / 1024n);
  if (!Number.isSafeInteger(kib)) throw failure("Failed to parse memory");
  if (state.currentKiB !== 0 && state.currentKiB !== kib) {
    throw failure("Failed to parse memory: size mismatch");
  }
  state.currentKiB = kib;
  return kib;
}

function setMemory(def: DomainDefinition, kib: number): void {
  def.memoryKiB = kib;
  def.currentMemoryKiB = kib;
}

function readBhyve(def: DomainDefinition, argv: string[], state: ParseState): void {
  const features: Record<string, Record<string, string>> = {};
  let locked = false;
  const name = walkOptions(argv, (option, value) => {
    switch (option[1]) {
      case "A":
        features.acpi = {};
        break;
      case "I":
        features.apic = {};
        break;
      case "c": {
        const text = value();
        if (!/^\s*[+-]?[0-9]+$/.test(text) || Number(text) <= 0) {
          throw failure("Failed to parse number of vCPUs");
        }
        def.vcpus = Number(text);
        break;
      }
      case "l":
        readLpc(def, value());
        break;
      case "s":
        readPciSlot(def, value(), state);
        break;
      case "m":
        setMemory(def, memoryKiB(value(), state));
        break;
      case "u":
        def.clock = { offset: "utc", timers: [] };
        break;
      case "U": {
        const text = value();
        const hex = text.replaceAll("-", "");
        if (!/^[0-9a-fA-F]{32}$/.test(hex)) {
          throw failure(`Cannot parse UUID '${text}'`, ErrorCode.INTERNAL_ERROR);
        }
        const lower = hex.toLowerCase();
        def.uuid = `${lower.slice(0, 8)}-${lower.slice(8, 12)}-${lower.slice(12, 16)}-${
          lower.slice(16, 20)
        }-${lower.slice(20)}`;
        break;
      }
      case "S":
        locked = true;
        break;
      case "p":
      case "g":
        value();
        break;
    }
  });
  setName(def, name);
  // libvirt writes features in its own order: ACPI before APIC.
  if (features.acpi !== undefined || features.apic !== undefined) {
    def.features = {
      ...(features.acpi === undefined ? {} : { acpi: {} }),
      ...(features.apic === undefined ? {} : { apic: {} }),
    };
  }
  if (locked) {
    const element: XmlPlacedElement = {
      after: "currentMemory",
      element: { name: "memoryBacking", children: [{ name: "locked" }] },
    };
    def.extra = { ...def.extra, elements: [...def.extra?.elements ?? [], element] };
  }
}

/** `-l comN,/dev/nmdmXA`: an nmdm serial port (other LPC devices are not described). */
function readLpc(def: DomainDefinition, argument: string): void {
  const comma = argument.indexOf(",");
  if (comma === -1) throw failure(`Failed to parse LPC device '${argument}'`);
  const type = argument.slice(0, comma);
  const master = argument.slice(comma + 1);
  if (!(type.startsWith("com") && type.length === 4)) return;
  if (!master.startsWith("/dev/nmdm")) {
    throw failure(`Failed to set com port ${type}: does not start with '/dev/nmdm'.`);
  }
  const last = master[master.length - 1];
  if (last !== "A" && last !== "B") {
    throw failure(`Failed to set slave for ${master}: last letter not 'A' or 'B'`);
  }
  const slave = master.slice(0, -1) + (last === "A" ? "B" : "A");
  if (type[3] !== "1" && type[3] !== "2") {
    throw failure(`Failed to parse ${type}: only com1 and com2 supported.`);
  }
  def.devices.serials.push({
    type: "nmdm",
    sources: [{ master, slave }],
    target: { port: Number(type[3]) - 1 },
  });
}

/** `slot[:function]` or `bus:slot:function`. */
function pciSlot(text: string): { bus: number; slot: number; function: number } {
  const parts = text.split(":").slice(0, 3);
  if (!parts.every((part) => /^\s*\+?[0-9]+$/.test(part))) {
    throw failure(`Failed to parse PCI slot '${text}'`);
  }
  const values = parts.map(Number);
  if (values.length === 3) return { bus: values[0], slot: values[1], function: values[2] };
  return { bus: 0, slot: values[0], function: values[1] ?? 0 };
}

/** `-s slot,emulation[,configuration]`: the devices libvirt describes; the others are skipped. */
function readPciSlot(def: DomainDefinition, argument: string, state: ParseState): void {
  const comma = argument.indexOf(",");
  if (comma === -1) throw failure(`Failed to parse PCI device '${argument}'`);
  const rest = argument.slice(comma + 1);
  const next = rest.indexOf(",", 1);
  const emulation = next === -1 ? rest : rest.slice(0, next);
  const config = next === -1 ? undefined : rest.slice(next + 1);
  const where = pciSlot(argument.slice(0, comma));
  const address = { type: "pci", domain: 0, ...where };
  const warn = state.options.warn ?? (() => {});
  try {
    if (emulation === "ahci-cd" || emulation === "ahci-hd" || emulation === "virtio-blk") {
      const disk = pciDisk(emulation, config, state);
      def.devices.disks.push({ ...disk, address });
    } else if (emulation === "virtio-net" || emulation === "e1000") {
      const net = pciNet(emulation === "e1000" ? "e1000" : "virtio", config, state);
      def.devices.interfaces.push({ ...net, address });
    } else if (emulation === "fbuf") {
      readFramebuffer(def, config);
    }
  } catch (error) {
    // libvirt reports a device it cannot read and goes on without it.
    if (!(error instanceof VirtError) || error.code !== ErrorCode.CONFIG_UNSUPPORTED) throw error;
    warn(error.message);
  }
}

function pciDisk(emulation: string, config: string | undefined, state: ParseState): Disk {
  if (config === undefined) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `${emulation} needs a backing path`);
  }
  const virtio = emulation === "virtio-blk";
  const index = virtio ? state.virtioDisks++ : state.ahciDisks++;
  if (index > 25) throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, "too many disks");
  const comma = config.indexOf(",");
  const path = comma === -1 ? config : config.slice(0, comma);
  const block = config.startsWith("/dev/");
  return {
    type: block ? "block" : "file",
    device: emulation === "ahci-cd" ? "cdrom" : "disk",
    source: { ...(block ? { dev: path } : { file: path }), hosts: [] },
    target: {
      dev: `${virtio ? "vd" : "sd"}${String.fromCharCode(97 + index)}`,
      bus: virtio ? "virtio" : "sata",
    },
  };
}

function pciNet(model: string, config: string | undefined, state: ParseState): NetInterface {
  if (config === undefined) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, "a NIC needs a tap device");
  }
  if (!config.startsWith("tap")) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, "Only tap devices supported");
  }
  const comma = config.indexOf(",");
  const ifname = comma === -1 ? config : config.slice(0, comma);
  let mac: string | undefined;
  if (comma !== -1) {
    const option = config.slice(comma + 1);
    if (!option.startsWith("mac=")) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        "Only mac option can be specified for virt-net",
      );
    }
    const bytes = parseMac(option.slice(4));
    // An unreadable address is reported and left all zero, as libvirt leaves it.
    if (bytes === undefined) {
      state.options.warn?.(`unable to parse mac address '${option.slice(4)}'`);
    }
    mac = formatMac(bytes ?? [0, 0, 0, 0, 0, 0]);
  }
  const generate = state.options.generateMac ??
    (() => formatMac([0x52, 0x54, 0x00, ...crypto.getRandomValues(new Uint8Array(3))]));
  return {
    type: "bridge",
    mac: mac ?? generate(),
    source: { bridge: "virbr0" },
    target: { dev: ifname },
    model,
  };
}

/** `fbuf,[tcp|rfb=[host]:port],[vga=…],[w=…],[h=…],[password=…]`: a GOP adapter and VNC. */
function readFramebuffer(def: DomainDefinition, config: string | undefined): void {
  const graphics: DomainDefinition["devices"]["graphics"][number] = { type: "vnc", listens: [] };
  const model: NonNullable<DomainDefinition["devices"]["videos"][number]["model"]> = {
    type: "gop",
    heads: 1,
  };
  let vgaconf: string | undefined;
  const resolution: Record<string, string> = {};
  const integer = (text: string) => {
    if (!/^\s*[+-]?[0-9]+$/.test(text)) {
      throw failure(`Failed to parse frame buffer option '${text}'`);
    }
    return Number(text);
  };
  for (const parameter of (config ?? "").split(",")) {
    if (parameter.startsWith("vga=")) {
      const value = parameter.slice(4);
      if (value === "on" || value === "io" || value === "off") vgaconf = value;
    }
    if (parameter.startsWith("rfb=") || parameter.startsWith("tcp=")) {
      const value = parameter.slice(4);
      const colon = value.indexOf(":");
      if (colon === -1) throw failure(`Failed to parse frame buffer option '${parameter}'`);
      // bhyve listens on 127.0.0.1 when no address is given.
      const address = colon === 0 ? "127.0.0.1" : value.slice(0, colon);
      graphics.listens.push({ type: "address", address });
      graphics.listen = address;
      graphics.port = integer(value.slice(colon + 1));
      graphics.autoport = "no";
    }
    if (parameter.startsWith("w=")) resolution.x = String(integer(parameter.slice(2)));
    if (parameter.startsWith("h=")) resolution.y = String(integer(parameter.slice(2)));
    if (parameter.startsWith("password=")) graphics.passwd = parameter.slice("password=".length);
  }
  if (Object.keys(resolution).length > 0) {
    model.extra = {
      elements: [{
        element: {
          name: "resolution",
          attributes: { x: resolution.x ?? "0", y: resolution.y ?? "0" },
        },
      }],
    };
  }
  // libvirt writes the VGA mode only when it is not the default (io).
  const video = vgaconf === undefined || vgaconf === "io"
    ? { model }
    : { driver: { vgaconf }, model };
  def.devices.videos.push(video);
  def.devices.graphics.push(graphics);
}

function readBhyveload(def: DomainDefinition, argv: string[], state: ParseState): void {
  let given = 0;
  const name = walkOptions(argv, (option, value) => {
    if (option[1] === "d") {
      given |= 1;
      const path = value();
      const index = def.devices.disks.findIndex((disk) =>
        (disk.source?.file ?? disk.source?.dev) === path
      );
      // libvirt records the disk's position as its boot order: the first disk gets none.
      if (index > 0) def.devices.disks[index].boot = { order: index };
    } else if (option[1] === "m") {
      given |= 2;
      setMemory(def, memoryKiB(value(), state));
    } else {
      given |= 4;
    }
  });
  if (given !== 3) setBootloader(def, argv);
  setName(def, name);
}

/** `<bootloader>` and `<bootloader_args>` (the arguments joined with spaces). */
function setBootloader(def: DomainDefinition, argv: string[]): void {
  const elements: XmlPlacedElement[] = [
    { after: "vcpu", element: { name: "bootloader", children: [argv[0]] } },
    {
      after: "bootloader",
      element: { name: "bootloader_args", children: [argv.slice(1).join(" ")] },
    },
  ];
  def.extra = { ...def.extra, elements: [...def.extra?.elements ?? [], ...elements] };
}
