/**
 * `<memory model='dimm'>` as QEMU arguments, as libvirt gives them: a RAM backend
 * (`memdimmN`) and a `pc-dimm` on the guest NUMA node of `<target><node>`, in the slot of its
 * `<address type='dimm'>` or the first free one (named `dimmN` after its slot), at the address's
 * `base` when it has one. The size is rounded up to 2 MiB (QEMU's DIMM alignment). The backend
 * is the node's (`<memoryBacking>`, huge pages), or of huge pages of `<source><pagesize>`; it is
 * bound to the host nodes of `<source><nodemask>`, else as `<numatune>` binds the node.
 *
 * A DIMM needs ACPI (QEMU plugs it through the ACPI memory hotplug device). Other models
 * (nvdimm, virtio-pmem, virtio-mem) are refused by element.
 *
 * @module
 */

import type { DomainDefinition, XmlElement } from "../../src/model/domain.ts";
import { toKiB } from "../../src/model/units.ts";
import type { ArgumentCollector } from "./argument_collector.ts";
import { refuseConfig } from "./config_refusal.ts";
import { backendOf, type MemoryBackend } from "./cpu_memory_arguments.ts";
import { hugePageFolder, type HugepageHost } from "./huge_pages.ts";
import { hostNodesBinding, numaCellBindings } from "./numa_tune.ts";
import { qemuOption } from "./qemu_option.ts";

/** QEMU's alignment of a DIMM's size on x86, in KiB. */
const DIMM_ALIGNMENT_KIB = 2048;

/** The ordinary page size of x86, in KiB. */
const SMALL_PAGE_KIB = 4;

/** The `<memory>` elements of the devices, in order. */
export function memoryDeviceElements(definition: DomainDefinition): XmlElement[] {
  return (definition.devices.extra?.elements ?? []).map((placed) => placed.element)
    .filter((element) => element.name === "memory");
}

/**
 * Adds a backend and a `pc-dimm` for every memory device.
 *
 * @throws {VirtError} 67 naming a model other than dimm, a domain without ACPI, a device
 *   without `<maxMemory>` slots
 *   or beyond them, a guest node that does not exist, or host nodes the host lacks.
 *
 * @example
 * ```ts ignore
 * addMemoryDevices(definition, collector, backing, hugepageHost);
 * ```
 */
export function addMemoryDevices(
  definition: DomainDefinition,
  collector: ArgumentCollector,
  backing: MemoryBackend | undefined,
  hugepageHost: HugepageHost,
): void {
  const elements = memoryDeviceElements(definition);
  if (elements.length === 0) return;
  const slots = definition.maxMemory?.slots ?? 0;
  const explicit = elements.map((element, index) =>
    dimmAddress(element, `/domain/devices/memory[${index + 1}]`).slot
  );
  const taken = new Set(explicit.filter((slot): slot is number => slot !== undefined));
  const cells = definition.cpu?.numa?.cells ?? [];
  const bindings = numaCellBindings(definition);
  elements.forEach((element, index) => {
    const where = `/domain/devices/memory[${index + 1}]`;
    const model = element.attributes?.model;
    if (model !== "dimm") {
      throw refuseConfig(`${where}/@model`, `memory model '${model ?? ""}' is not supported`);
    }
    // QEMU plugs a DIMM through the ACPI memory hotplug device (refused without ACPI).
    if (definition.features?.acpi === undefined) {
      throw refuseConfig(where, "a dimm memory device needs ACPI (<features><acpi/>)");
    }
    if (definition.maxMemory === undefined) {
      throw refuseConfig(
        where,
        "cannot use/hotplug a memory device when domain 'maxMemory' is not defined",
      );
    }
    const address = dimmAddress(element, where);
    let slot = explicit[index];
    if (slot === undefined) {
      slot = 0;
      while (taken.has(slot)) slot++;
      taken.add(slot);
    }
    if (slot >= slots) {
      throw refuseConfig(
        `${where}/address/@slot`,
        `memory device slot '${slot}' exceeds slots count '${slots}'`,
      );
    }
    const target = child(element, "target");
    const source = child(element, "source");
    const node = Number(text(child(target, "node")) ?? "0");
    if (!Number.isSafeInteger(node) || node < 0 || node >= cells.length) {
      throw refuseConfig(
        `${where}/target/node`,
        `can't add memory backend for guest node '${node}' as the guest has only '${cells.length}' NUMA nodes configured`,
      );
    }
    const sizeKiB = sizeOf(child(target, "size"), `${where}/target/size`);
    const alignedKiB = Math.ceil(sizeKiB / DIMM_ALIGNMENT_KIB) * DIMM_ALIGNMENT_KIB;
    const pagesize = child(source, "pagesize");
    let backend = backendOf(backing, node);
    if (pagesize !== undefined) {
      const pageSizeKiB = sizeOf(pagesize, `${where}/source/pagesize`);
      backend = pageSizeKiB === SMALL_PAGE_KIB
        ? { ...backend, type: "memory-backend-ram", memPath: undefined, prealloc: undefined }
        : {
          ...backend,
          type: "memory-backend-file",
          memPath: hugePageFolder({ pages: [], host: hugepageHost }, { pageSizeKiB }),
          prealloc: true,
        };
    }
    const access = element.attributes?.access;
    const cellAccess = cells.find((cell, cellIndex) => (cell.id ?? cellIndex) === node)
      ?.memAccess;
    const share = access !== undefined
      ? access === "shared"
      : cellAccess !== undefined
      ? cellAccess === "shared"
      : backend.share;
    const nodemask = text(child(source, "nodemask"));
    const binding = nodemask === undefined ? bindings.get(node) : hostNodesBinding(
      definition.numatune?.memory?.mode,
      nodemask,
      where,
      undefined,
      `${where}/source/nodemask`,
    );
    const id = `dimm${slot}`;
    const object = qemuOption(backend.type, {
      id: `mem${id}`,
      "mem-path": backend.memPath,
      share,
      prealloc: backend.prealloc,
      hugetlb: backend.hugetlb,
      hugetlbsize: backend.hugetlbsize,
      size: alignedKiB * 1024,
    });
    collector.push("-object", binding === undefined ? object : `${object},${binding}`);
    collector.push(
      "-device",
      qemuOption("pc-dimm", { node, memdev: `mem${id}`, id, slot, addr: address.base }),
    );
  });
}

/** A device's `<address type='dimm' slot base>`. */
function dimmAddress(element: XmlElement, where: string): { slot?: number; base?: number } {
  const address = child(element, "address");
  if (address === undefined) return {};
  const attributes = address.attributes ?? {};
  if (attributes.type !== "dimm") {
    throw refuseConfig(
      `${where}/address/@type`,
      `memory device address type '${attributes.type ?? ""}' is not supported`,
    );
  }
  const slot = attributes.slot === undefined ? undefined : Number(attributes.slot);
  const base = attributes.base === undefined ? undefined : Number(attributes.base);
  if (slot !== undefined && !(Number.isSafeInteger(slot) && slot >= 0)) {
    throw refuseConfig(`${where}/address/@slot`, `invalid dimm slot '${attributes.slot}'`);
  }
  if (base !== undefined && !(Number.isSafeInteger(base) && base >= 0)) {
    throw refuseConfig(`${where}/address/@base`, `invalid dimm base '${attributes.base}'`);
  }
  return { slot, base };
}

function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return (element?.children ?? []).find((each): each is XmlElement =>
    typeof each !== "string" && each.name === name
  );
}

function text(element: XmlElement | undefined): string | undefined {
  if (element === undefined) return undefined;
  return (element.children ?? []).filter((each) => typeof each === "string").join("").trim();
}

function sizeOf(element: XmlElement | undefined, where: string): number {
  const value = text(element);
  if (value === undefined || !/^\d+$/.test(value)) {
    throw refuseConfig(where, "a memory device needs a size");
  }
  return toKiB(BigInt(value), element?.attributes?.unit);
}
