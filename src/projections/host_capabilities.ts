/**
 * The capabilities and domain capabilities documents of a host, shared by the HTTP API and
 * libvirt's protocol: the host part from the kernel's view of the machine (`/proc/cpuinfo`,
 * `/sys/devices/system`), the guests and domain capabilities from the drivers that run them.
 *
 * @module
 */

import type { Host } from "../../actors/host.ts";
import type { NodeInfo } from "../../actors/driver_protocol.ts";
import type {
  DomainCapabilitiesQuery,
  GuestCapability,
  HostCapability,
  HostCell,
} from "../model/capabilities.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { capabilitiesXml, domainCapabilitiesXml } from "../xml/capabilities_xml.ts";
import { parseCpuSet } from "../model/cpu_set.ts";

/** Largest kernel file read for host facts, in bytes. */
const HOST_FILE_MAX_BYTES = 4 * 1024 * 1024;

/** The security model evirt reports (no security driver), as the node security model says. */
const SECMODELS = [{ model: "none", doi: "0" }] as const;

/** The host's architecture, libvirt's name. */
function hostArch(): string {
  return Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";
}

/**
 * The capabilities document (`virConnectGetCapabilities`): the real machine, unless every driver
 * simulates its host (the test hypervisor, which describes libvirt's made-up one).
 *
 * @param host The host whose drivers list their guests.
 * @param node The node facts (`nodeinfo`).
 */
export async function capabilitiesDocument(
  host: Pick<Host, "drivers">,
  node: NodeInfo,
): Promise<string> {
  const guests: GuestCapability[] = [];
  for (const driver of host.drivers) {
    if (driver.guests !== undefined) {
      guests.push(...await driver.guests());
    } else {
      guests.push({
        osType: "hvm",
        arch: hostArch(),
        wordsize: 64,
        machines: [],
        domainTypes: [...driver.domainTypes],
      });
    }
  }
  const simulated = host.drivers.length > 0 &&
    host.drivers.every((driver) => driver.hostCapability !== undefined);
  const described = simulated ? host.drivers[0].hostCapability!() : hostCapability(node);
  return capabilitiesXml(described, mergeGuests(guests));
}

/**
 * One `<guest>` per OS type and architecture, as libvirt writes them: the domain types of every
 * driver that runs it, the emulator and machines of the first that names them.
 */
function mergeGuests(guests: readonly GuestCapability[]): GuestCapability[] {
  const merged = new Map<string, GuestCapability>();
  for (const guest of guests) {
    const key = `${guest.osType}\0${guest.arch}`;
    const known = merged.get(key);
    if (known === undefined) {
      merged.set(key, guest);
      continue;
    }
    const first = known.emulator === undefined ? guest : known;
    merged.set(key, {
      ...first,
      domainTypes: [...new Set([...known.domainTypes, ...guest.domainTypes])],
    });
  }
  return [...merged.values()];
}

/**
 * The domain capabilities document (`virConnectGetDomainCapabilities`) from the driver of the
 * domain type asked (default: the first driver that answers domain capabilities).
 *
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) for a domain type no driver runs; NO_SUPPORT (3)
 *   when its driver has no domain capabilities (the test hypervisor, as libvirt's).
 */
export async function domainCapabilitiesDocument(
  host: Pick<Host, "drivers">,
  query: DomainCapabilitiesQuery,
): Promise<string> {
  const driver = query.virttype === undefined
    ? host.drivers.find((candidate) => candidate.domainCapabilities !== undefined) ??
      host.drivers[0]
    : host.drivers.find((candidate) => candidate.domainTypes.includes(query.virttype!));
  if (driver === undefined) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `virttype '${query.virttype}' is not supported`,
      { where: "virttype" },
    );
  }
  if (driver.domainCapabilities === undefined) {
    throw new VirtError(ErrorCode.NO_SUPPORT, "virConnectGetDomainCapabilities");
  }
  return domainCapabilitiesXml(await driver.domainCapabilities(query));
}

/** The real machine: its CPU's vendor and signature, page sizes and NUMA cells. */
function hostCapability(node: NodeInfo): HostCapability {
  const cpuinfo = readText("/proc/cpuinfo") ?? "";
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(cpuinfo)?.[1];
  const vendorId = field("vendor_id");
  const vendor = vendorId === "GenuineIntel"
    ? "Intel"
    : vendorId === "AuthenticAMD"
    ? "AMD"
    : vendorId;
  const [family, model, stepping] = [field("cpu family"), field("model"), field("stepping")]
    .map((value) => value === undefined ? undefined : Number(value));
  const machineId = readText("/etc/machine-id")?.trim();
  return {
    ...(machineId !== undefined && /^[0-9a-f]{32}$/.test(machineId)
      ? {
        uuid: `${machineId.slice(0, 8)}-${machineId.slice(8, 12)}-${machineId.slice(12, 16)}-${
          machineId.slice(16, 20)
        }-${machineId.slice(20)}`,
      }
      : {}),
    arch: hostArch(),
    ...(vendor === undefined ? {} : { vendor }),
    ...(family !== undefined && model !== undefined && stepping !== undefined &&
        [family, model, stepping].every(Number.isInteger)
      ? { signature: { family, model, stepping } }
      : {}),
    topology: { sockets: node.sockets, dies: 1, cores: node.cores, threads: node.threads },
    pageSizesKiB: [4, ...hugePageSizes()],
    iommu: hasIommu(),
    cells: numaCells(node),
    secmodels: SECMODELS,
  };
}

/** Whether the kernel has IOMMU groups (what libvirt's `<iommu support>` says). */
function hasIommu(): boolean {
  try {
    return [...Deno.readDirSync("/sys/kernel/iommu_groups")].length > 0;
  } catch {
    return false;
  }
}

function hugePageSizes(): number[] {
  try {
    return [...Deno.readDirSync("/sys/kernel/mm/hugepages")]
      .map((entry) => /^hugepages-(\d+)kB$/.exec(entry.name)?.[1])
      .filter((size): size is string => size !== undefined)
      .map(Number)
      .sort((left, right) => left - right);
  } catch {
    return [];
  }
}

/** The NUMA cells of `/sys/devices/system/node`, or one cell of every CPU when it is absent. */
function numaCells(node: NodeInfo): HostCell[] {
  const base = "/sys/devices/system/node";
  let ids: number[];
  try {
    ids = [...Deno.readDirSync(base)]
      .map((entry) => /^node(\d+)$/.exec(entry.name)?.[1])
      .filter((id): id is string => id !== undefined)
      .map(Number)
      .sort((left, right) => left - right);
  } catch {
    ids = [];
  }
  if (ids.length === 0) {
    const cpus = Array.from({ length: node.cpus }, (_, id) => id);
    return [{ id: 0, memoryKiB: node.memoryKiB, cpus: cpus.map(cpuTopology) }];
  }
  return ids.map((id) => {
    const meminfo = readText(`${base}/node${id}/meminfo`) ?? "";
    const memory = /MemTotal:\s*(\d+)\s*kB/.exec(meminfo)?.[1];
    const list = readText(`${base}/node${id}/cpulist`)?.trim() ?? "";
    let cpus: number[];
    try {
      cpus = list === "" ? [] : parseCpuSet(list);
    } catch {
      cpus = [];
    }
    const memoryKiB = memory === undefined ? 0 : Number(memory);
    const distances = (readText(`${base}/node${id}/distance`) ?? "").trim().split(/\s+/)
      .filter((value) => value !== "").map((value, index) => ({
        id: ids[index],
        value: Number(value),
      }))
      .filter((distance) => distance.id !== undefined && Number.isInteger(distance.value));
    return {
      id,
      memoryKiB,
      pages: [
        { sizeKiB: 4, count: Math.floor(memoryKiB / 4) },
        ...hugePageSizes().map((size) => ({
          sizeKiB: size,
          count: Number(
            readText(`${base}/node${id}/hugepages/hugepages-${size}kB/nr_hugepages`)?.trim() ?? 0,
          ) || 0,
        })),
      ],
      ...(distances.length === 0 ? {} : { distances }),
      cpus: cpus.map(cpuTopology),
    };
  });
}

function cpuTopology(id: number): HostCell["cpus"][number] {
  const dir = `/sys/devices/system/cpu/cpu${id}/topology`;
  const number = (name: string) => {
    const value = Number(readText(`${dir}/${name}`)?.trim());
    return Number.isInteger(value) ? value : 0;
  };
  return {
    id,
    socketId: number("physical_package_id"),
    dieId: number("die_id"),
    coreId: number("core_id"),
    siblings: readText(`${dir}/thread_siblings_list`)?.trim() || String(id),
  };
}

function readText(path: string): string | undefined {
  try {
    const bytes = Deno.readFileSync(path);
    return new TextDecoder().decode(bytes.subarray(0, HOST_FILE_MAX_BYTES));
  } catch {
    return undefined;
  }
}
