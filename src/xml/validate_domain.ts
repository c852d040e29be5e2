/**
 * `validateDomain`: libvirt's semantic, define-time checks of a {@linkcode DomainDefinition}.
 *
 * The checks (each failure is a {@linkcode VirtError} with libvirt's code, a message in its
 * wording and the element path in `where`):
 *
 * - counts (devices per kind, I/O threads, NUMA cells) within src/model/device_limits.ts,
 *   first (67);
 * - identity: the name as libvirt's QEMU driver accepts it (validate_name.ts: 21, 27, 35,
 *   38); the UUID is well-formed (27) and is the sysinfo system uuid, if one is given (35);
 * - memory: given directly or by NUMA cells; `maxMemory` not below it (27);
 * - vCPUs: `current` not above the count (27);
 * - NUMA: one cell per id from 0 in order, CPU ids within the vCPU count; `<numatune>`
 *   memnodes refer to existing cells, once each, with a mode that fits (27);
 * - huge pages: the `<page>` node sets do not overlap, at most one page has none, and each
 *   names existing guest nodes (a lone page for node 0 of a guest without nodes is its only
 *   page) (35);
 * - `<cputune>`: cache and memory allocations neither collide nor overlap between tunes,
 *   monitors stay inside their tune, schedulers name each vCPU once (27);
 * - disks: unique targets; device names fit the device; drive addresses unique (27, 67);
 * - addresses: no PCI, drive or USB address used twice; USB buses and hubs exist; PCI
 *   controllers plug into controllers that accept them; no two controllers of a type share an
 *   index; the PCI root model fits the machine (27);
 * - boot: per-device boot order unique and not mixed with `<os><boot>`; menu timeout and
 *   reboot timeout in range (27, 67);
 * - character devices (serial, parallel, console, channel, smartcard, redirdev, rng egd): the
 *   source parts their type needs, one source (two for udp), reconnect only when connecting
 *   and with a timeout (27);
 * - graphics: the `listen`/`socket` attribute matches the first `<listen>`; network listens
 *   name a network (27);
 * - interfaces: MAC addresses are unicast and well-formed (27); virtio queue sizes are powers
 *   of two (67);
 * - other devices: one primary video, `none` video alone, no duplicate host device, mdev
 *   address types, shmem size (27, 67);
 * - with `live`: device aliases are unique (runtime data libvirt ignores in inactive XML).
 *
 * @module
 */

import { checkPerfEvents } from "../model/perf_events.ts";
import type { DeviceAddress, DomainDefinition, DomainDevices } from "../model/domain.ts";
import { type CpuSetBudget, cpuSetBudget } from "../model/cpu_set.ts";
import { ErrorCode } from "../model/errors.ts";
import { invalid, parseCpuSetAt } from "./validation_failure.ts";
import { validateChardevs } from "./validate_chardevs.ts";
import { validateAddresses } from "./validate_addresses.ts";
import { validateTunes } from "./validate_tunes.ts";
import { validateDomainName } from "./validate_name.ts";
import { checkCountLimits } from "../model/device_limits.ts";

/** Options of {@linkcode validateDomain}. */
export interface ValidateDomainOptions {
  /** Check as a running domain's XML, runtime data included. Default false. */
  live?: boolean;
}

/** Smallest shmem region libvirt accepts, in KiB. */
const SHMEM_MIN_KIB = 1024;
const BOOT_MENU_TIMEOUT_MAX_MS = 65535;
const UUID_PATTERN =
  /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;
const MAC_PATTERN = /^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/;

/**
 * Checks `def` as libvirt does when it defines a domain (see the module notes).
 *
 * @param def The definition, usually after `applyDomainDefaults`.
 * @param options `live` to check a running domain's XML.
 * @throws {VirtError} Code 27 (XML error), 67 (unsupported configuration), 8 (invalid
 *   argument), or for the name 21, 35 or 38, with the element path in `where`.
 *
 * @example Refusing a name with a slash
 * ```ts
 * import { parseDomainXml } from "./parse_domain.ts";
 * import { validateDomain } from "./validate_domain.ts";
 * const def = parseDomainXml("<domain type='qemu'><name>a/b</name><memory>1024</memory><os><type>hvm</type></os></domain>");
 * try {
 *   validateDomain(def);
 * } catch (error) {
 *   console.log((error as Error).message); // "name a/b cannot contain '/'"
 * }
 * ```
 */
export function validateDomain(def: DomainDefinition, options: ValidateDomainOptions = {}): void {
  // Counts first: they bound the work of every check after them.
  checkCountLimits(def);
  validateIdentity(def);
  validateResources(def);
  // One allowance of set ids for the whole definition bounds the work a hostile one can ask for.
  const budget = cpuSetBudget();
  validateNuma(def, budget);
  validateHugepages(def, budget);
  validateBoot(def);
  if (def.perf !== undefined) checkPerfEvents(def.perf);
  if (def.cputune !== undefined) validateTunes(def.cputune, budget);
  validateDisks(def.devices);
  validateAddresses(def);
  validateChardevs(def.devices);
  validateGraphics(def.devices);
  validateOtherDevices(def.devices);
  if (options.live === true) validateAliases(def.devices);
}

/** The vCPU count libvirt uses: `<vcpu>`, or 1 when unspecified. */
export function vcpuCount(def: DomainDefinition): number {
  return def.vcpus === 0 ? 1 : def.vcpus;
}

function validateIdentity(def: DomainDefinition): void {
  validateDomainName(def.name);
  if (def.uuid !== undefined && !UUID_PATTERN.test(def.uuid)) {
    throw invalid(ErrorCode.XML_ERROR, `malformed uuid element '${def.uuid}'`, "/domain/uuid");
  }
  validateSysinfoUuid(def);
}

/** The uuid entry of `<sysinfo type='smbios'><system>` must be the domain's uuid. */
function validateSysinfoUuid(def: DomainDefinition): void {
  if (def.uuid === undefined) return;
  const normal = (uuid: string) => uuid.replaceAll("-", "").toLowerCase();
  for (const { element } of def.extra?.elements ?? []) {
    if (element.name !== "sysinfo" || element.attributes?.type !== "smbios") continue;
    for (const system of element.children ?? []) {
      if (typeof system === "string" || system.name !== "system") continue;
      for (const entry of system.children ?? []) {
        if (typeof entry === "string" || entry.attributes?.name !== "uuid") continue;
        const text = (entry.children ?? []).filter((part) => typeof part === "string").join("")
          .trim();
        if (normal(text) !== normal(def.uuid)) {
          throw invalid(
            ErrorCode.XML_DETAIL,
            "UUID mismatch between <uuid> and <sysinfo>",
            "/domain/sysinfo/system/entry",
          );
        }
      }
    }
  }
}

function validateResources(def: DomainDefinition): void {
  const cells = def.cpu?.numa?.cells ?? [];
  const memoryKiB = cells.length > 0
    ? cells.reduce((sum, cell) => sum + cell.memoryKiB, 0)
    : def.memoryKiB;
  if (memoryKiB === 0) {
    throw invalid(
      ErrorCode.XML_ERROR,
      "Memory size must be specified via <memory> or in the <numa> configuration",
      "/domain/memory",
    );
  }
  if (def.maxMemory !== undefined && def.maxMemory.kib < memoryKiB) {
    throw invalid(
      ErrorCode.XML_ERROR,
      "maximum memory size must be equal or greater than the actual memory size",
      "/domain/maxMemory",
    );
  }
  const vcpus = vcpuCount(def);
  const current = def.vcpu?.current;
  if (current !== undefined && (current > vcpus || current === 0)) {
    throw invalid(
      ErrorCode.XML_ERROR,
      `maxvcpus must not be less than current vcpus (${vcpus} < ${current})`,
      "/domain/vcpu",
    );
  }
}

function validateNuma(def: DomainDefinition, budget: CpuSetBudget): void {
  const cells = def.cpu?.numa?.cells ?? [];
  const vcpus = vcpuCount(def);
  // Cells may come in any order, but their ids must be exactly 0 … n-1.
  const ids = new Set(cells.map((cell, index) => cell.id ?? index));
  cells.forEach((cell, index) => {
    const where = `/domain/cpu/numa/cell[${index + 1}]`;
    if (ids.size !== cells.length || (cell.id ?? index) >= cells.length) {
      throw invalid(
        ErrorCode.XML_ERROR,
        "Exactly one 'cell' element per guest NUMA cell allowed, non-contiguous ranges or ranges not starting from 0 are not allowed",
        where,
      );
    }
    if (
      cell.cpus !== undefined && parseCpuSetAt(cell.cpus, where, budget).some((id) => id >= vcpus)
    ) {
      throw invalid(
        ErrorCode.XML_ERROR,
        "Number of CPUs in <numa> exceeds the <vcpu> count",
        where,
      );
    }
  });
  const numatune = def.numatune;
  if (numatune === undefined) return;
  const seen = new Set<number>();
  numatune.memnodes.forEach((memnode, index) => {
    const where = `/domain/numatune/memnode[${index + 1}]`;
    if (cells.length === 0) {
      throw invalid(
        ErrorCode.XML_ERROR,
        "Element 'memnode' is invalid without any guest NUMA cells",
        where,
      );
    }
    if (memnode.cellid >= cells.length) {
      throw invalid(
        ErrorCode.XML_ERROR,
        `Invalid cellid attribute in memnode element: ${memnode.cellid}. Maximum is ${
          cells.length - 1
        }`,
        where,
      );
    }
    if (seen.has(memnode.cellid)) {
      throw invalid(
        ErrorCode.XML_ERROR,
        `Multiple memnode elements with cellid ${memnode.cellid}`,
        where,
      );
    }
    seen.add(memnode.cellid);
    const memoryRestrictive = numatune.memory?.mode === "restrictive";
    const memnodeRestrictive = memnode.mode === "restrictive";
    if (memoryRestrictive && !memnodeRestrictive) {
      throw invalid(
        ErrorCode.XML_ERROR,
        "'restrictive' mode is required in memnode element when mode is 'restrictive' in memory element",
        where,
      );
    }
    if (memnodeRestrictive && !memoryRestrictive) {
      throw invalid(
        ErrorCode.XML_ERROR,
        "'restrictive' mode is required in memory element when mode is 'restrictive' in memnode element",
        where,
      );
    }
  });
}

/** libvirt's memtune check of `<memoryBacking><hugepages><page nodeset>`. */
function validateHugepages(def: DomainDefinition, budget: CpuSetBudget): void {
  const backing = (def.extra?.elements ?? []).find((placed) =>
    placed.element.name === "memoryBacking"
  );
  const hugepages = (backing?.element.children ?? []).find((child) =>
    typeof child !== "string" && child.name === "hugepages"
  );
  if (hugepages === undefined || typeof hugepages === "string") return;
  const cells = (def.cpu?.numa?.cells ?? []).length;
  const pages = (hugepages.children ?? []).filter((child) =>
    typeof child !== "string" && child.name === "page"
  ).map((child, index) => {
    const attributes = typeof child === "string" ? {} : child.attributes ?? {};
    const where = `/domain/memoryBacking/hugepages/page[${index + 1}]`;
    const nodeset = attributes.nodeset;
    return {
      size: attributes.size ?? "",
      where,
      nodes: nodeset === undefined
        ? undefined
        : parseCpuSetAt(nodeset, `${where}/@nodeset`, budget),
    };
  });
  // The parser drops the node set of a lone page for node 0 when the guest has no nodes.
  if (cells === 0 && pages.length === 1 && pages[0].nodes?.join() === "0") {
    pages[0].nodes = undefined;
  }
  pages.forEach((page, index) => {
    for (const earlier of pages.slice(0, index)) {
      if (page.nodes !== undefined && earlier.nodes !== undefined) {
        if (page.nodes.some((node) => earlier.nodes!.includes(node))) {
          throw invalid(
            ErrorCode.XML_DETAIL,
            `nodeset attribute of hugepages of sizes ${page.size} and ${earlier.size} intersect`,
            page.where,
          );
        }
      } else if (page.nodes === undefined && earlier.nodes === undefined) {
        throw invalid(
          ErrorCode.XML_DETAIL,
          `two master hugepages detected: ${page.size} and ${earlier.size}`,
          page.where,
        );
      }
    }
    const outside = page.nodes?.find((node) => node >= cells);
    if (outside !== undefined) {
      throw invalid(ErrorCode.XML_DETAIL, `hugepages: node ${outside} not found`, page.where);
    }
  });
}

function validateBoot(def: DomainDefinition): void {
  const devices = def.devices;
  const orders = new Map<number, string>();
  const bootable: [string, { boot?: { order: number } }[]][] = [
    ["disk", devices.disks],
    ["interface", devices.interfaces],
    ["hostdev", devices.hostdevs],
    ["redirdev", devices.redirdevs],
  ];
  for (const [name, list] of bootable) {
    list.forEach((device, index) => {
      const order = device.boot?.order;
      if (order === undefined) return;
      const where = `/domain/devices/${name}[${index + 1}]/boot`;
      if (def.os.boot.length > 0) {
        throw invalid(
          ErrorCode.CONFIG_UNSUPPORTED,
          "per-device boot elements cannot be used together with os/boot elements",
          where,
        );
      }
      if (order === 0 || orders.has(order)) {
        throw invalid(
          ErrorCode.XML_ERROR,
          `boot order '${order}' used for more than one device`,
          where,
        );
      }
      orders.set(order, where);
    });
  }
  const timeout = def.os.bootmenu?.timeout;
  if (timeout !== undefined && timeout > BOOT_MENU_TIMEOUT_MAX_MS) {
    throw invalid(
      ErrorCode.CONFIG_UNSUPPORTED,
      "invalid value for boot menu timeout, must be in range [0,65535]",
      "/domain/os/bootmenu",
    );
  }
  const reboot = def.os.bios?.rebootTimeout;
  if (reboot !== undefined && (reboot < -1 || reboot > BOOT_MENU_TIMEOUT_MAX_MS)) {
    throw invalid(
      ErrorCode.CONFIG_UNSUPPORTED,
      "invalid value for rebootTimeout, must be in range [-1,65535]",
      "/domain/os/bios",
    );
  }
}

function validateDisks(devices: DomainDevices): void {
  const targets = new Map<string, number>();
  devices.disks.forEach((disk, index) => {
    const where = `/domain/devices/disk[${index + 1}]/target`;
    const dev = disk.target.dev;
    const device = disk.device ?? "disk";
    if ((device === "disk" || device === "lun") && !/^(hd|sd|vd|xvd|ubd)/.test(dev)) {
      throw invalid(ErrorCode.XML_ERROR, `Invalid harddisk device name: ${dev}`, where);
    }
    if (device === "floppy" && !dev.startsWith("fd")) {
      throw invalid(ErrorCode.XML_ERROR, `Invalid floppy device name: ${dev}`, where);
    }
    const previous = targets.get(dev);
    if (previous !== undefined) {
      throw invalid(
        ErrorCode.XML_ERROR,
        `target '${dev}' duplicated for disk sources '${diskSourceName(devices, previous)}' and '${
          diskSourceName(devices, index)
        }'`,
        where,
      );
    }
    targets.set(dev, index);
  });
}

function diskSourceName(devices: DomainDevices, index: number): string {
  const source = devices.disks[index].source;
  return source?.file ?? source?.dev ?? source?.dir ?? source?.name ?? source?.volume ?? "";
}

function validateGraphics(devices: DomainDevices): void {
  devices.graphics.forEach((graphics, index) => {
    const where = `/domain/devices/graphics[${index + 1}]`;
    const first = graphics.listens[0];
    if (
      graphics.listen !== undefined && first !== undefined && first.type === "address" &&
      first.address !== undefined &&
      first.address !== graphics.listen
    ) {
      throw invalid(
        ErrorCode.XML_ERROR,
        `graphics 'listen' attribute '${graphics.listen}' must match 'address' attribute of first listen element (found '${first.address}')`,
        where,
      );
    }
    if (
      graphics.socket !== undefined && first?.type === "socket" && first.socket !== undefined &&
      first.socket !== graphics.socket
    ) {
      throw invalid(
        ErrorCode.XML_ERROR,
        `graphics 'socket' attribute '${graphics.socket}' must match 'socket' attribute of first listen element (found '${first.socket}')`,
        where,
      );
    }
    graphics.listens.forEach((listen, position) => {
      if (listen.type === "network" && listen.network === undefined) {
        throw invalid(
          ErrorCode.XML_ERROR,
          "'network' attribute is required for listen type 'network'",
          `${where}/listen[${position + 1}]`,
        );
      }
    });
  });
}

function validateOtherDevices(devices: DomainDevices): void {
  devices.interfaces.forEach((net, index) => {
    if (net.model?.startsWith("virtio") === true) {
      for (const name of ["rx_queue_size", "tx_queue_size"]) {
        const size = Number(net.driver?.[name] ?? "0");
        if (size !== 0 && (!Number.isSafeInteger(size) || size < 0 || (size & (size - 1)) !== 0)) {
          throw invalid(
            ErrorCode.CONFIG_UNSUPPORTED,
            `${name} has to be a power of two`,
            `/domain/devices/interface[${index + 1}]/driver/@${name}`,
          );
        }
      }
    }
    if (net.mac === undefined) return;
    const where = `/domain/devices/interface[${index + 1}]/mac`;
    if (!MAC_PATTERN.test(net.mac)) {
      throw invalid(ErrorCode.XML_ERROR, `unable to parse mac address '${net.mac}'`, where);
    }
    if ((parseInt(net.mac.split(":")[0], 16) & 1) === 1) {
      throw invalid(
        ErrorCode.XML_ERROR,
        `expected unicast mac address, found multicast '${net.mac}'`,
        where,
      );
    }
  });
  const primaries = devices.videos.filter((video) => video.model?.primary === "yes").length;
  if (primaries > 1) {
    throw invalid(
      ErrorCode.CONFIG_UNSUPPORTED,
      "Only one primary video device is supported",
      "/domain/devices/video",
    );
  }
  if (devices.videos.length > 1 && devices.videos.some((video) => video.model?.type === "none")) {
    throw invalid(
      ErrorCode.CONFIG_UNSUPPORTED,
      "a 'none' video type must be the only video device defined for the domain",
      "/domain/devices/video",
    );
  }
  const hostdevKeys = new Set<string>();
  devices.hostdevs.forEach((hostdev, index) => {
    const where = `/domain/devices/hostdev[${index + 1}]`;
    if (
      hostdev.type === "mdev" && hostdev.address !== undefined &&
      !mdevAddressFits(hostdev.model, hostdev.address)
    ) {
      throw invalid(
        ErrorCode.XML_ERROR,
        `Unsupported address type '${hostdev.address.type}' with mediated device model '${hostdev.model}'`,
        `${where}/address`,
      );
    }
    const key = hostdevKey(hostdev);
    if (key === undefined) return;
    if (hostdevKeys.has(key)) {
      throw invalid(
        ErrorCode.XML_ERROR,
        "Hostdev already exists in the domain configuration",
        where,
      );
    }
    hostdevKeys.add(key);
  });
  devices.shmems.forEach((shmem, index) => {
    const size = shmem.sizeKiB;
    const where = `/domain/devices/shmem[${index + 1}]/size`;
    if (size === undefined) return;
    if (size < SHMEM_MIN_KIB) {
      throw invalid(ErrorCode.XML_ERROR, "shmem size must be at least 1 MiB (1024 KiB)", where);
    }
    if ((size & (size - 1)) !== 0) {
      throw invalid(ErrorCode.XML_ERROR, "shmem size must be a power of two", where);
    }
  });
}

function mdevAddressFits(model: string | undefined, address: DeviceAddress): boolean {
  const wanted: Record<string, string> = {
    "vfio-pci": "pci",
    "vfio-ccw": "ccw",
    "vfio-ap": "none",
  };
  const type = model === undefined ? undefined : wanted[model];
  return type === undefined || address.type === type;
}

function hostdevKey(hostdev: DomainDevices["hostdevs"][number]): string | undefined {
  const address = hostdev.source?.address;
  if (address === undefined && hostdev.source?.vendor === undefined) return undefined;
  const parts = Object.entries(address ?? {}).map(([name, value]) =>
    `${name}=${normaliseNumber(value)}`
  ).sort();
  return `${hostdev.mode}/${hostdev.type}/${hostdev.source?.vendor}/${hostdev.source?.product}/${
    parts.join(",")
  }`;
}

function normaliseNumber(value: string): string {
  return /^(0x[0-9a-f]+|[0-9]+)$/i.test(value) ? String(Number(value)) : value;
}

function validateAliases(devices: DomainDevices): void {
  const seen = new Set<string>();
  for (const value of Object.values(devices)) {
    for (const device of Array.isArray(value) ? value : [value]) {
      const alias = (device as { alias?: string } | undefined)?.alias;
      if (alias === undefined) continue;
      if (seen.has(alias)) {
        throw invalid(
          ErrorCode.XML_ERROR,
          `non unique alias detected: ${alias}`,
          "/domain/devices",
        );
      }
      seen.add(alias);
    }
  }
}
