/**
 * The typed domain definition: libvirt's domain XML as plain, versioned JSON.
 *
 * Rules of the JSON form (model version {@linkcode DOMAIN_MODEL_VERSION}):
 *
 * - Only plain JSON values: objects, arrays, strings, finite numbers, booleans. A field that
 *   has no value is absent, never `undefined` or `null`, so `JSON.parse(JSON.stringify(def))`
 *   deep-equals `def`.
 * - Field names are the XML names in camelCase (`startupPolicy`, `copyOnRead` for
 *   `copy_on_read`); the XML element or attribute is named in each field's comment.
 * - Sizes are numbers in KiB (`memoryKiB`), whatever unit the XML used. Counts, indexes, ports
 *   and PCI address parts are numbers. Enumerations (`"file"`, `"virtio"`, `"yes"`/`"on"`) stay
 *   strings exactly as libvirt spells them, so values newer than this model still round-trip.
 * - An empty element that means "present" (`<readonly/>`, `<acpi/>`) is `true` or `{}`.
 * - Whatever the model does not type is kept in an `extra` ({@linkcode XmlExtra}) on the object
 *   of the nearest enclosing element, with its position, so formatting puts it back in place.
 * - `name` is `""`, `memoryKiB` and `vcpus` are `0` when the document has no such element:
 *   libvirt treats those values as unspecified too, and the formatter then leaves the element out.
 *
 * @module
 */

import type { XmlElement, XmlExtra } from "./xml_extra.ts";
import type { PerfEvent } from "./perf_events.ts";

export type { XmlContent, XmlElement, XmlExtra, XmlPlacedElement } from "./xml_extra.ts";

/**
 * Version of the JSON form below. Bump it when a field changes meaning or shape; stored
 * definitions record it beside the definition so a later version can convert them.
 */
export const DOMAIN_MODEL_VERSION = 1;

/** Carries what the model does not type (see {@linkcode XmlExtra}). */
export interface WithExtra {
  /** Attributes and elements of this object's element that no typed field took. */
  extra?: XmlExtra;
}

/**
 * A domain definition (`<domain>`).
 *
 * @example A minimal definition
 * ```ts
 * import { emptyDevices, type DomainDefinition } from "./domain.ts";
 * const def: DomainDefinition = {
 *   type: "qemu",
 *   name: "demo",
 *   memoryKiB: 524288,
 *   vcpus: 1,
 *   os: { type: "hvm", boot: [] },
 *   devices: emptyDevices(),
 * };
 * console.log(def.name); // "demo"
 * ```
 */
export interface DomainDefinition extends WithExtra {
  /** `<domain type=…>`: the hypervisor, e.g. `qemu`, `kvm`, `test`. */
  type: string;
  /** `<domain id=…>`: the id a running domain's live XML carried; not used at define. */
  id?: number;
  /** `<name>`; `""` when the document has none. */
  name: string;
  /** `<uuid>`, as written (libvirt accepts hex digits with optional dashes). */
  uuid?: string;
  /** `<genid>`: `""` for an empty element (generate), else the UUID. */
  genid?: string;
  /** `<title>`. */
  title?: string;
  /** `<description>`. */
  description?: string;
  /** The children of `<metadata>`, verbatim, any namespace. */
  metadata?: XmlElement[];
  /** `<maxMemory slots=…>`: the hotplug ceiling. */
  maxMemory?: MaxMemory;
  /** `<memory>` in KiB; 0 when absent. */
  memoryKiB: number;
  /** `<memory dumpCore=…>`: `on` / `off`. */
  memoryDumpCore?: string;
  /** `<currentMemory>` in KiB. */
  currentMemoryKiB?: number;
  /** `<blkiotune>`: block I/O weight and throttles. */
  blkiotune?: BlkioTune;
  /** `<memtune>`: memory limits. */
  memtune?: MemTune;
  /** The `<vcpu>` count (maximum vCPUs); 0 when absent (libvirt's default is 1). */
  vcpus: number;
  /** The attributes of `<vcpu>`. */
  vcpu?: VcpuSettings;
  /** `<iothreads>`: the number of I/O threads. */
  iothreads?: number;
  /** `<cputune>`. */
  cputune?: CpuTune;
  /** `<numatune>`. */
  numatune?: NumaTune;
  /** `<os>`. */
  os: DomainOs;
  /**
   * `<features>`: each child element by name with its attributes (`acpi: {}`,
   * `apic: {eoi: "on"}`, `smm: {state: "on"}`), in document order. Their children (hyperv's
   * flags, smm's tseg) are kept in `extra.children.features.children[name]`.
   */
  features?: Record<string, Record<string, string>>;
  /**
   * `<features><capabilities>`'s toggles (LXC): each process capability by name (`mknod`,
   * `sys_module`, …) → its `state` (`on` / `off`), in document order; the policy is
   * `features.capabilities.policy`. Present only when the document names some.
   */
  featureCapabilities?: Record<string, string>;
  /** `<idmap>`: the user namespace's id maps (LXC). */
  idmap?: IdMap;
  /** `<cpu>`. */
  cpu?: DomainCpu;
  /** `<clock>`. */
  clock?: DomainClock;
  /** `<on_poweroff>`: destroy, restart, preserve, rename-restart. */
  onPoweroff?: string;
  /** `<on_reboot>`. */
  onReboot?: string;
  /** `<on_crash>`: also coredump-destroy, coredump-restart. */
  onCrash?: string;
  /** `<on_lockfailure>`. */
  onLockfailure?: string;
  /** `<perf>`: the perf events asked for (see perf_events.ts). */
  perf?: PerfEvent[];
  /** `<devices>`. */
  devices: DomainDevices;
}

/** `<maxMemory slots=… unit=…>`. */
export interface MaxMemory extends WithExtra {
  /** The size in KiB. */
  kib: number;
  /** `slots`: memory hotplug slots. */
  slots: number;
}

/** The attributes of `<vcpu>`. */
export interface VcpuSettings {
  /** `placement`: `static` or `auto`. */
  placement?: string;
  /** `cpuset`: host CPUs, e.g. `1-4,^3,6`. */
  cpuset?: string;
  /** `current`: vCPUs online at boot. */
  current?: number;
}

/** `<cputune>`. Pinning and quotas are typed; the rest is kept in `extra`. */
export interface CpuTune extends WithExtra {
  /** `<shares>`. */
  shares?: number;
  /** `<period>` (µs). */
  period?: number;
  /** `<quota>` (µs, may be negative). */
  quota?: number;
  /** `<global_period>`: the whole domain's CFS period (µs). */
  globalPeriod?: number;
  /** `<global_quota>` (µs, may be negative). */
  globalQuota?: number;
  /** `<emulator_period>`: the emulator threads' CFS period (µs). */
  emulatorPeriod?: number;
  /** `<emulator_quota>` (µs, may be negative). */
  emulatorQuota?: number;
  /** `<iothread_period>`: the I/O threads' CFS period (µs). */
  iothreadPeriod?: number;
  /** `<iothread_quota>` (µs, may be negative). */
  iothreadQuota?: number;
  /** `<vcpupin vcpu cpuset>`. */
  vcpupins: VcpuPin[];
  /** `<emulatorpin cpuset>`. */
  emulatorpin?: string;
  /** `<iothreadpin iothread cpuset>`. */
  iothreadpins: IothreadPin[];
  /** `<emulatorsched>`. */
  emulatorsched?: SchedulerSetting;
  /** `<vcpusched vcpus=…>`. */
  vcpuscheds: VcpuSched[];
  /** `<iothreadsched iothreads=…>`. */
  iothreadscheds: IothreadSched[];
  /** `<cachetune vcpus=…>`. */
  cachetunes: CacheTune[];
  /** `<memorytune vcpus=…>`. */
  memorytunes: MemoryTune[];
}

/** `<vcpupin vcpu cpuset>`. */
export interface VcpuPin extends WithExtra {
  /** `vcpu`. */
  vcpu: number;
  /** `cpuset`: host CPUs. */
  cpuset: string;
}

/** `<iothreadpin iothread cpuset>`. */
export interface IothreadPin extends WithExtra {
  /** `iothread`. */
  iothread: number;
  /** `cpuset`: host CPUs. */
  cpuset: string;
}

/** `<vcpusched vcpus scheduler priority>`. */
export interface VcpuSched extends SchedulerSetting {
  /** `vcpus`: a vCPU set. */
  vcpus: string;
}

/** `<iothreadsched iothreads scheduler priority>`. */
export interface IothreadSched extends SchedulerSetting {
  /** `iothreads`: an I/O thread id set. */
  iothreads: string;
}

/** A real-time scheduler setting: `scheduler` (batch, idle, fifo, rr) and `priority`. */
export interface SchedulerSetting extends WithExtra {
  /** `scheduler`. */
  scheduler: string;
  /** `priority`, for fifo and rr. */
  priority?: number;
}

/** `<cachetune vcpus=…>`: cache allocations and monitors for a set of vCPUs. */
export interface CacheTune extends WithExtra {
  /** `vcpus`: a vCPU set such as `0-3,^2`. */
  vcpus: string;
  /** `<cache id level type size unit>`. */
  caches: CacheAllocation[];
  /** `<monitor level vcpus>`. */
  monitors: ResctrlMonitor[];
}

/** `<cache>` inside `<cachetune>`. */
export interface CacheAllocation extends WithExtra {
  /** `id`: the host cache id. */
  id: number;
  /** `level`. */
  level: number;
  /** `type`: both, code, data. */
  type: string;
  /** `size`, in `unit`. */
  size: number;
  /** `unit`, as written (libvirt keeps it). */
  unit?: string;
}

/** `<monitor level? vcpus>` inside `<cachetune>`/`<memorytune>`. */
export interface ResctrlMonitor extends WithExtra {
  /** `level`. */
  level?: number;
  /** `vcpus`. */
  vcpus: string;
}

/** `<memorytune vcpus=…>`. */
export interface MemoryTune extends WithExtra {
  /** `vcpus`. */
  vcpus: string;
  /** `<node id bandwidth>`. */
  nodes: MemoryTuneNode[];
  /** `<monitor vcpus>`. */
  monitors: ResctrlMonitor[];
}

/** `<node id bandwidth>` inside `<memorytune>`. */
export interface MemoryTuneNode extends WithExtra {
  /** `id`: the host memory controller. */
  id: number;
  /** `bandwidth`: percent. */
  bandwidth: number;
}

/** `<numatune>`: guest memory placement on host NUMA nodes. */
export interface NumaTune extends WithExtra {
  /** `<memory mode nodeset placement>`. */
  memory?: NumaTuneMemory;
  /** `<memnode cellid mode nodeset>`. */
  memnodes: NumaTuneMemnode[];
}

/** `<memory>` inside `<numatune>`. */
export interface NumaTuneMemory extends WithExtra {
  /** `mode`: strict, preferred, interleave, restrictive. */
  mode?: string;
  /** `nodeset`: host NUMA nodes. */
  nodeset?: string;
  /** `placement`: static / auto. */
  placement?: string;
}

/** `<memnode cellid mode nodeset>`. */
export interface NumaTuneMemnode extends WithExtra {
  /** `cellid`: the guest NUMA cell. */
  cellid: number;
  /** `mode`. */
  mode?: string;
  /** `nodeset`: host NUMA nodes. */
  nodeset?: string;
}

/** `<os>`. */
export interface DomainOs extends WithExtra {
  /** `<type>` text: `hvm`, `xen`, `linux`, `exe`, … */
  type: string;
  /** `<type arch=…>`. */
  arch?: string;
  /** `<type machine=…>`. */
  machine?: string;
  /** `<os firmware=…>`: `bios` or `efi`. */
  firmware?: string;
  /** `<firmware><feature enabled name/></firmware>`; present when `<firmware>` is. */
  firmwareFeatures?: FirmwareFeature[];
  /** `<loader>`. */
  loader?: OsLoader;
  /** `<nvram>`. */
  nvram?: OsNvram;
  /** `<kernel>`. */
  kernel?: string;
  /** `<initrd>`. */
  initrd?: string;
  /** `<cmdline>`. */
  cmdline?: string;
  /** `<dtb>`. */
  dtb?: string;
  /** `<init>` (containers). */
  init?: string;
  /** `<initarg>` (LXC `exe`): the init's arguments, in order; present only when some are given. */
  initargs?: string[];
  /** `<initenv name>value</initenv>` (LXC `exe`): the init's environment; present only when given. */
  initenvs?: InitEnv[];
  /** `<initdir>` (LXC `exe`): the init's working directory. */
  initdir?: string;
  /** `<inituser>` (LXC `exe`): the user (name or number) the init runs as. */
  inituser?: string;
  /** `<initgroup>` (LXC `exe`): the group (name or number) the init runs as. */
  initgroup?: string;
  /** `<boot dev=…>` in order: hd, cdrom, fd, network. */
  boot: string[];
  /** `<bootmenu enable timeout>`. */
  bootmenu?: OsBootMenu;
  /** `<smbios mode>`: emulate, host, sysinfo. */
  smbios?: string;
  /** `<bios useserial rebootTimeout>`. */
  bios?: OsBios;
}

/** `<feature enabled name>` inside `<os><firmware>`. */
export interface FirmwareFeature extends WithExtra {
  /** `enabled`: yes / no. */
  enabled: string;
  /** `name`: enrolled-keys, secure-boot. */
  name: string;
}

/** `<nvram>`. */
export interface OsNvram extends WithExtra {
  /** The text: the per-domain variable store path. */
  path?: string;
  /** `template`. */
  template?: string;
  /** `format`. */
  format?: string;
}

/** `<bootmenu enable timeout>`. */
export interface OsBootMenu extends WithExtra {
  /** `enable`: yes / no. */
  enable: string;
  /** `timeout` (ms). */
  timeout?: number;
}

/** `<bios useserial rebootTimeout>`. */
export interface OsBios extends WithExtra {
  /** `useserial`: yes / no. */
  useserial?: string;
  /** `rebootTimeout` (ms; -1 disables). */
  rebootTimeout?: number;
}

/** `<loader>`. */
export interface OsLoader extends WithExtra {
  /** The text: the firmware image path. */
  path?: string;
  /** `readonly`: yes / no. */
  readonly?: string;
  /** `secure`: yes / no. */
  secure?: string;
  /** `type`: rom / pflash. */
  type?: string;
  /** `stateless`: yes / no. */
  stateless?: string;
  /** `format`: raw / qcow2. */
  format?: string;
}

/** `<cpu>`. */
export interface DomainCpu extends WithExtra {
  /** `mode`: custom, host-model, host-passthrough, maximum. */
  mode?: string;
  /** `match`: minimum, exact, strict. */
  match?: string;
  /** `check`: none, partial, full. */
  check?: string;
  /** `migratable`: on / off. */
  migratable?: string;
  /** `<model>` text. */
  model?: string;
  /** `<model fallback=…>`. */
  modelFallback?: string;
  /** `<model vendor_id=…>`. */
  modelVendorId?: string;
  /** `<vendor>`. */
  vendor?: string;
  /** `<topology>`. */
  topology?: CpuTopology;
  /** `<cache mode level>`. */
  cache?: CpuCache;
  /** `<feature policy name>`, in order. */
  features: CpuFeature[];
  /** `<numa><cell …/></numa>`. */
  numa?: CpuNuma;
}

/** `<cache level mode>` inside `<cpu>`. */
export interface CpuCache extends WithExtra {
  /** `level`. */
  level?: number;
  /** `mode`: emulate, passthrough, disable. */
  mode: string;
}

/** `<feature policy name>` inside `<cpu>`. */
export interface CpuFeature extends WithExtra {
  /** `policy`: force, require, optional, disable, forbid. */
  policy?: string;
  /** `name`: the CPU feature, e.g. `vmx`. */
  name: string;
}

/** `<topology sockets dies cores threads>`. */
export interface CpuTopology extends WithExtra {
  /** `sockets`. */
  sockets: number;
  /** `dies`. */
  dies?: number;
  /** `clusters`. */
  clusters?: number;
  /** `cores`. */
  cores: number;
  /** `threads`. */
  threads: number;
}

/** `<numa>` inside `<cpu>`. */
export interface CpuNuma extends WithExtra {
  /** `<cell>`. */
  cells: NumaCell[];
}

/** `<cell id cpus memory unit memAccess discard>`. */
export interface NumaCell extends WithExtra {
  /** `id`. */
  id?: number;
  /** `cpus`: a CPU set. */
  cpus?: string;
  /** `memory` in KiB. */
  memoryKiB: number;
  /** `memAccess`: shared / private. */
  memAccess?: string;
  /** `discard`: yes / no. */
  discard?: string;
}

/** `<clock>`. */
export interface DomainClock extends WithExtra {
  /** `offset`: utc, localtime, timezone, variable, absolute. */
  offset?: string;
  /** `timezone`. */
  timezone?: string;
  /** `adjustment` (seconds, or `reset`). */
  adjustment?: string;
  /** `basis`: utc / localtime. */
  basis?: string;
  /** `start` (absolute offset, epoch seconds). */
  start?: number;
  /** `<timer>`. */
  timers: ClockTimer[];
}

/** `<timer>`. */
export interface ClockTimer extends WithExtra {
  /** `name`: rtc, pit, hpet, kvmclock, tsc, hypervclock, … */
  name: string;
  /** `present`: yes / no. */
  present?: string;
  /** `tickpolicy`: delay, catchup, merge, discard. */
  tickpolicy?: string;
  /** `track`: boot, guest, wall, realtime. */
  track?: string;
  /** `frequency` (Hz). */
  frequency?: number;
  /** `mode`: auto, native, emulate, paravirt, smpsafe. */
  mode?: string;
}

/**
 * `<devices>`. Every typed list is always present (empty when there are none), so code can
 * iterate without checks. Device kinds the model does not type are kept in `extra`.
 */
export interface DomainDevices extends WithExtra {
  /** `<emulator>`: the hypervisor binary. */
  emulator?: string;
  /** `<disk>`. */
  disks: Disk[];
  /** `<controller>`. */
  controllers: Controller[];
  /** `<filesystem>`: present only when the document has some. */
  filesystems?: Filesystem[];
  /** `<interface>`. */
  interfaces: NetInterface[];
  /** `<smartcard>`. */
  smartcards: Smartcard[];
  /** `<serial>`. */
  serials: Chardev[];
  /** `<parallel>`. */
  parallels: Chardev[];
  /** `<console>`. */
  consoles: Chardev[];
  /** `<channel>`. */
  channels: Chardev[];
  /** `<input>`. */
  inputs: Input[];
  /** `<tpm>`. */
  tpms: Tpm[];
  /** `<graphics>`. */
  graphics: Graphics[];
  /** `<sound>`. */
  sounds: Sound[];
  /** `<video>`. */
  videos: Video[];
  /** `<hostdev>`. */
  hostdevs: Hostdev[];
  /** `<redirdev>`. */
  redirdevs: Redirdev[];
  /** `<hub>`. */
  hubs: Hub[];
  /** `<watchdog>`. */
  watchdogs: Watchdog[];
  /** `<memballoon>` (at most one). */
  memballoon?: Memballoon;
  /** `<rng>`. */
  rngs: Rng[];
  /** `<shmem>`. */
  shmems: Shmem[];
}

/**
 * A device address (`<address type=…>`). The parts of `pci`, `drive`, `usb`,
 * `virtio-serial` and `ccid` addresses are typed; other address types keep their attributes in
 * `extra`.
 */
export interface DeviceAddress extends WithExtra {
  /** `type`: pci, drive, usb, virtio-serial, ccid, ccw, isa, spapr-vio, dimm, … */
  type: string;
  /** pci `domain`. */
  domain?: number;
  /** pci / drive / usb / virtio-serial `bus`. */
  bus?: number;
  /** pci / ccid `slot`. */
  slot?: number;
  /** pci `function`. */
  function?: number;
  /** pci `multifunction`: on / off. */
  multifunction?: string;
  /** drive / virtio-serial / ccid `controller`. */
  controller?: number;
  /** drive `target`. */
  target?: number;
  /** drive `unit`. */
  unit?: number;
  /** usb `port` (`1.2.3` for a port behind hubs) or virtio-serial `port` (a number as text). */
  port?: string;
}

/** `<boot order loadparm>` of a device. */
export interface DeviceBoot extends WithExtra {
  /** `order`: 1-based boot priority. */
  order: number;
  /** `loadparm` (s390). */
  loadparm?: string;
}

/** `<disk>`. */
export interface Disk extends WithExtra {
  /** `type`: file (libvirt's default when absent), block, network, volume, dir, nvme, vhostuser. */
  type?: string;
  /** `device`: disk (default), cdrom, floppy, lun. */
  device?: string;
  /** `snapshot`. */
  snapshot?: string;
  /** `model`: virtio, virtio-transitional, … */
  model?: string;
  /** `rawio`: yes / no. */
  rawio?: string;
  /** `sgio`: filtered / unfiltered. */
  sgio?: string;
  /** `<driver>`. */
  driver?: DiskDriver;
  /** `<source>`; absent for an empty CD-ROM. */
  source?: DiskSource;
  /** `<backingStore>`: the next image of the chain; `{}` marks the end of a known chain. */
  backingStore?: BackingStore;
  /**
   * `<mirror>`: output only, in the live XML while a block copy or an active commit runs (see
   * `withBlockJobMirrors` in block_jobs.ts); ignored on input, as libvirt ignores it.
   */
  mirror?: DiskMirror;
  /** `<target dev bus>`. */
  target: DiskTarget;
  /** `<readonly/>`. */
  readonly?: boolean;
  /** `<shareable/>`. */
  shareable?: boolean;
  /** `<transient/>`. */
  transient?: boolean;
  /** `<serial>`. */
  serial?: string;
  /** `<wwn>`. */
  wwn?: string;
  /** `<vendor>`. */
  vendor?: string;
  /** `<product>`. */
  product?: string;
  /** `<boot>`. */
  boot?: DeviceBoot;
  /** `<alias name>`. */
  alias?: string;
  /** `<address>`. */
  address?: DeviceAddress;
}

/** `<driver>` of a disk. */
export interface DiskDriver extends WithExtra {
  /** `name`: qemu, … */
  name?: string;
  /** `type`: the image format (raw, qcow2, …). */
  type?: string;
  /** `cache`: default, none, writethrough, writeback, directsync, unsafe. */
  cache?: string;
  /** `io`: threads, native, io_uring. */
  io?: string;
  /** `discard`: unmap / ignore. */
  discard?: string;
  /** `error_policy`. */
  errorPolicy?: string;
  /** `detect_zeroes`. */
  detectZeroes?: string;
  /** `copy_on_read`. */
  copyOnRead?: string;
  /** `iothread`. */
  iothread?: number;
  /** `queues`. */
  queues?: number;
}

/** `<source>` of a disk or backing store; which fields apply depends on the disk type. */
export interface DiskSource extends WithExtra {
  /** `file` (type file). */
  file?: string;
  /** `dev` (type block). */
  dev?: string;
  /** `dir` (type dir). */
  dir?: string;
  /** `protocol` (type network): nbd, rbd, iscsi, http, … */
  protocol?: string;
  /** `name` (type network): the image or export name. */
  name?: string;
  /** `pool` (type volume). */
  pool?: string;
  /** `volume` (type volume). */
  volume?: string;
  /** `mode` (type volume): host / direct. */
  mode?: string;
  /** `startupPolicy`: mandatory, requisite, optional. */
  startupPolicy?: string;
  /** `index`: the backing chain index in live XML. */
  index?: number;
  /** `<host name port transport socket>` (type network). */
  hosts: SourceHost[];
}

/** `<host>` of a network disk source. */
export interface SourceHost extends WithExtra {
  /** `name`: host name or address. */
  name?: string;
  /** `port`. */
  port?: number;
  /** `transport`: tcp, unix, rdma. */
  transport?: string;
  /** `socket`: a unix socket path. */
  socket?: string;
}

/** `<mirror>` of a disk: where a block job writes (a copy's destination, an active commit's base). */
export interface DiskMirror extends WithExtra {
  /** `type`: `file` or `block`. */
  type: string;
  /** `file`: a copy's destination (libvirt's older form, kept beside `<source>`). */
  file?: string;
  /** `format`: a copy's destination format (the older form). */
  fileFormat?: string;
  /** `job`: `copy` or `active-commit`. */
  job: string;
  /** `ready`: `yes` once synchronized, `abort` or `pivot` while being ended. */
  ready?: string;
  /** `<format type>`. */
  format?: string;
  /** `<source>`, with its image index. */
  source?: DiskSource;
}

/** `<backingStore>`: one layer of a backing chain; all fields absent for `<backingStore/>`. */
export interface BackingStore extends WithExtra {
  /** `type`, as for a disk. */
  type?: string;
  /** `index`. */
  index?: number;
  /** `<format type>`. */
  format?: string;
  /** `<source>`. */
  source?: DiskSource;
  /** The next `<backingStore>`. */
  backingStore?: BackingStore;
}

/** `<target>` of a disk. */
export interface DiskTarget extends WithExtra {
  /** `dev`: the guest device name, e.g. `vda`, `sda`, `hdc`. */
  dev: string;
  /** `bus`: virtio, scsi, ide, sata, usb, fdc, xen, sd. */
  bus?: string;
  /** `tray`: open / closed. */
  tray?: string;
  /** `removable`: on / off. */
  removable?: string;
  /** `rotation_rate`. */
  rotationRate?: number;
}

/** `<controller>`. */
export interface Controller extends WithExtra {
  /** `type`: pci, usb, scsi, ide, sata, fdc, virtio-serial, ccid, xenbus, isa. */
  type: string;
  /** `index`; absent lets libvirt assign one. */
  index?: number;
  /** `model`: pci-root, pcie-root, pcie-root-port, qemu-xhci, ich9-ehci1, virtio-scsi, … */
  model?: string;
  /** `ports` (usb, virtio-serial). */
  ports?: number;
  /** `vectors` (virtio-serial). */
  vectors?: number;
  /** `<model name>` (pci controllers). */
  modelName?: string;
  /** `<target …>` attributes (pci: chassisNr, chassis, port, busNr, index, hotplug; …). */
  target?: Record<string, string>;
  /** `<driver …>` attributes (queues, iothread, …). */
  driver?: Record<string, string>;
  /** `<master startport>` (usb companion controllers). */
  masterStartport?: number;
  /** `<alias name>`. */
  alias?: string;
  /** `<address>`. */
  address?: DeviceAddress;
}

/** `<interface>`. */
export interface NetInterface extends WithExtra {
  /** `type`: user, network, bridge, ethernet, direct, vhostuser, hostdev, … */
  type: string;
  /** `trustGuestRxFilters`: yes / no. */
  trustGuestRxFilters?: string;
  /** `<mac address>`. */
  mac?: string;
  /** `<source …>` attributes: `network`, `bridge`, `dev` + `mode` (direct), `portgroup`, … */
  source?: Record<string, string>;
  /** `<ip>`: addresses the guest side is given (LXC); present only when some are. */
  ips?: GuestIp[];
  /** `<route>`: routes the guest side is given (LXC); present only when some are. */
  routes?: GuestRoute[];
  /** `<guest dev>`: the device name inside the guest (LXC: the container's end of the veth). */
  guestDev?: string;
  /** `<model type>`: virtio, e1000, rtl8139, … */
  model?: string;
  /** `<target dev managed>`: the host-side device. */
  target?: InterfaceTarget;
  /** `<mtu size>`. */
  mtu?: number;
  /** `<driver …>` attributes (name, queues, txmode, …). */
  driver?: Record<string, string>;
  /** `<link state>`: up / down. */
  link?: string;
  /** `<boot>`. */
  boot?: DeviceBoot;
  /** `<alias name>`. */
  alias?: string;
  /** `<address>`. */
  address?: DeviceAddress;
}

/** `<target dev managed>` of an interface. */
export interface InterfaceTarget extends WithExtra {
  /** `dev`: the host tap or macvtap name. */
  dev?: string;
  /** `managed`: yes / no. */
  managed?: string;
}

/**
 * A character device: `<serial>`, `<parallel>`, `<console>`, `<channel>`, and the host side of
 * `<smartcard mode='passthrough'>`, `<redirdev>` and an `egd` `<rng>` backend.
 */
export interface Chardev extends WithExtra {
  /** `type`: pty, file, unix, tcp, udp, dev, pipe, stdio, null, vc, spicevmc, spiceport, …; a `<console>` may have none. */
  type?: string;
  /** `tty` (live pty path). */
  tty?: string;
  /** `<source>` elements; udp has a bind and a connect source. */
  sources: ChardevSource[];
  /** `<protocol type>` (tcp): raw, telnet, telnets, tls. */
  protocol?: string;
  /** `<log file append>`. */
  log?: ChardevLog;
  /** `<target>` (not for smartcard, redirdev and rng backends). */
  target?: ChardevTarget;
  /** `<alias name>`. */
  alias?: string;
  /** `<address>`. */
  address?: DeviceAddress;
}

/** `<log file append>` of a character device. */
export interface ChardevLog extends WithExtra {
  /** `file`. */
  file: string;
  /** `append`: on / off. */
  append?: string;
}

/** `<source>` of a character device. */
export interface ChardevSource extends WithExtra {
  /** `mode`: bind / connect. */
  mode?: string;
  /** `path` (file, unix, dev, pipe, pty). */
  path?: string;
  /** `host` (tcp, udp). */
  host?: string;
  /** `service` (tcp, udp): the port. */
  service?: string;
  /** `tls` (tcp): yes / no. */
  tls?: string;
  /** `append` (file): on / off. */
  append?: string;
  /** `channel` (spiceport). */
  channel?: string;
  /** `master` (nmdm). */
  master?: string;
  /** `slave` (nmdm). */
  slave?: string;
  /** `<reconnect enabled timeout>` (tcp, unix client). */
  reconnect?: ChardevReconnect;
}

/** `<reconnect enabled timeout>` of a character device source. */
export interface ChardevReconnect extends WithExtra {
  /** `enabled`: yes / no. */
  enabled: string;
  /** `timeout` (seconds). */
  timeout?: number;
}

/** `<target>` of a character device. */
export interface ChardevTarget extends WithExtra {
  /** `type`: isa-serial, usb-serial, pci-serial, serial, virtio, guestfwd, xen, … */
  type?: string;
  /** `port`. */
  port?: number;
  /** `name` (virtio channels). */
  name?: string;
  /** `address` (guestfwd). */
  address?: string;
  /** `state` (live virtio channels): connected / disconnected. */
  state?: string;
  /** `<model name>` (serial). */
  model?: string;
}

/** `<smartcard mode=…>`. */
export interface Smartcard extends WithExtra {
  /** `mode`: host, host-certificates, passthrough. */
  mode: string;
  /** `type` of the passthrough character device (tcp, spicevmc, unix, …). */
  type?: string;
  /** `<certificate>` texts (host-certificates). */
  certificates: string[];
  /** `<database>` (host-certificates). */
  database?: string;
  /** The passthrough character device's `<source>` elements. */
  sources: ChardevSource[];
  /** The passthrough character device's `<protocol type>`. */
  protocol?: string;
  /** `<alias name>`. */
  alias?: string;
  /** `<address>`. */
  address?: DeviceAddress;
}

/** `<redirdev bus type>`: USB redirection over a character device. */
export interface Redirdev extends WithExtra {
  /** `bus`: usb. */
  bus?: string;
  /** `type`: the character device type (spicevmc, tcp, unix, …). */
  type: string;
  /** `<source>` elements. */
  sources: ChardevSource[];
  /** `<protocol type>`. */
  protocol?: string;
  /** `<boot>`. */
  boot?: DeviceBoot;
  /** `<alias name>`. */
  alias?: string;
  /** `<address>`. */
  address?: DeviceAddress;
}

/** `<graphics>`. */
export interface Graphics extends WithExtra {
  /** `type`: vnc, spice, sdl, rdp, desktop, egl-headless, dbus. */
  type: string;
  /** `port` (-1: assign automatically). */
  port?: number;
  /** `autoport`: yes / no. */
  autoport?: string;
  /** `websocket`. */
  websocket?: number;
  /** `tlsPort` (spice). */
  tlsPort?: number;
  /** `listen`: the listen address attribute (older form of `<listen>`). */
  listen?: string;
  /** `socket` (vnc). */
  socket?: string;
  /** `passwd`: only formatted with `secure`. */
  passwd?: string;
  /** `passwdValidTo`. */
  passwdValidTo?: string;
  /** `connected`: keep, disconnect, fail. */
  connected?: string;
  /** `keymap`. */
  keymap?: string;
  /** `sharePolicy` (vnc). */
  sharePolicy?: string;
  /** `defaultMode` (spice). */
  defaultMode?: string;
  /** `display` (sdl). */
  display?: string;
  /** `xauth` (sdl). */
  xauth?: string;
  /** `fullscreen` (sdl, rdp, desktop). */
  fullscreen?: string;
  /** `<listen>` elements. */
  listens: GraphicsListen[];
  /** `<gl enable rendernode>`. */
  gl?: GraphicsGl;
}

/** `<gl enable rendernode>` of graphics. */
export interface GraphicsGl extends WithExtra {
  /** `enable`: yes / no. */
  enable?: string;
  /** `rendernode`. */
  rendernode?: string;
}

/** `<listen type …>` of graphics. */
export interface GraphicsListen extends WithExtra {
  /** `type`: address, network, socket, none. */
  type: string;
  /** `address`. */
  address?: string;
  /** `network`. */
  network?: string;
  /** `socket`. */
  socket?: string;
  /** `autoGenerated`: yes / no (libvirt-internal). */
  autoGenerated?: string;
}

/** `<video>`. */
export interface Video extends WithExtra {
  /** `<model …>`. */
  model?: VideoModel;
  /** `<driver …>` attributes. */
  driver?: Record<string, string>;
  /** `<alias name>`. */
  alias?: string;
  /** `<address>`. */
  address?: DeviceAddress;
}

/** `<model>` of a video device. */
export interface VideoModel extends WithExtra {
  /** `type`: vga, cirrus, qxl, virtio, bochs, ramfb, none, … */
  type: string;
  /** `vram` (KiB). */
  vram?: number;
  /** `vram64` (KiB). */
  vram64?: number;
  /** `ram` (KiB). */
  ram?: number;
  /** `vgamem` (KiB). */
  vgamem?: number;
  /** `heads`. */
  heads?: number;
  /** `primary`: yes / no. */
  primary?: string;
  /** `blob`: on / off. */
  blob?: string;
}

/** `<input type bus>`. */
export interface Input extends WithExtra {
  /** `type`: mouse, tablet, keyboard, passthrough, evdev. */
  type: string;
  /** `bus`: ps2, usb, virtio, xen. */
  bus?: string;
  /** `model`. */
  model?: string;
  /** `<source …>` attributes (evdev, passthrough). */
  source?: Record<string, string>;
  /** `<alias name>`. */
  alias?: string;
  /** `<address>`. */
  address?: DeviceAddress;
}

/** `<sound model>`. */
export interface Sound extends WithExtra {
  /** `model`: ich6, ich9, ac97, es1370, sb16, usb, ich7, … */
  model: string;
  /** `<codec type>`s. */
  codecs: string[];
  /** `<audio id>`: the backend this device uses. */
  audioId?: number;
  /** `<alias name>`. */
  alias?: string;
  /** `<address>`. */
  address?: DeviceAddress;
}

/** `<hostdev mode type>`: a host device assigned to the guest. */
export interface Hostdev extends WithExtra {
  /** `mode`: subsystem (libvirt's default when absent) / capabilities. */
  mode?: string;
  /** `type`: pci, usb, scsi, scsi_host, mdev (subsystem); storage, misc, net (capabilities). */
  type: string;
  /** `managed`: yes / no. */
  managed?: string;
  /** `model` (mdev): vfio-pci, vfio-ccw, vfio-ap. */
  model?: string;
  /** `display` (mdev): on / off. */
  display?: string;
  /** `<source>`: its address and, for usb, vendor and product ids; the rest stays in `extra`. */
  source?: HostdevSource;
  /** `<driver name>` (pci): vfio, kvm, xen. */
  driverName?: string;
  /** `<ip>` (capabilities `net`): addresses given to the interface in the container. */
  ips?: GuestIp[];
  /** `<route>` (capabilities `net`): routes given in the container. */
  routes?: GuestRoute[];
  /** `<readonly/>`. */
  readonly?: boolean;
  /** `<shareable/>`. */
  shareable?: boolean;
  /** `<boot>`. */
  boot?: DeviceBoot;
  /** `<rom …>` attributes (bar, file, enabled). */
  rom?: Record<string, string>;
  /** `<alias name>`. */
  alias?: string;
  /** `<address>`: where the guest sees it. */
  address?: DeviceAddress;
}

/** `<source>` of a host device. */
export interface HostdevSource extends WithExtra {
  /** `startupPolicy` (usb). */
  startupPolicy?: string;
  /** `<vendor id>` (usb). */
  vendor?: string;
  /** `<product id>` (usb). */
  product?: string;
  /**
   * `<address …>` attributes of the host device: pci `domain bus slot function`, usb
   * `bus device`, scsi `bus target unit`, mdev `uuid`.
   */
  address?: Record<string, string>;
  /** `<adapter name>` (scsi). */
  adapter?: string;
  /** `<block>` (capabilities `storage`): the host block device. */
  block?: string;
  /** `<char>` (capabilities `misc`): the host character device. */
  char?: string;
  /** `<interface>` (capabilities `net`): the host network interface moved into the container. */
  interface?: string;
}

/** `<blkiotune>`. */
export interface BlkioTune extends WithExtra {
  /** `<weight>`: 100–1000 (cgroup v1 blkio.weight; v2 io.weight). */
  weight?: number;
  /** `<device>` entries, one per host block device. */
  devices: BlkioDevice[];
}

/** `<blkiotune><device>`: one host block device's weight and throttles. */
export interface BlkioDevice extends WithExtra {
  /** `<path>`: the host block device (`/dev/sda`, `/dev/block/8:0`). */
  path?: string;
  /** `<weight>`. */
  weight?: number;
  /** `<read_iops_sec>`. */
  readIopsSec?: number;
  /** `<write_iops_sec>`. */
  writeIopsSec?: number;
  /** `<read_bytes_sec>`. */
  readBytesSec?: number;
  /** `<write_bytes_sec>`. */
  writeBytesSec?: number;
}

/** `<memtune>`: limits in KiB; absent means unlimited. */
export interface MemTune extends WithExtra {
  /** `<hard_limit>`. */
  hardLimitKiB?: number;
  /** `<soft_limit>`. */
  softLimitKiB?: number;
  /** `<swap_hard_limit>`: memory plus swap. */
  swapHardLimitKiB?: number;
  /** `<min_guarantee>`. */
  minGuaranteeKiB?: number;
}

/** `<initenv name>value</initenv>`: one variable of an LXC init's environment. */
export interface InitEnv extends WithExtra {
  /** `name`. */
  name: string;
  /** The text; absent for an empty value. */
  value?: string;
}

/** `<idmap>`: a user namespace's uid and gid maps. */
export interface IdMap extends WithExtra {
  /** `<uid>` ranges. */
  uids: IdMapRange[];
  /** `<gid>` ranges. */
  gids: IdMapRange[];
}

/** `<uid start target count>` / `<gid …>`: ids `start`… in the container are `target`… on the host. */
export interface IdMapRange extends WithExtra {
  /** `start`: the first id inside the container. */
  start: number;
  /** `target`: the host id it maps to. */
  target: number;
  /** `count`: how many ids. */
  count: number;
}

/** `<ip address family prefix peer>` given to a guest-side interface. */
export interface GuestIp extends WithExtra {
  /** `address`. */
  address: string;
  /** `family`: ipv4 / ipv6. */
  family?: string;
  /** `prefix`. */
  prefix?: number;
  /** `peer`. */
  peer?: string;
}

/** `<route family address netmask prefix gateway metric>` given to a guest-side interface. */
export interface GuestRoute extends WithExtra {
  /** `family`: ipv4 / ipv6. */
  family?: string;
  /** `address`: the destination network. */
  address: string;
  /** `netmask`. */
  netmask?: string;
  /** `prefix`. */
  prefix?: number;
  /** `gateway`. */
  gateway: string;
  /** `metric`. */
  metric?: number;
}

/**
 * `<filesystem>`: a host directory, block device, image file or RAM filesystem in the guest.
 * For LXC: `mount` (bind mount of `source.dir`), `block` (`source.dev`), `file` (`source.file`
 * image), `ram` (tmpfs of `source.usageKiB`), `bind` (`source.dir` of the container itself).
 */
export interface Filesystem extends WithExtra {
  /** `type`: mount (libvirt's default when absent), block, file, template, ram, bind, volume. */
  type?: string;
  /** `accessmode`: passthrough (libvirt's default), mapped, squash. */
  accessmode?: string;
  /** `model` (QEMU 9p): virtio, virtio-transitional, virtio-non-transitional. */
  model?: string;
  /** `multidevs` (QEMU 9p). */
  multidevs?: string;
  /** `fmode` (QEMU 9p, mapped). */
  fmode?: string;
  /** `dmode` (QEMU 9p, mapped). */
  dmode?: string;
  /** `<driver>`. */
  driver?: FilesystemDriver;
  /** `<source>`. */
  source?: FilesystemSource;
  /** `<target dir>`. */
  target?: FilesystemTarget;
  /** `<readonly/>`. */
  readonly?: boolean;
  /** `<alias name>`. */
  alias?: string;
  /** `<address>`. */
  address?: DeviceAddress;
}

/** `<filesystem><driver>`. */
export interface FilesystemDriver extends WithExtra {
  /** `type`: path, handle, loop, nbd, ploop, virtiofs. */
  type?: string;
  /** `format` (loop/nbd images): raw, qcow2, … */
  format?: string;
  /** `name`. */
  name?: string;
  /** `wrpolicy`: immediate. */
  wrpolicy?: string;
  /** `queue` (virtiofs). */
  queue?: number;
}

/** `<filesystem><source>`: which attribute applies follows the filesystem type. */
export interface FilesystemSource extends WithExtra {
  /** `dir` (mount, bind). */
  dir?: string;
  /** `file` (file). */
  file?: string;
  /** `dev` (block). */
  dev?: string;
  /** `name` (template, volume). */
  name?: string;
  /** `socket` (virtiofs). */
  socket?: string;
  /** `usage` (ram) in KiB, whatever `units` the XML used. */
  usageKiB?: number;
}

/** `<filesystem><target dir>`. */
export interface FilesystemTarget extends WithExtra {
  /** `dir`: where it appears in the guest. */
  dir?: string;
}

/** `<hub type>`: a USB hub. */
export interface Hub extends WithExtra {
  /** `type`: usb. */
  type: string;
  /** `<alias name>`. */
  alias?: string;
  /** `<address>`: its own USB port. */
  address?: DeviceAddress;
}

/** `<watchdog model action>`. */
export interface Watchdog extends WithExtra {
  /** `model`: i6300esb, ib700, diag288, itco. */
  model: string;
  /** `action`: reset, shutdown, poweroff, pause, none, dump, inject-nmi. */
  action?: string;
  /** `<alias name>`. */
  alias?: string;
  /** `<address>`. */
  address?: DeviceAddress;
}

/** `<memballoon model>`. */
export interface Memballoon extends WithExtra {
  /** `model`: virtio, virtio-transitional, xen, none. */
  model: string;
  /** `autodeflate`: on / off. */
  autodeflate?: string;
  /** `freePageReporting`: on / off. */
  freePageReporting?: string;
  /** `<stats period>` (seconds). */
  statsPeriod?: number;
  /** `<driver …>` attributes. */
  driver?: Record<string, string>;
  /** `<alias name>`. */
  alias?: string;
  /** `<address>`. */
  address?: DeviceAddress;
}

/** `<rng model>`. */
export interface Rng extends WithExtra {
  /** `model`: virtio, virtio-transitional, virtio-non-transitional. */
  model: string;
  /** `<rate bytes period>`. */
  rate?: RngRate;
  /** `<backend model>`. */
  backend: RngBackend;
  /** `<driver …>` attributes. */
  driver?: Record<string, string>;
  /** `<alias name>`. */
  alias?: string;
  /** `<address>`. */
  address?: DeviceAddress;
}

/** `<rate bytes period>` of an rng device. */
export interface RngRate extends WithExtra {
  /** `bytes` per period. */
  bytes: number;
  /** `period` (ms). */
  period?: number;
}

/** `<backend model>` of an rng device. */
export interface RngBackend extends WithExtra {
  /** `model`: random, egd, builtin. */
  model: string;
  /** The text of a `random` backend: the host source, e.g. `/dev/urandom`. */
  path?: string;
  /** `type` of an `egd` backend's character device. */
  type?: string;
  /** An `egd` backend's `<source>` elements. */
  sources: ChardevSource[];
  /** An `egd` backend's `<protocol type>`. */
  protocol?: string;
}

/** `<tpm model>`. */
export interface Tpm extends WithExtra {
  /** `model`: tpm-tis, tpm-crb, tpm-spapr, spapr-tpm-proxy. */
  model?: string;
  /** `<backend …>`. */
  backend: TpmBackend;
  /** `<alias name>`. */
  alias?: string;
  /** `<address>`. */
  address?: DeviceAddress;
}

/** `<backend type …>` of a TPM. */
export interface TpmBackend extends WithExtra {
  /** `type`: passthrough, emulator, external. */
  type: string;
  /** `version`: 1.2 / 2.0. */
  version?: string;
  /** `persistent_state`: yes / no. */
  persistentState?: string;
  /** `<device path>` (passthrough). */
  devicePath?: string;
  /** `<encryption secret>` (emulator). */
  encryptionSecret?: string;
}

/** `<shmem name>`: inter-VM shared memory. */
export interface Shmem extends WithExtra {
  /** `name`. */
  name: string;
  /** `role`: master / peer. */
  role?: string;
  /** `<model type>`: ivshmem, ivshmem-plain, ivshmem-doorbell. */
  model?: string;
  /** `<size>` in KiB. */
  sizeKiB?: number;
  /** `<alias name>`. */
  alias?: string;
  /** `<address>`. */
  address?: DeviceAddress;
}

/**
 * A `devices` value with every typed list empty.
 *
 * @example
 * ```ts
 * import { emptyDevices } from "./domain.ts";
 * console.log(emptyDevices().disks.length); // 0
 * ```
 */
export function emptyDevices(): DomainDevices {
  return {
    disks: [],
    controllers: [],
    interfaces: [],
    smartcards: [],
    serials: [],
    parallels: [],
    consoles: [],
    channels: [],
    inputs: [],
    tpms: [],
    graphics: [],
    sounds: [],
    videos: [],
    hostdevs: [],
    redirdevs: [],
    hubs: [],
    watchdogs: [],
    rngs: [],
    shmems: [],
  };
}
