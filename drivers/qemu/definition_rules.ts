/**
 * Rules libvirt's QEMU driver checks before it builds a command line, which evirt's QEMU driver
 * checks at define and at start: each a {@linkcode VirtError} with libvirt's code (67,
 * CONFIG_UNSUPPORTED) and wording, naming the element.
 *
 * - the architecture is one the x86 emulator runs (x86_64, i686);
 * - a shareable writable disk uses a format that allows concurrent access (raw);
 * - memory hotplug (`<maxMemory slots>`) needs a guest NUMA node;
 * - memory sizes still fit once aligned to 1 MiB (2^63 bytes at most);
 * - UEFI (a pflash loader or `firmware='efi'`) needs ACPI on x86;
 * - a ramfb video device has no address (it is not a PCI device);
 * - a spicevmc character device has a SPICE display, a dbus one a D-Bus display;
 * - `checkCpuNames`: the CPU model and features are names the emulator still has.
 *
 * @module
 */

import type { DomainDefinition } from "../../src/model/domain.ts";
import { refuseConfig } from "./config_refusal.ts";
import type { CpuNames } from "./qemu_capabilities.ts";

/** Architectures of the x86 emulator binaries. */
const X86_ARCHES = new Set(["x86_64", "i686"]);

/**
 * Checks `definition` against the rules above.
 *
 * @param definition The definition, defaults applied.
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) naming the element.
 *
 * @example
 * ```ts
 * import { checkDefinitionRules } from "./definition_rules.ts";
 * import { parseDomainXml } from "../../src/xml/mod.ts";
 * const definition = parseDomainXml(
 *   "<domain type='qemu'><name>vm</name><memory>65536</memory><os><type arch='alpha'>hvm</type></os></domain>",
 * );
 * try {
 *   checkDefinitionRules(definition);
 * } catch (error) {
 *   console.log((error as { where: string }).where); // "/domain/os/type/@arch"
 * }
 * ```
 */
export function checkDefinitionRules(definition: DomainDefinition): void {
  const arch = definition.os.arch ?? "x86_64";
  if (!X86_ARCHES.has(arch)) {
    const emulator = definition.devices.emulator ?? "qemu-system-x86_64";
    throw refuseConfig(
      "/domain/os/type/@arch",
      `Emulator '${emulator}' does not support arch '${arch}'`,
    );
  }
  definition.devices.disks.forEach((disk, index) => {
    const format = disk.driver?.type ?? "raw";
    if (disk.shareable === true && disk.readonly !== true && format !== "raw") {
      throw refuseConfig(
        `/domain/devices/disk[${index + 1}]/shareable`,
        `shared access for disk '${disk.target.dev}' requires use of supported storage format`,
      );
    }
  });
  if (
    definition.maxMemory !== undefined && definition.maxMemory.slots > 0 &&
    (definition.cpu?.numa?.cells.length ?? 0) === 0
  ) {
    throw refuseConfig(
      "/domain/maxMemory",
      "At least one numa node has to be configured when enabling memory hotplug",
    );
  }
  checkAlignedMemory(definition);
  const uefi = definition.os.firmware === "efi" || definition.os.loader?.type === "pflash";
  const acpi = definition.features !== undefined && "acpi" in definition.features;
  if (uefi && !acpi) {
    throw refuseConfig("/domain/os/loader", "UEFI requires ACPI on this architecture");
  }
  checkDisplayBackends(definition);
  definition.devices.videos.forEach((video, index) => {
    if (video.model?.type === "ramfb" && video.address !== undefined) {
      throw refuseConfig(
        `/domain/devices/video[${index + 1}]/address`,
        "address not supported for video type ramfb",
      );
    }
  });
}

/** Character device lists and their element names. */
const CHARDEV_LISTS = [
  ["serials", "serial"],
  ["parallels", "parallel"],
  ["consoles", "console"],
  ["channels", "channel"],
  ["redirdevs", "redirdev"],
] as const;

/** A spicevmc backend needs a SPICE display, a dbus backend a D-Bus one. */
function checkDisplayBackends(definition: DomainDefinition): void {
  const devices = definition.devices;
  for (const [field, element] of CHARDEV_LISTS) {
    devices[field].forEach((chardev, index) => {
      const display = chardev.type === "spicevmc"
        ? "spice"
        : chardev.type === "dbus"
        ? "dbus"
        : undefined;
      if (display === undefined) return;
      if (devices.graphics.some((graphics) => graphics.type === display)) return;
      throw refuseConfig(
        `/domain/devices/${element}[${index + 1}]/@type`,
        `a ${chardev.type} character device needs a <graphics type='${display}'> display`,
      );
    });
  }
}

/** libvirt CPU feature names that QEMU spells differently. */
const QEMU_FEATURE_NAMES: Record<string, string> = { pclmuldq: "pclmulqdq", cmt: "cqm" };

/**
 * The custom CPU model and every CPU feature must be names the emulator still has (QEMU drops
 * models and flags over time, and then refuses to start).
 *
 * @param definition The definition.
 * @param names What the emulator's `-cpu help` lists.
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) naming the model or feature.
 *
 * @example
 * ```ts
 * import { checkCpuNames } from "./definition_rules.ts";
 * import { parseDomainXml } from "../../src/xml/mod.ts";
 * const definition = parseDomainXml(
 *   "<domain type='qemu'><name>vm</name><memory>65536</memory><os><type>hvm</type></os>" +
 *     "<cpu><model>qemu64</model><feature policy='require' name='osxsave'/></cpu></domain>",
 * );
 * const names = { models: new Set(["qemu64"]), flags: new Set(["sse4.2"]) };
 * try {
 *   checkCpuNames(definition, names);
 * } catch (error) {
 *   console.log((error as { where: string }).where); // "/domain/cpu/feature[1]/@name"
 * }
 * ```
 */
export function checkCpuNames(definition: DomainDefinition, names: CpuNames): void {
  const cpu = definition.cpu;
  if (cpu === undefined) return;
  if (
    (cpu.mode ?? "custom") === "custom" && cpu.model !== undefined && !names.models.has(cpu.model)
  ) {
    throw refuseConfig(
      "/domain/cpu/model",
      `CPU model '${cpu.model}' is not supported by this QEMU binary`,
    );
  }
  cpu.features.forEach((feature, index) => {
    const name = (QEMU_FEATURE_NAMES[feature.name] ?? feature.name).replaceAll("_", "-");
    // QEMU refuses a property it does not have, whether it is to be set on or off.
    if (names.flags.has(name)) return;
    throw refuseConfig(
      `/domain/cpu/feature[${index + 1}]/@name`,
      `CPU feature '${feature.name}' is not supported by this QEMU binary`,
    );
  });
}

/** libvirt aligns memory sizes to 1 MiB for QEMU; sizes are in KiB. */
const MEMORY_ALIGNMENT_KIB = 1024;

/** The largest memory size libvirt accepts on a 64-bit host, in KiB (2^63 bytes, in KiB). */
const MEMORY_MAX_KIB = 2 ** 53 - 1;

/** Memory sizes must still fit once rounded up to QEMU's alignment, as libvirt checks. */
function checkAlignedMemory(definition: DomainDefinition): void {
  const align = (kib: number) => Math.ceil(kib / MEMORY_ALIGNMENT_KIB) * MEMORY_ALIGNMENT_KIB;
  const cells = definition.cpu?.numa?.cells ?? [];
  cells.forEach((cell, index) => {
    if (align(cell.memoryKiB) > MEMORY_MAX_KIB) {
      throw refuseConfig(
        `/domain/cpu/numa/cell[${index + 1}]/@memory`,
        `memory size of NUMA node '${index}' overflowed after alignment`,
      );
    }
  });
  const initial = cells.length > 0
    ? cells.reduce((sum, cell) => sum + align(cell.memoryKiB), 0)
    : align(definition.memoryKiB);
  if (initial > MEMORY_MAX_KIB) {
    throw refuseConfig("/domain/memory", "initial memory size overflowed after alignment");
  }
  if (definition.maxMemory !== undefined && align(definition.maxMemory.kib) > MEMORY_MAX_KIB) {
    throw refuseConfig("/domain/maxMemory", "maximum memory size overflowed after alignment");
  }
}
