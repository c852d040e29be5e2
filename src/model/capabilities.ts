/**
 * What a host and its hypervisors can run, as libvirt's capabilities (`virConnectGetCapabilities`)
 * and domain capabilities (`virConnectGetDomainCapabilities`) documents say it: plain data the
 * drivers fill in and `src/xml/capabilities_xml.ts` writes out.
 *
 * @module
 */

/** An `<enum name=…>` of the values an attribute or element may take. */
export interface CapabilityEnum {
  name: string;
  values: readonly string[];
}

/**
 * An element of the domain capabilities that says whether something is supported and, when it
 * is, which values it takes (`<disk supported='yes'><enum name='bus'>…`).
 */
export interface CapabilityElement {
  /** The element's name (`disk`, `graphics`, `vmcoreinfo`, …). */
  name: string;
  supported: boolean;
  enums: readonly CapabilityEnum[];
}

/** A named CPU model of the hypervisor (`<model usable=… deprecated=…>`). */
export interface CpuModelCapability {
  name: string;
  /** Whether the accelerator can run it on this host (`yes`, `no`, or unknown). */
  usable: "yes" | "no" | "unknown";
  deprecated: boolean;
}

/** The domain capabilities of one emulator, machine, architecture and domain type. */
export interface DomainCapabilities {
  /** The emulator binary. */
  path: string;
  /** The domain type (`qemu`, `kvm`). */
  domain: string;
  /** The canonical machine type. */
  machine: string;
  arch: string;
  /** Most vCPUs the machine type takes. */
  vcpuMax: number;
  iothreads: boolean;
  os: {
    /** `<enum name='firmware'>`: firmware autoselection values evirt accepts (may be empty). */
    firmware: readonly string[];
    /** Loader images found on the host. */
    loaderValues: readonly string[];
    /** The loader's enums (`type`, `readonly`, `secure`). */
    loaderEnums: readonly CapabilityEnum[];
  };
  cpu: {
    hostPassthrough: boolean;
    /** `maximum` mode and its `maximumMigratable` values. */
    maximum: boolean;
    hostModel: boolean;
    /** `custom` mode's models; the mode is supported when there are any. */
    models: readonly CpuModelCapability[];
  };
  /** `<memoryBacking>`'s source types; unsupported when empty. */
  memoryBackingSources: readonly string[];
  /** `<devices>` children, in libvirt's order. */
  devices: readonly CapabilityElement[];
  /** `<features>` children, in libvirt's order. */
  features: readonly CapabilityElement[];
}

/** What a domain-capabilities request names; every field may be left to the defaults. */
export interface DomainCapabilitiesQuery {
  emulator?: string;
  arch?: string;
  machine?: string;
  virttype?: string;
}

/** A machine type of an emulator, as the capabilities' `<machine>` lists it. */
export interface MachineCapability {
  name: string;
  /** The machine an alias stands for (`pc` → `pc-i440fx-7.2`). */
  canonical?: string;
  maxCpus: number;
  deprecated?: boolean;
}

/** One `<guest>` of the capabilities: an OS type on an architecture and what runs it. */
export interface GuestCapability {
  osType: string;
  arch: string;
  wordsize: number;
  /** The emulator binary, when the driver runs one. */
  emulator?: string;
  machines: readonly MachineCapability[];
  /** The `<domain type=…>` values that run this guest. */
  domainTypes: readonly string[];
  /** Guest features, written as empty elements (`pae`, `nonpae`). */
  features?: readonly string[];
}

/** What the host itself is, for the capabilities' `<host>`. */
export interface HostCapability {
  /** The host's uuid, when known. */
  uuid?: string;
  arch: string;
  /** The CPU vendor (`Intel`, `AMD`), when known. */
  vendor?: string;
  /** family/model/stepping, when known. */
  signature?: { family: number; model: number; stepping: number };
  /** The CPU topology; absent: not said. */
  topology?: { sockets: number; dies: number; cores: number; threads: number };
  /** CPU features written as empty elements under `<features>` (the test driver's `pae`). */
  cpuFeatures?: readonly string[];
  /** Page sizes in KiB. */
  pageSizesKiB: readonly number[];
  /** Whether the host has an IOMMU (`<iommu support=…>`); absent: not said. */
  iommu?: boolean;
  /** NUMA cells. */
  cells: readonly HostCell[];
  /** The security models (`none`, doi `0`). */
  secmodels: readonly { model: string; doi: string }[];
}

/** One NUMA cell of the host. */
export interface HostCell {
  id: number;
  memoryKiB: number;
  /** Pages of each size (KiB) the cell has. */
  pages?: readonly { sizeKiB: number; count: number }[];
  /** NUMA distances to each cell. */
  distances?: readonly { id: number; value: number }[];
  cpus: readonly {
    id: number;
    socketId: number;
    dieId: number;
    coreId: number;
    siblings: string;
  }[];
}
