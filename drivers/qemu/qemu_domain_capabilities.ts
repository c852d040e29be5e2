/**
 * The QEMU driver's capabilities and domain capabilities: what one emulator binary reports of
 * itself over QMP (its machine types with their vCPU maximum, its CPU models with their
 * usability, its device types), narrowed to what this driver builds a command line for. The
 * emulator is asked once per binary (path, size and mtime) in a short `-machine none` run whose
 * commands are piped on stdin; the answer is bounded in time and size.
 *
 * Where evirt refuses something libvirt offers, the document says so rather than libvirt's
 * answer: firmware autoselection, Secure Boot loaders, host-model and host-passthrough CPUs
 * without KVM, `maximumMigratable`, IDE on q35, `lun` disks, graphics other than VNC, `vmvga`,
 * host devices, TPM, USB redirection, filesystems and SPICE channels are reported unsupported or
 * left out of their enums. QEMU's versioned CPU model names (`Skylake-Client-v2`) are left out,
 * as libvirt lists only the plain ones.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type {
  CapabilityElement,
  CpuModelCapability,
  DomainCapabilities,
  DomainCapabilitiesQuery,
  GuestCapability,
  MachineCapability,
} from "../../src/model/capabilities.ts";
import { CAPABILITY_PROBE_TIMEOUT_MS, resolveEmulator } from "./qemu_capabilities.ts";
import { BinaryProbeCache } from "./binary_probe_cache.ts";

/** Largest QMP answer kept from one probe, in bytes (QEMU 7.2 answers about 70 KiB). */
export const QMP_PROBE_OUTPUT_MAX_BYTES = 4 * 1024 * 1024;
/** Binaries whose QMP answers are remembered. */
const PROBE_CACHE_MAX = 8;
/** Where firmware descriptors live (QEMU's interop spec), most specific first. */
const FIRMWARE_DESCRIPTOR_DIRS = ["/etc/qemu/firmware", "/usr/share/qemu/firmware"];
/** Largest firmware descriptor read, in bytes. */
const FIRMWARE_DESCRIPTOR_MAX_BYTES = 64 * 1024;

/** What an emulator says of itself. */
export interface EmulatorReport {
  path: string;
  /** The architecture it emulates, libvirt's name (`x86_64`, `i686`). */
  arch: string;
  machines: readonly {
    name: string;
    alias?: string;
    cpuMax: number;
    isDefault: boolean;
    deprecated: boolean;
  }[];
  cpuModels: readonly CpuModelCapability[];
  /** Device type names (`virtio-blk-pci`, `VGA`, …). */
  devices: ReadonlySet<string>;
}

/** libvirt's architecture name for a `qemu-system-*` binary's suffix. */
const ARCH_OF_SUFFIX: Readonly<Record<string, string>> = { i386: "i686" };
/** The binary suffix for a libvirt architecture name. */
const SUFFIX_OF_ARCH: Readonly<Record<string, string>> = { i686: "i386" };
const WORDSIZE: Readonly<Record<string, number>> = { i686: 32, x86_64: 64, aarch64: 64 };

/** The host's architecture, libvirt's name. */
export function hostArch(): string {
  return Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";
}

/** The architecture a `qemu-system-*` binary emulates, or undefined for another binary. */
export function archOfEmulator(path: string): string | undefined {
  const suffix = /qemu-system-([a-z0-9_]+)$/.exec(path)?.[1];
  return suffix === undefined ? undefined : ARCH_OF_SUFFIX[suffix] ?? suffix;
}

/**
 * Asks emulators over QMP, once per binary.
 *
 * @example
 * ```ts ignore
 * const probes = new EmulatorProbes();
 * const report = await probes.report("/usr/bin/qemu-system-x86_64");
 * ```
 */
export class EmulatorProbes {
  readonly #probes = new BinaryProbeCache(
    PROBE_CACHE_MAX,
    (name) => resolveEmulator(name),
    probeQmp,
  );

  /**
   * The report of an emulator, asked on first use.
   *
   * @throws {VirtError} SYSTEM_ERROR (38) when it cannot be found or run; INTERNAL_ERROR (1)
   *   when its QMP answer is not what QEMU answers.
   */
  report(emulator: string): Promise<EmulatorReport> {
    return this.#probes.get(emulator);
  }
}

const PROBE_COMMANDS = [
  { execute: "qmp_capabilities" },
  { execute: "query-machines" },
  { execute: "query-cpu-definitions" },
  { execute: "qom-list-types", arguments: { implements: "device", abstract: false } },
  { execute: "quit" },
].map((command) => JSON.stringify(command)).join("\n") + "\n";

async function probeQmp(path: string): Promise<EmulatorReport> {
  let output: Deno.CommandOutput;
  try {
    const child = new Deno.Command(path, {
      args: [
        "-S",
        "-nodefaults",
        "-nographic",
        "-display",
        "none",
        "-machine",
        "none",
        "-qmp",
        "stdio",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { LC_ALL: "C" },
      signal: AbortSignal.timeout(CAPABILITY_PROBE_TIMEOUT_MS),
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(PROBE_COMMANDS));
    await writer.close();
    output = await child.output();
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot run QEMU binary ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (output.stdout.length > QMP_PROBE_OUTPUT_MAX_BYTES) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `QEMU binary ${path} answered more than ${QMP_PROBE_OUTPUT_MAX_BYTES} bytes`,
    );
  }
  return parseQmpReport(path, new TextDecoder().decode(output.stdout));
}

/**
 * Reads the answers of {@linkcode PROBE_COMMANDS}: the `return` lines in order after the
 * greeting (events and the `quit` answer are skipped).
 *
 * @throws {VirtError} INTERNAL_ERROR (1) when an answer is missing or is an error.
 */
export function parseQmpReport(path: string, text: string): EmulatorReport {
  const answers: unknown[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line);
    } catch {
      continue;
    }
    if ("error" in message) {
      const error = message.error as { desc?: string };
      throw new VirtError(
        ErrorCode.INTERNAL_ERROR,
        `QEMU binary ${path}: ${error.desc ?? "error"}`,
      );
    }
    if ("return" in message) answers.push(message.return);
  }
  const [, machines, cpus, types] = answers;
  if (!Array.isArray(machines) || !Array.isArray(cpus) || !Array.isArray(types)) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `QEMU binary ${path} did not answer query-machines, query-cpu-definitions and qom-list-types`,
    );
  }
  return {
    path,
    arch: archOfEmulator(path) ?? hostArch(),
    machines: machines.filter((machine) => machine.name !== "none").map((machine) => ({
      name: String(machine.name),
      ...(typeof machine.alias === "string" ? { alias: machine.alias } : {}),
      cpuMax: Number(machine["cpu-max"] ?? 1),
      isDefault: machine["is-default"] === true,
      deprecated: machine.deprecated === true,
    })),
    cpuModels: cpus.map((cpu) => ({
      name: String(cpu.name),
      usable: Array.isArray(cpu["unavailable-features"])
        ? (cpu["unavailable-features"].length === 0 ? "yes" : "no")
        : "unknown",
      deprecated: cpu.deprecated === true,
    } as CpuModelCapability)).sort((left, right) => left.name.localeCompare(right.name)),
    devices: new Set(types.map((type) => String(type.name))),
  };
}

/** The `<guest>` of an emulator for the capabilities document. */
export function guestOf(report: EmulatorReport, kvmUsable: boolean): GuestCapability {
  const machines: MachineCapability[] = [];
  for (const machine of report.machines) {
    const entry = {
      maxCpus: machine.cpuMax,
      ...(machine.deprecated ? { deprecated: true } : {}),
    };
    machines.push({ name: machine.name, ...entry });
    if (machine.alias !== undefined) {
      machines.push({ name: machine.alias, canonical: machine.name, ...entry });
    }
  }
  return {
    osType: "hvm",
    arch: report.arch,
    wordsize: WORDSIZE[report.arch] ?? 64,
    emulator: report.path,
    machines,
    domainTypes: kvmUsable && report.arch === hostArch() ? ["qemu", "kvm"] : ["qemu"],
  };
}

/**
 * The emulator a domain-capabilities request names: its own, or `qemu-system-<arch>` on PATH.
 *
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) when no emulator serves the architecture.
 */
export function emulatorForQuery(query: DomainCapabilitiesQuery): string {
  if (query.emulator !== undefined) return query.emulator;
  const arch = query.arch ?? hostArch();
  try {
    return resolveEmulator(`qemu-system-${SUFFIX_OF_ARCH[arch] ?? arch}`);
  } catch {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `unable to find any emulator to serve '${arch}' architecture`,
      { where: "arch" },
    );
  }
}

/**
 * The domain capabilities of one request, from the emulator's report, as libvirt answers: the
 * default machine when none is named, an alias resolved to its machine.
 *
 * @throws {VirtError} INVALID_ARG (8) for an unknown machine, a type the host cannot
 *   accelerate, or an emulator of another architecture.
 */
export function domainCapabilitiesOf(
  report: EmulatorReport,
  query: DomainCapabilitiesQuery,
  kvmUsable: boolean,
): DomainCapabilities {
  // As libvirt: the host's architecture unless one is named, even for a named emulator.
  const arch = query.arch ?? hostArch();
  if (arch !== report.arch) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `Emulator '${report.path}' does not support arch '${arch}'`,
      { where: "arch" },
    );
  }
  const virttype = query.virttype ?? (kvmUsable ? "kvm" : "qemu");
  if (virttype !== "qemu" && (virttype !== "kvm" || !kvmUsable || arch !== hostArch())) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `the accel '${virttype}' is not supported by '${report.path}' on this host`,
      { where: "virttype" },
    );
  }
  const machine = query.machine === undefined
    ? report.machines.find((entry) => entry.isDefault) ?? report.machines[0]
    : report.machines.find((entry) =>
      entry.name === query.machine || entry.alias === query.machine
    );
  if (machine === undefined) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `the machine '${query.machine ?? ""}' is not supported by emulator '${report.path}'`,
      { where: "machine" },
    );
  }
  const kvm = virttype === "kvm";
  const q35 = machine.name.includes("q35");
  const has = (device: string) => report.devices.has(device);
  const present = (pairs: [string, string][]) =>
    pairs.filter(([, device]) => has(device)).map(([value]) => value);
  return {
    path: report.path,
    domain: virttype,
    machine: machine.name,
    arch,
    vcpuMax: machine.cpuMax,
    iothreads: true,
    os: {
      // evirt refuses firmware autoselection (`<os firmware=…>`): no values.
      firmware: [],
      loaderValues: firmwareImages(arch, machine.name),
      loaderEnums: [
        { name: "type", values: ["rom", "pflash"] },
        { name: "readonly", values: ["yes", "no"] },
        { name: "secure", values: ["no"] },
      ],
    },
    cpu: {
      hostPassthrough: kvm,
      maximum: true,
      hostModel: kvm,
      // Versioned names (`Skylake-Client-v2`) are QEMU's own; libvirt lists the plain ones.
      models: report.cpuModels.filter((model) =>
        !["host", "max", "base"].includes(model.name) && !/-v\d+$/.test(model.name)
      ),
    },
    memoryBackingSources: ["file", "anonymous", "memfd"],
    devices: [
      element("disk", [
        ["diskDevice", ["disk", "cdrom", "floppy"]],
        [
          "bus",
          present([
            // q35 has no IDE: the driver refuses it there, as libvirt does.
            ...(q35 ? [] : [["ide", "ide-hd"] as [string, string]]),
            ["fdc", "floppy"],
            ["scsi", "scsi-hd"],
            ["virtio", "virtio-blk-pci"],
            ["usb", "usb-storage"],
            ["sata", "ich9-ahci"],
          ]),
        ],
        [
          "model",
          present([
            ["virtio", "virtio-blk-pci"],
            ["virtio-transitional", "virtio-blk-pci-transitional"],
            ["virtio-non-transitional", "virtio-blk-pci-non-transitional"],
          ]),
        ],
      ]),
      element("graphics", [["type", ["vnc"]]]),
      element("video", [[
        "modelType",
        [
          ...present([
            ["vga", "VGA"],
            ["cirrus", "cirrus-vga"],
            ["qxl", "qxl-vga"],
            ["virtio", "virtio-vga"],
          ]),
          "none",
          ...present([["bochs", "bochs-display"], ["ramfb", "ramfb"]]),
        ],
      ]]),
      unsupported("hostdev"),
      element("rng", [
        [
          "model",
          present([
            ["virtio", "virtio-rng-pci"],
            ["virtio-transitional", "virtio-rng-pci-transitional"],
            ["virtio-non-transitional", "virtio-rng-pci-non-transitional"],
          ]),
        ],
        ["backendModel", ["random", "egd", "builtin"]],
      ]),
      unsupported("filesystem"),
      unsupported("tpm"),
      unsupported("redirdev"),
      element("channel", [["type", ["pty", "unix"]]]),
    ],
    features: [
      unsupported("gic"),
      { name: "vmcoreinfo", supported: has("vmcoreinfo"), enums: [] },
      { name: "genid", supported: has("vmgenid"), enums: [] },
      unsupported("sev"),
      unsupported("sgx"),
    ],
  };
}

function element(name: string, enums: [string, string[]][]): CapabilityElement {
  return {
    name,
    supported: true,
    enums: enums.map(([enumName, values]) => ({ name: enumName, values })),
  };
}

function unsupported(name: string): CapabilityElement {
  return { name, supported: false, enums: [] };
}

/**
 * The UEFI images the host's firmware descriptors offer for an architecture and machine, without
 * Secure Boot (evirt refuses `secure='yes'`), in descriptor order.
 */
export function firmwareImages(arch: string, machine: string): string[] {
  const seen = new Map<string, string>();
  for (const dir of FIRMWARE_DESCRIPTOR_DIRS) {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (!entry.name.endsWith(".json") || seen.has(entry.name)) continue;
      seen.set(entry.name, `${dir}/${entry.name}`);
    }
  }
  const images: string[] = [];
  for (const name of [...seen.keys()].sort()) {
    const descriptor = readDescriptor(seen.get(name)!);
    if (descriptor === undefined) continue;
    const features = descriptor.features ?? [];
    if (features.includes("secure-boot") || features.includes("requires-smm")) continue;
    if (!(descriptor["interface-types"] ?? []).includes("uefi")) continue;
    const targets = descriptor.targets ?? [];
    const fits = targets.some((target) =>
      target.architecture === arch &&
      (target.machines ?? []).some((pattern) => globMatches(pattern, machine))
    );
    const file = descriptor.mapping?.executable?.filename;
    if (fits && typeof file === "string" && !images.includes(file)) images.push(file);
  }
  return images;
}

interface FirmwareDescriptor {
  "interface-types"?: string[];
  mapping?: { executable?: { filename?: string } };
  targets?: { architecture?: string; machines?: string[] }[];
  features?: string[];
}

function readDescriptor(path: string): FirmwareDescriptor | undefined {
  try {
    const bytes = Deno.readFileSync(path);
    if (bytes.length > FIRMWARE_DESCRIPTOR_MAX_BYTES) return undefined;
    const value = JSON.parse(new TextDecoder().decode(bytes));
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A firmware descriptor's machine pattern (`pc-q35-*`) against a machine name. */
function globMatches(pattern: string, name: string): boolean {
  const regex = new RegExp(
    `^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".")}$`,
  );
  return regex.test(name);
}
