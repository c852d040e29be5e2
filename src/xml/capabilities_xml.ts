/**
 * The capabilities and domain capabilities documents as libvirt writes them, from the plain data
 * of `src/model/capabilities.ts`: element names, order, attributes and `<enum>` lists follow
 * libvirt 9.0's output, so clients that read them (virt-manager, virt-install, `virsh
 * maxvcpus`) find what they look for.
 *
 * @module
 */

import type {
  CapabilityElement,
  CapabilityEnum,
  DomainCapabilities,
  GuestCapability,
  HostCapability,
} from "../model/capabilities.ts";
import type { XmlElement } from "../model/xml_extra.ts";
import { writeXml } from "./xml_writer.ts";

const yesNo = (value: boolean) => value ? "yes" : "no";

function element(
  name: string,
  attributes?: Record<string, string>,
  children?: (XmlElement | string)[],
): XmlElement {
  return {
    name,
    ...(attributes === undefined ? {} : { attributes }),
    ...(children === undefined || children.length === 0 ? {} : { children }),
  };
}

function enumElement(entry: CapabilityEnum): XmlElement {
  return element(
    "enum",
    { name: entry.name },
    entry.values.map((value) => element("value", undefined, [value])),
  );
}

function capabilityElement(entry: CapabilityElement): XmlElement {
  return element(
    entry.name,
    { supported: yesNo(entry.supported) },
    entry.supported ? entry.enums.map(enumElement) : [],
  );
}

/**
 * The domain capabilities document (`virsh domcapabilities`).
 *
 * @example
 * ```ts ignore
 * domainCapabilitiesXml(capabilities); // "<domainCapabilities>\n  <path>/usr/bin/qemu-system-x86_64</path>\n…"
 * ```
 */
export function domainCapabilitiesXml(caps: DomainCapabilities): string {
  const { os, cpu } = caps;
  const loader = element("loader", { supported: yesNo(os.loaderValues.length > 0) }, [
    ...os.loaderValues.map((value) => element("value", undefined, [value])),
    ...os.loaderEnums.map(enumElement),
  ]);
  const osChildren = [
    ...(os.firmware.length === 0 ? [] : [enumElement({ name: "firmware", values: os.firmware })]),
    loader,
  ];
  const cpuModes = [
    element("mode", { name: "host-passthrough", supported: yesNo(cpu.hostPassthrough) }),
    // No `maximumMigratable` enum: evirt's QEMU driver does not take `migratable` for maximum.
    element("mode", { name: "maximum", supported: yesNo(cpu.maximum) }),
    element("mode", { name: "host-model", supported: yesNo(cpu.hostModel) }),
    element(
      "mode",
      { name: "custom", supported: yesNo(cpu.models.length > 0) },
      cpu.models.map((model) =>
        element("model", {
          usable: model.usable,
          ...(model.deprecated ? { deprecated: "yes" } : {}),
        }, [model.name])
      ),
    ),
  ];
  return writeXml(element("domainCapabilities", undefined, [
    element("path", undefined, [caps.path]),
    element("domain", undefined, [caps.domain]),
    element("machine", undefined, [caps.machine]),
    element("arch", undefined, [caps.arch]),
    element("vcpu", { max: String(caps.vcpuMax) }),
    element("iothreads", { supported: yesNo(caps.iothreads) }),
    element("os", { supported: "yes" }, osChildren),
    element("cpu", undefined, cpuModes),
    element(
      "memoryBacking",
      { supported: yesNo(caps.memoryBackingSources.length > 0) },
      caps.memoryBackingSources.length === 0
        ? []
        : [enumElement({ name: "sourceType", values: caps.memoryBackingSources })],
    ),
    element("devices", undefined, caps.devices.map(capabilityElement)),
    element("features", undefined, caps.features.map(capabilityElement)),
  ]));
}

/**
 * The capabilities document (`virsh capabilities`): the host, then one `<guest>` per OS type
 * and architecture.
 *
 * @example
 * ```ts ignore
 * capabilitiesXml(host, guests); // "<capabilities>\n  <host>\n…"
 * ```
 */
export function capabilitiesXml(host: HostCapability, guests: readonly GuestCapability[]): string {
  const cpu = element("cpu", undefined, [
    element("arch", undefined, [host.arch]),
    ...(host.cpuFeatures === undefined
      ? []
      : [element("features", undefined, host.cpuFeatures.map((name) => element(name)))]),
    ...(host.vendor === undefined ? [] : [element("vendor", undefined, [host.vendor])]),
    ...(host.signature === undefined ? [] : [element("signature", {
      family: String(host.signature.family),
      model: String(host.signature.model),
      stepping: String(host.signature.stepping),
    })]),
    ...(host.topology === undefined ? [] : [element("topology", {
      sockets: String(host.topology.sockets),
      dies: String(host.topology.dies),
      cores: String(host.topology.cores),
      threads: String(host.topology.threads),
    })]),
    ...host.pageSizesKiB.map((size) => element("pages", { unit: "KiB", size: String(size) })),
  ]);
  const cells = element(
    "cells",
    { num: String(host.cells.length) },
    host.cells.map((cell) =>
      element("cell", { id: String(cell.id) }, [
        element("memory", { unit: "KiB" }, [String(cell.memoryKiB)]),
        ...(cell.pages ?? []).map((page) =>
          element("pages", { unit: "KiB", size: String(page.sizeKiB) }, [String(page.count)])
        ),
        ...(cell.distances === undefined ? [] : [element(
          "distances",
          undefined,
          cell.distances.map((distance) =>
            element("sibling", { id: String(distance.id), value: String(distance.value) })
          ),
        )]),
        element(
          "cpus",
          { num: String(cell.cpus.length) },
          cell.cpus.map((entry) =>
            element("cpu", {
              id: String(entry.id),
              socket_id: String(entry.socketId),
              die_id: String(entry.dieId),
              core_id: String(entry.coreId),
              siblings: entry.siblings,
            })
          ),
        ),
      ])
    ),
  );
  const hostElement = element("host", undefined, [
    ...(host.uuid === undefined ? [] : [element("uuid", undefined, [host.uuid])]),
    cpu,
    element("power_management"),
    ...(host.iommu === undefined ? [] : [element("iommu", { support: host.iommu ? "yes" : "no" })]),
    ...(host.cells.length === 0 ? [] : [element("topology", undefined, [cells])]),
    ...host.secmodels.map((secmodel) =>
      element("secmodel", undefined, [
        element("model", undefined, [secmodel.model]),
        element("doi", undefined, [secmodel.doi]),
      ])
    ),
  ]);
  const guestElements = guests.map((guest) =>
    element("guest", undefined, [
      element("os_type", undefined, [guest.osType]),
      element("arch", { name: guest.arch }, [
        element("wordsize", undefined, [String(guest.wordsize)]),
        ...(guest.emulator === undefined ? [] : [element("emulator", undefined, [guest.emulator])]),
        ...guest.machines.map((machine) =>
          element("machine", {
            ...(machine.canonical === undefined ? {} : { canonical: machine.canonical }),
            maxCpus: String(machine.maxCpus),
            ...(machine.deprecated ? { deprecated: "yes" } : {}),
          }, [machine.name])
        ),
        ...guest.domainTypes.map((type) => element("domain", { type })),
      ]),
      ...(guest.features === undefined
        ? []
        : [element("features", undefined, guest.features.map((name) => element(name)))]),
    ])
  );
  // libvirt leaves a blank line around each top-level section.
  return writeXml(element("capabilities", undefined, [hostElement, ...guestElements]))
    .replace(/^ {2}<(host|guest)>$/gm, "\n  <$1>")
    .replace(/\n<\/capabilities>\n$/, "\n\n</capabilities>\n");
}
