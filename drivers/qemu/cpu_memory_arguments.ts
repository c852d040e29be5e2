/**
 * The CPU, memory and NUMA arguments of a QEMU command line: `-cpu` with its model, features
 * and cache, the `-machine` properties `<features>` set, `-m`/`-smp`, NUMA cells and their
 * distances, and the memory backends `<memoryBacking>` asks for. Split from `command_line.ts`,
 * which assembles the whole line.
 *
 * @module
 */

import type { DomainCpu, DomainDefinition, NumaCell, XmlElement } from "../../src/model/domain.ts";
import { ArgumentCollector } from "./argument_collector.ts";
import { refuseConfig, refuseExtra } from "./config_refusal.ts";
import { addHotpluggableVcpus, initialVcpuCount, vcpuStates } from "./vcpu_hotplug.ts";
import { numaCellBindings, wholeRamBinding } from "./numa_tune.ts";
import { qemuOption, type QemuOptionValue } from "./qemu_option.ts";
import {
  hugePageFolder,
  type HugepageHost,
  hugePageOf,
  type HugePages,
  hugePagesOf,
} from "./huge_pages.ts";

/** The `-machine` properties the features set; CPU properties go into `cpuProperties`. */
export function featureProperties(
  definition: DomainDefinition,
  collector: ArgumentCollector,
  cpuProperties: Record<string, QemuOptionValue>,
): Record<string, QemuOptionValue> {
  const features = definition.features ?? {};
  const machine: Record<string, QemuOptionValue> = {};
  if (features.acpi === undefined) machine.acpi = false;
  const featuresExtra = definition.extra?.children?.features;
  refuseExtra(featuresExtra, "/domain/features", { children: (name) => name === "kvm" });
  for (const [name, attributes] of Object.entries(features)) {
    const where = `/domain/features/${name}`;
    const state = attributes.state;
    const onOff = state === undefined ? undefined : state === "on";
    const others = Object.keys(attributes).filter((key) => key !== "state");
    switch (name) {
      case "acpi":
      case "pae":
        noAttributes(attributes, where);
        break;
      case "apic":
        if (others.some((key) => key !== "eoi")) noAttributes(attributes, where);
        if (attributes.eoi !== undefined) cpuProperties["kvm-pv-eoi"] = attributes.eoi === "on";
        break;
      case "pmu":
        onlyState(others, where);
        cpuProperties.pmu = onOff ?? true;
        break;
      case "smm":
        onlyState(others, where);
        machine.smm = onOff ?? true;
        break;
      case "vmport":
        onlyState(others, where);
        machine.vmport = onOff ?? true;
        break;
      case "pvspinlock":
        onlyState(others, where);
        cpuProperties["kvm-pv-unhalt"] = onOff ?? true;
        break;
      case "vmcoreinfo":
        onlyState(others, where);
        if (onOff !== false) collector.device("vmcoreinfo");
        break;
      case "kvm":
        noAttributes(attributes, where);
        addKvmFeatures(definition, cpuProperties);
        break;
      default:
        throw refuseConfig(where, `feature '${name}' is not supported by the qemu driver`);
    }
  }
  return machine;
}

/** `<features><kvm>` children and the CPU properties they set. */
const KVM_FEATURE_PROPERTIES: Record<string, string> = {
  hidden: "kvm",
  "hint-dedicated": "kvm-hint-dedicated",
  "poll-control": "kvm-poll-control",
  "pv-ipi": "kvm-pv-ipi",
};

function addKvmFeatures(
  definition: DomainDefinition,
  cpuProperties: Record<string, QemuOptionValue>,
): void {
  const leftover = definition.extra?.children?.features?.children?.kvm;
  for (const placed of leftover?.elements ?? []) {
    const element = placed.element;
    // The dirty ring is the accelerator's (kvmDirtyRingSize).
    if (element.name === "dirty-ring") continue;
    const property = KVM_FEATURE_PROPERTIES[element.name];
    if (property === undefined) {
      throw refuseConfig(
        `/domain/features/kvm/${element.name}`,
        `kvm feature '${element.name}' is not supported`,
      );
    }
    const on = element.attributes?.state === "on";
    // <hidden state='on'/> hides KVM from the guest: the cpu's kvm property turns off.
    cpuProperties[property] = element.name === "hidden" ? !on : on;
  }
}

/** libvirt's bounds of a KVM dirty ring, in entries (a power of two between them). */
const DIRTY_RING_MIN = 1024;
const DIRTY_RING_MAX = 65536;

/**
 * The KVM dirty ring size `<features><kvm><dirty-ring state='on' size>` asks for (`-accel
 * kvm,dirty-ring-size=`), or undefined; QEMU's TCG has none, so only a KVM start uses it.
 *
 * @throws {VirtError} 67 for a size that is not a power of two in libvirt's range.
 */
export function kvmDirtyRingSize(definition: DomainDefinition): number | undefined {
  const ring = definition.extra?.children?.features?.children?.kvm?.elements?.find((placed) =>
    placed.element.name === "dirty-ring"
  )?.element.attributes;
  if (ring === undefined || ring.state !== "on") return undefined;
  const size = Number(ring.size ?? "");
  if (
    !Number.isSafeInteger(size) || size < DIRTY_RING_MIN || size > DIRTY_RING_MAX ||
    (size & (size - 1)) !== 0
  ) {
    throw refuseConfig(
      "/domain/features/kvm/dirty-ring/@size",
      `dirty ring must be power of 2 and ranges [${DIRTY_RING_MIN}, ${DIRTY_RING_MAX}]`,
    );
  }
  return size;
}

function noAttributes(attributes: Record<string, string>, where: string): void {
  const name = Object.keys(attributes)[0];
  if (name !== undefined) {
    throw refuseConfig(`${where}/@${name}`, `attribute '${name}' of this feature is not supported`);
  }
}

function onlyState(others: string[], where: string): void {
  if (others.length > 0) {
    throw refuseConfig(
      `${where}/@${others[0]}`,
      `attribute '${others[0]}' of this feature is not supported`,
    );
  }
}

/** libvirt CPU feature names that QEMU spells differently. */
const CPU_FEATURE_NAMES: Record<string, string> = {
  pclmuldq: "pclmulqdq",
  "sse4.1": "sse4.1",
  "sse4.2": "sse4.2",
  cmt: "cqm",
  osxsave: "osxsave",
};

export function addCpu(
  definition: DomainDefinition,
  collector: ArgumentCollector,
  cpuProperties: Record<string, QemuOptionValue>,
  atDefine: boolean,
): string | undefined {
  const cpu: DomainCpu | undefined = definition.cpu;
  const where = "/domain/cpu";
  refuseExtra(cpu?.extra, where);
  if (cpu?.cache !== undefined) addCpuCache(cpu.cache, collector, cpuProperties);
  if (cpu?.vendor !== undefined) {
    throw refuseConfig(`${where}/vendor`, "cpu vendor constraints are not supported");
  }
  let model: string | undefined;
  switch (cpu?.mode ?? "custom") {
    case "custom":
      model = cpu?.model;
      break;
    case "host-passthrough":
      // libvirt accepts it at define and refuses it at start where the accelerator cannot
      // pass the host CPU through (TCG), with this message.
      if (collector.accelerator !== "kvm" && !atDefine) {
        throw refuseConfig(
          `${where}/@mode`,
          `CPU mode 'host-passthrough' for ${
            definition.os.arch ?? "x86_64"
          } qemu domain on x86_64 host is not supported by hypervisor`,
        );
      }
      model = "host";
      if (cpu?.migratable !== undefined) cpuProperties.migratable = cpu.migratable === "on";
      break;
    case "host-model":
      // Under TCG the best CPU the hypervisor offers is QEMU's `max` (libvirt names the
      // equivalent model and features); under KVM the host's.
      model = collector.accelerator === "kvm" ? "host" : "max";
      if (cpu?.migratable !== undefined && model === "host") {
        cpuProperties.migratable = cpu.migratable === "on";
      }
      break;
    case "maximum":
      model = "max";
      break;
    default:
      throw refuseConfig(`${where}/@mode`, `cpu mode '${cpu!.mode}' is not supported`);
  }
  const features: Record<string, QemuOptionValue> = {};
  cpu?.features.forEach((feature, index) => {
    const policy = feature.policy ?? "require";
    if (!["force", "require", "optional", "disable", "forbid"].includes(policy)) {
      throw refuseConfig(
        `${where}/feature[${index + 1}]/@policy`,
        `cpu feature policy '${policy}' is not supported`,
      );
    }
    features[CPU_FEATURE_NAMES[feature.name] ?? feature.name] = policy !== "disable" &&
      policy !== "forbid";
  });
  if (
    model === undefined &&
    (Object.keys(features).length > 0 || Object.keys(cpuProperties).length > 0)
  ) {
    model = definition.os.arch === "i686" ? "qemu32" : "qemu64";
  }
  if (model === undefined) return undefined;
  if (cpu?.modelVendorId !== undefined) cpuProperties.vendor = cpu.modelVendorId;
  collector.push("-cpu", qemuOption(model, { ...cpuProperties, ...features }));
  return model;
}

/** `<cpu><cache level mode>`: an emulated L3 cache, none, or the host's cache (KVM). */
function addCpuCache(
  cache: NonNullable<DomainCpu["cache"]>,
  collector: ArgumentCollector,
  cpuProperties: Record<string, QemuOptionValue>,
): void {
  const where = "/domain/cpu/cache";
  if (cache.mode === "emulate" && (cache.level ?? 3) === 3) {
    cpuProperties["l3-cache"] = true;
  } else if (cache.mode === "disable" && cache.level === undefined) {
    cpuProperties["l3-cache"] = false;
  } else if (cache.mode === "passthrough" && cache.level === undefined) {
    if (collector.accelerator !== "kvm") {
      throw refuseConfig(`${where}/@mode`, "cpu cache mode 'passthrough' needs kvm");
    }
    cpuProperties["host-cache-info"] = true;
  } else {
    throw refuseConfig(`${where}/@mode`, `cpu cache mode '${cache.mode}' is not supported`);
  }
}

function mib(kib: number): number {
  return Math.ceil(kib / 1024);
}

export function addMemoryAndCpus(
  definition: DomainDefinition,
  collector: ArgumentCollector,
  backing: MemoryBackend | undefined,
  cpuModel: string | undefined,
  emulator: string,
): void {
  const cells = definition.cpu?.numa?.cells ?? [];
  const memoryMiB = cells.length > 0
    ? cells.reduce((sum, cell) => sum + mib(cell.memoryKiB), 0)
    : mib(definition.memoryKiB);
  const maxMemory = definition.maxMemory;
  collector.push(
    "-m",
    qemuOption(undefined, {
      size: `${memoryMiB}M`,
      slots: maxMemory?.slots,
      maxmem: maxMemory === undefined ? undefined : `${mib(maxMemory.kib)}M`,
    }),
  );
  const maximum = Math.max(1, definition.vcpus);
  const states = vcpuStates(definition);
  const current = states === undefined
    ? definition.vcpu?.current ?? maximum
    : initialVcpuCount(states);
  if (current > maximum || current < 1) {
    throw refuseConfig(
      "/domain/vcpu/@current",
      `current vcpus ${current} must be between 1 and ${maximum}`,
    );
  }
  const topology = definition.cpu?.topology;
  if (topology !== undefined) {
    const product = topology.sockets * (topology.dies ?? 1) * topology.cores * topology.threads;
    if (product !== maximum) {
      throw refuseConfig(
        "/domain/cpu/topology",
        `cpu topology (${product} vcpus) does not match the maximum vcpu count ${maximum}`,
      );
    }
  }
  if (topology?.clusters !== undefined && topology.clusters > 1) {
    throw refuseConfig("/domain/cpu/topology/@clusters", "cpu clusters are not supported on x86");
  }
  collector.push(
    "-smp",
    qemuOption(String(current), {
      maxcpus: current === maximum ? undefined : maximum,
      sockets: topology?.sockets ?? maximum,
      dies: topology?.dies,
      cores: topology?.cores ?? 1,
      threads: topology?.threads ?? 1,
    }),
  );
  if (states !== undefined) {
    addHotpluggableVcpus(states, cpuModel, emulator, {
      dies: topology?.dies ?? 1,
      cores: topology?.cores ?? 1,
      threads: topology?.threads ?? 1,
    }, collector);
  }
  const bindings = numaCellBindings(definition);
  cells.forEach((cell, index) =>
    addNumaCell(cell, index, collector, backing, bindings.get(cell.id ?? index))
  );
  // Distances name two nodes, so they follow every node.
  cells.forEach((cell, index) => addNumaDistances(cell, index, collector));
}

/** Memory backend settings from `<memoryBacking>`, shared by every RAM backend. */
export interface MemoryBackend {
  type: "memory-backend-ram" | "memory-backend-memfd" | "memory-backend-file";
  memPath?: string;
  share?: boolean;
  prealloc?: boolean;
  /** memfd from huge pages, of this size in bytes (none: the default size). */
  hugetlb?: boolean;
  hugetlbsize?: number;
  /** `<hugepages>`: which guest nodes' RAM comes from huge pages, and from where. */
  hugePages?: HugePages;
}

/**
 * The backend of one guest node's RAM (undefined: the whole RAM of a guest without nodes), as
 * `<memoryBacking>` and its huge pages give it.
 */
export function backendOf(
  backing: MemoryBackend | undefined,
  node: number | undefined,
): MemoryBackend {
  const backend = backing ?? { type: "memory-backend-ram" };
  if (backend.hugePages === undefined) return backend;
  const page = hugePageOf(backend.hugePages, node);
  if (page === undefined) return backend;
  // As libvirt: huge pages are always preallocated.
  if (backend.type === "memory-backend-memfd") {
    return {
      ...backend,
      hugetlb: true,
      ...(page.pageSizeKiB === undefined ? {} : { hugetlbsize: page.pageSizeKiB * 1024 }),
      prealloc: true,
    };
  }
  const memPath = hugePageFolder(backend.hugePages, page);
  return { ...backend, type: "memory-backend-file", memPath, prealloc: true };
}

function addNumaCell(
  cell: NumaCell,
  index: number,
  collector: ArgumentCollector,
  backing: MemoryBackend | undefined,
  binding: string | undefined,
): void {
  const where = `/domain/cpu/numa/cell[${index + 1}]`;
  refuseExtra(cell.extra, where, { elements: (name) => name === "distances" });
  if (cell.discard !== undefined) {
    throw refuseConfig(`${where}/@discard`, "numa cell discard is not supported");
  }
  const backend = backendOf(backing, cell.id ?? index);
  const id = `ram-node${cell.id ?? index}`;
  const object = qemuOption(backend.type, {
    id,
    size: `${mib(cell.memoryKiB)}M`,
    "mem-path": backend.memPath,
    share: cell.memAccess === undefined ? backend.share : cell.memAccess === "shared",
    prealloc: backend.prealloc,
    hugetlb: backend.hugetlb,
    hugetlbsize: backend.hugetlbsize,
  });
  // The host binding (numa_tune.ts) repeats the host-nodes key, which a record cannot hold.
  collector.push("-object", binding === undefined ? object : `${object},${binding}`);
  const cpus = (cell.cpus ?? "").split(",").filter((range) => range !== "")
    .map((range) => `,cpus=${range}`).join("");
  collector.push("-numa", `node,nodeid=${cell.id ?? index}${cpus},memdev=${id}`);
}

/** `-numa dist` of a cell's `<distances><sibling id value/>`. */
function addNumaDistances(cell: NumaCell, index: number, collector: ArgumentCollector): void {
  const where = `/domain/cpu/numa/cell[${index + 1}]`;
  const distances = cell.extra?.elements?.find((placed) => placed.element.name === "distances");
  elementChildren(distances?.element ?? { name: "" }).forEach((sibling, siblingIndex) => {
    const { id: destination, value } = sibling.attributes ?? {};
    if (sibling.name !== "sibling" || destination === undefined || value === undefined) {
      throw refuseConfig(
        `${where}/distances/${sibling.name}[${siblingIndex + 1}]`,
        "invalid numa distance",
      );
    }
    collector.push(
      "-numa",
      qemuOption("dist", { src: cell.id ?? index, dst: Number(destination), val: Number(value) }),
    );
  });
}

/**
 * Handles `<memoryBacking>`: mem-lock, KSM, and the RAM backend's type and options.
 *
 * @returns The backend settings every RAM backend uses, or undefined for QEMU's default RAM.
 */
export function memoryBacking(
  definition: DomainDefinition,
  collector: ArgumentCollector,
  machine: Record<string, QemuOptionValue>,
  hugepageHost: HugepageHost,
): MemoryBackend | undefined {
  const element = domainExtraElement(definition, "memoryBacking");
  // `<numatune>` of a guest without cells binds the whole RAM's backend.
  const binding = wholeRamBinding(definition);
  const where = "/domain/memoryBacking";
  const backend: MemoryBackend = { type: "memory-backend-ram" };
  let custom = binding !== undefined;
  for (const child of element === undefined ? [] : elementChildren(element)) {
    const attributes = child.attributes ?? {};
    switch (child.name) {
      case "locked":
        collector.push("-overcommit", "mem-lock=on");
        break;
      case "nosharepages":
        machine["mem-merge"] = false;
        break;
      case "source":
        if (attributes.type === "memfd") backend.type = "memory-backend-memfd";
        else if (attributes.type === "file") {
          // QEMU makes (and unlinks) the backing file in this folder, as libvirt's ram folder.
          backend.type = "memory-backend-file";
          backend.memPath = collector.runtimeDir;
        } else if (attributes.type !== undefined && attributes.type !== "anonymous") {
          throw refuseConfig(
            `${where}/source/@type`,
            `memory source '${attributes.type}' is not supported`,
          );
        }
        custom = true;
        break;
      case "access":
        backend.share = attributes.mode === "shared";
        custom = true;
        break;
      case "hugepages":
        backend.hugePages = hugePagesOf(definition, child, hugepageHost);
        custom = true;
        break;
      case "allocation":
        if (attributes.threads !== undefined) {
          throw refuseConfig(
            `${where}/allocation/@threads`,
            "allocation threads are not supported",
          );
        }
        backend.prealloc = attributes.mode === "immediate";
        custom = true;
        break;
      default:
        throw refuseConfig(
          `${where}/${child.name}`,
          `memoryBacking '${child.name}' is not supported`,
        );
    }
  }
  if (!custom) return undefined;
  if ((definition.cpu?.numa?.cells ?? []).length === 0) {
    const whole = backendOf(backend, undefined);
    const object = qemuOption(whole.type, {
      id: "pc.ram",
      size: `${mib(definition.memoryKiB)}M`,
      "mem-path": whole.memPath,
      share: whole.share,
      prealloc: whole.prealloc,
      hugetlb: whole.hugetlb,
      hugetlbsize: whole.hugetlbsize,
    });
    collector.push("-object", binding === undefined ? object : `${object},${binding}`);
    machine["memory-backend"] = "pc.ram";
  }
  return backend;
}

export function domainExtraElement(
  definition: DomainDefinition,
  name: string,
): XmlElement | undefined {
  return (definition.extra?.elements ?? []).map((placed) => placed.element)
    .find((element) => element.name === name);
}

export function elementChildren(element: XmlElement): XmlElement[] {
  return (element.children ?? []).filter((child): child is XmlElement => typeof child !== "string");
}
