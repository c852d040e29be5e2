/**
 * What libvirt 9.0's LXC driver does to a `<domain type='lxc'>` definition at define, after the
 * driver-independent defaults (`applyDomainDefaults`):
 *
 * {@linkcode completeLxcDefinition} (its post-parse, and the XML parser's LXC-specific
 * defaults):
 * - `<os><type arch>`: the host's architecture when absent (libvirt fills it from the
 *   capabilities while reading the XML; `domxml-from-native` leaves it out);
 * - `<emulator>`: {@linkcode LXC_EMULATOR} when absent;
 * - `<console>`: target type `lxc`, ports numbered 0, 1, … in document order;
 * - `<filesystem>`: type `mount` and access mode `passthrough` when absent;
 * - `<features>`: in libvirt's feature order; `<capabilities>` toggles in libvirt's capability
 *   order, a toggle without `state` is `on`, and `<capabilities>` with the default policy and
 *   no toggle is dropped;
 * - `<idmap>`: the ranges of each map in order of `start`.
 *
 * {@linkcode checkLxcDefinition} (its refusals, with libvirt's codes and wording):
 * - the os type is `exe` and the architecture one the host runs containers of (x86_64, i686):
 *   code 8;
 * - `<init>` is given; each `<initenv>` has a name and a value: code 27;
 * - each `<filesystem>` has a known type and access mode (27), its source (19; a RAM
 *   filesystem its `usage`, 27) and its target (20);
 * - `<capabilities>`: a known policy and states `on`/`off` (27), known capability names (67);
 * - `<idmap>`: both uid and gid maps, each mapping the container's root (67);
 * - `<graphics>` needs a `<video>` (an LXC domain has no default video model): code 1.
 *
 * @module
 */

import type { DomainDefinition, Filesystem, IdMapRange } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { XmlExtra } from "../../src/model/xml_extra.ts";

/** The emulator libvirt's LXC driver names (its controller binary, in libvirt's default libexec directory). */
export const LXC_EMULATOR = "/usr/libexec/libvirt_lxc";

/** Architectures a container on an x86_64 host may have (libvirt's LXC capabilities). */
export const LXC_ARCHES: readonly string[] = ["x86_64", "i686"];

/** libvirt's process capabilities (`virDomainProcessCapsFeature`), in its order. */
export const PROCESS_CAPABILITIES: readonly string[] = [
  "audit_control",
  "audit_write",
  "block_suspend",
  "chown",
  "dac_override",
  "dac_read_search",
  "fowner",
  "fsetid",
  "ipc_lock",
  "ipc_owner",
  "kill",
  "lease",
  "linux_immutable",
  "mac_admin",
  "mac_override",
  "mknod",
  "net_admin",
  "net_bind_service",
  "net_broadcast",
  "net_raw",
  "setgid",
  "setfcap",
  "setpcap",
  "setuid",
  "sys_admin",
  "sys_boot",
  "sys_chroot",
  "sys_module",
  "sys_nice",
  "sys_pacct",
  "sys_ptrace",
  "sys_rawio",
  "sys_resource",
  "sys_time",
  "sys_tty_config",
  "syslog",
  "wake_alarm",
];

/** libvirt's domain features (`virDomainFeature`), in its order. */
const FEATURE_ORDER: readonly string[] = [
  "acpi",
  "apic",
  "pae",
  "hap",
  "viridian",
  "privnet",
  "hyperv",
  "kvm",
  "pvspinlock",
  "capabilities",
  "pmu",
  "vmport",
  "gic",
  "smm",
  "ioapic",
  "hpt",
  "vmcoreinfo",
  "htm",
  "nested-hv",
  "msrs",
  "ccf-assist",
  "xen",
  "cfpc",
  "sbbc",
  "ibs",
  "tcg",
  "async-teardown",
];

/** `<capabilities policy>` values. */
const CAPABILITY_POLICIES = new Set(["default", "allow", "deny"]);

/** `<filesystem type>` values (`virDomainFS`). */
const FILESYSTEM_TYPES = new Set(["mount", "block", "file", "template", "ram", "bind", "volume"]);

/** `<filesystem accessmode>` values (`virDomainFSAccessMode`). */
const ACCESS_MODES = new Set(["passthrough", "mapped", "squash"]);

/** Options of {@linkcode completeLxcDefinition}. */
export interface LxcCompletionOptions {
  /** The host's architecture, for a definition that names none. Default `x86_64`. */
  hostArch?: string;
  /** Fill in the architecture (define does; `domxml-from-native` does not). Default true. */
  fillArch?: boolean;
  /** The emulator to name when the definition has none. Default {@linkcode LXC_EMULATOR}. */
  emulator?: string;
}

/**
 * Returns `definition` with the LXC driver's defaults (see the module notes). Pure.
 *
 * @param definition A definition of type `lxc`, driver-independent defaults applied.
 * @param options The host's architecture, whether to fill it in, the emulator.
 * @returns A new definition.
 *
 * @example
 * ```ts
 * import { completeLxcDefinition } from "./lxc_definition_rules.ts";
 * import { parseDomainXml } from "../../src/xml/mod.ts";
 * const done = completeLxcDefinition(parseDomainXml(
 *   "<domain type='lxc'><name>c</name><memory>65536</memory><os><type>exe</type><init>/bin/sh</init></os>" +
 *     "<devices><console type='pty'/></devices></domain>",
 * ));
 * console.log(done.os.arch, done.devices.emulator, done.devices.consoles[0].target);
 * // x86_64 /usr/libexec/libvirt_lxc { type: "lxc", port: 0 }
 * ```
 */
export function completeLxcDefinition(
  definition: DomainDefinition,
  options: LxcCompletionOptions = {},
): DomainDefinition {
  const result = JSON.parse(JSON.stringify(definition)) as DomainDefinition;
  if (options.fillArch !== false) result.os.arch ??= options.hostArch ?? "x86_64";
  result.devices.emulator ??= options.emulator ?? LXC_EMULATOR;
  result.devices.consoles.forEach((console, index) => {
    const target = (console.target ??= {});
    target.type ??= "lxc";
    target.port = index;
  });
  for (const filesystem of result.devices.filesystems ?? []) {
    filesystem.type ??= "mount";
    filesystem.accessmode ??= "passthrough";
  }
  // libvirt formats an interface address's family, which it reads from the address itself.
  for (const nic of result.devices.interfaces) {
    for (const ip of nic.ips ?? []) ip.family ??= ip.address.includes(":") ? "ipv6" : "ipv4";
  }
  completeFeatures(result);
  if (result.idmap !== undefined) {
    result.idmap.uids.sort(byStart);
    result.idmap.gids.sort(byStart);
  }
  return result;
}

function byStart(a: IdMapRange, b: IdMapRange): number {
  return a.start - b.start;
}

function completeFeatures(definition: DomainDefinition): void {
  const features = definition.features;
  if (features === undefined) return;
  const leftovers = definition.extra?.children?.features?.children;
  if (features.capabilities !== undefined) {
    const toggles: Record<string, string> = { ...definition.featureCapabilities };
    // A toggle without attributes is kept verbatim by the parser; libvirt reads it as `on`.
    const capabilityExtra = leftovers?.capabilities;
    if (capabilityExtra?.elements !== undefined) {
      const rest = capabilityExtra.elements.filter(({ element }) => {
        const bare = element.attributes === undefined &&
          (element.children ?? []).every((child) => typeof child === "string");
        if (bare && toggles[element.name] === undefined) toggles[element.name] = "on";
        return !bare;
      });
      setElements(capabilityExtra, rest);
    }
    const ordered = orderedRecord(toggles, PROCESS_CAPABILITIES);
    const policy = features.capabilities.policy ?? "default";
    if (Object.keys(ordered).length === 0) delete definition.featureCapabilities;
    else definition.featureCapabilities = ordered;
    if (
      policy === "default" && definition.featureCapabilities === undefined &&
      !hasContent(capabilityExtra)
    ) {
      delete features.capabilities;
    } else {
      features.capabilities = { ...features.capabilities, policy };
    }
  }
  const sorted = orderedRecord(features, FEATURE_ORDER);
  if (Object.keys(sorted).length === 0 && !hasContent(definition.extra?.children?.features)) {
    delete definition.features;
  } else {
    definition.features = sorted;
  }
}

/** `record`'s entries in `order`, then those `order` does not name, as they came. */
function orderedRecord<T>(record: Record<string, T>, order: readonly string[]): Record<string, T> {
  const result: Record<string, T> = {};
  for (const name of order) if (Object.hasOwn(record, name)) result[name] = record[name];
  for (const name of Object.keys(record)) {
    if (!Object.hasOwn(result, name)) result[name] = record[name];
  }
  return result;
}

function setElements(extra: XmlExtra, elements: NonNullable<XmlExtra["elements"]>): void {
  if (elements.length === 0) delete extra.elements;
  else extra.elements = elements;
}

function hasContent(extra: XmlExtra | undefined): boolean {
  if (extra === undefined) return false;
  return extra.attributes !== undefined || extra.elements !== undefined ||
    extra.text !== undefined ||
    Object.values(extra.children ?? {}).some((child) => hasContent(child));
}

/**
 * Refuses what libvirt's LXC driver refuses at define (see the module notes).
 *
 * @param definition A completed definition of type `lxc`.
 * @throws {VirtError} libvirt's code and message, with the element in `where`.
 *
 * @example
 * ```ts
 * import { checkLxcDefinition } from "./lxc_definition_rules.ts";
 * import { parseDomainXml } from "../../src/xml/mod.ts";
 * try {
 *   checkLxcDefinition(parseDomainXml(
 *     "<domain type='lxc'><name>c</name><memory>65536</memory><os><type>exe</type></os></domain>",
 *   ));
 * } catch (error) {
 *   console.log((error as Error).message); // "init binary must be specified"
 * }
 * ```
 */
export function checkLxcDefinition(definition: DomainDefinition): void {
  checkOs(definition);
  (definition.devices.filesystems ?? []).forEach((filesystem, index) =>
    checkFilesystem(filesystem, `/domain/devices/filesystem[${index + 1}]`)
  );
  checkCapabilities(definition);
  checkIdmap(definition);
  if (definition.devices.graphics.length > 0 && definition.devices.videos.length === 0) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      "missing video model and cannot determine default",
      { where: "/domain/devices/graphics[1]" },
    );
  }
}

function checkOs(definition: DomainDefinition): void {
  const os = definition.os;
  const arch = os.arch ?? "x86_64";
  if (os.type !== "exe") {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `could not find capabilities for arch=${arch} domaintype=${definition.type} `,
      { where: "/domain/os/type" },
    );
  }
  if (!LXC_ARCHES.includes(arch)) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `could not find capabilities for ostype=exe arch=${arch} domaintype=${definition.type} `,
      { where: "/domain/os/type/@arch" },
    );
  }
  if (os.init === undefined || os.init === "") {
    throw xmlError("init binary must be specified", "/domain/os");
  }
  (os.initenvs ?? []).forEach((variable, index) => {
    const where = `/domain/os/initenv[${index + 1}]`;
    if (variable.name === "") throw xmlError("No name supplied for <initenv> element", where);
    if (variable.value === undefined) {
      throw xmlError(`No value supplied for <initenv name='${variable.name}'> element`, where);
    }
  });
}

function checkFilesystem(filesystem: Filesystem, where: string): void {
  const type = filesystem.type ?? "mount";
  if (!FILESYSTEM_TYPES.has(type)) {
    throw xmlError(invalidValue("type", "filesystem", type), `${where}/@type`);
  }
  const accessmode = filesystem.accessmode ?? "passthrough";
  if (!ACCESS_MODES.has(accessmode)) {
    throw xmlError(invalidValue("accessmode", "filesystem", accessmode), `${where}/@accessmode`);
  }
  const target = filesystem.target?.dir;
  const source = filesystemSource(filesystem, type);
  if (type === "ram") {
    if (filesystem.source?.usageKiB === undefined) {
      throw xmlError("missing 'usage' attribute for RAM filesystem", `${where}/source`);
    }
  } else if (source === undefined) {
    throw new VirtError(ErrorCode.NO_SOURCE, `device ${target ?? ""}`.trimEnd(), {
      where: `${where}/source`,
    });
  }
  if (target === undefined) {
    throw new VirtError(ErrorCode.NO_TARGET, `device ${source ?? ""}`.trimEnd(), {
      where: `${where}/target`,
    });
  }
}

/** The source attribute a filesystem of `type` takes. */
function filesystemSource(filesystem: Filesystem, type: string): string | undefined {
  const source = filesystem.source;
  switch (type) {
    case "block":
      return source?.dev;
    case "file":
      return source?.file;
    case "template":
    case "volume":
      return source?.name;
    case "ram":
      return undefined;
    default:
      return source?.dir;
  }
}

function checkCapabilities(definition: DomainDefinition): void {
  const policy = definition.features?.capabilities?.policy;
  const where = "/domain/features/capabilities";
  if (policy !== undefined && !CAPABILITY_POLICIES.has(policy)) {
    throw xmlError(invalidValue("policy", "capabilities", policy), `${where}/@policy`);
  }
  for (const [name, state] of Object.entries(definition.featureCapabilities ?? {})) {
    if (!PROCESS_CAPABILITIES.includes(name)) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `unexpected capability feature '${name}'`,
        { where: `${where}/${name}` },
      );
    }
    if (state !== "on" && state !== "off") {
      throw xmlError(invalidValue("state", name, state), `${where}/${name}/@state`);
    }
  }
  const leftover = definition.extra?.children?.features?.children?.capabilities?.elements?.[0];
  if (leftover !== undefined) {
    const name = leftover.element.name;
    throw new VirtError(
      PROCESS_CAPABILITIES.includes(name) ? ErrorCode.XML_ERROR : ErrorCode.CONFIG_UNSUPPORTED,
      PROCESS_CAPABILITIES.includes(name)
        ? `Invalid value for attribute 'state' in element '${name}'`
        : `unexpected capability feature '${name}'`,
      { where: `${where}/${name}` },
    );
  }
}

function checkIdmap(definition: DomainDefinition): void {
  const idmap = definition.idmap;
  if (idmap === undefined || (idmap.uids.length === 0 && idmap.gids.length === 0)) return;
  if (idmap.uids.length === 0 || idmap.gids.length === 0) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, "uid and gid should be mapped both", {
      where: "/domain/idmap",
    });
  }
  const uidRoot = Math.min(...idmap.uids.map((range) => range.start));
  const gidRoot = Math.min(...idmap.gids.map((range) => range.start));
  if (uidRoot !== 0 || gidRoot !== 0) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, "You must map the root user of container", {
      where: uidRoot !== 0 ? "/domain/idmap/uid[1]" : "/domain/idmap/gid[1]",
    });
  }
}

function invalidValue(attribute: string, element: string, value: string): string {
  return `Invalid value for attribute '${attribute}' in element '${element}': '${value}'.`;
}

function xmlError(message: string, where: string): VirtError {
  return new VirtError(ErrorCode.XML_ERROR, message, { where });
}
