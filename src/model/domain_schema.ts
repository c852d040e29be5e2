/**
 * The mapping between the typed domain model ({@linkcode DomainDefinition}) and libvirt's
 * domain XML, as data: for every typed element, which attribute, text and child element feeds
 * which field, with what kind of value, in libvirt's element order.
 *
 * One description serves three readers: the XML parser and formatter (`src/xml`) and the JSON
 * form's validator ({@linkcode domainFromJson}), so the three cannot drift apart. Anything an
 * element holds that its description does not name is kept in the object's `extra`.
 *
 * @module
 */

/**
 * How a value is read from and written to XML:
 * - `string`: verbatim;
 * - `uint` / `int`: a decimal integer (XML may add surrounding whitespace and a `+`);
 * - `hex1` / `hex2` / `hex4`: an integer read as C `strtoul(…, 0)` does (`0x` hex, leading `0`
 *   octal, else decimal) and written as `0x` with at least 1, 2 or 4 hex digits (PCI addresses);
 * - `cuint`: read the same way, written in decimal (USB bus numbers, audio ids);
 * - `sizeKiB`: a scaled integer with a `unit` (default KiB), stored in KiB, written with
 *   `unit='KiB'`.
 */
export type ValueKind = "string" | "uint" | "int" | "cuint" | "hex1" | "hex2" | "hex4" | "sizeKiB";

/** One attribute (or the text) of an element and the field it feeds. */
export interface ValueSpec {
  /** The attribute's XML name; `#text` for the element's text. */
  xml: string;
  /** The field; `a.b` puts it in sub-object `a` (created when needed). */
  field: string;
  /** How the value is read and written. */
  value: ValueKind;
  /** Whether parsing fails (code 27) when it is missing. */
  required?: boolean;
  /** For `sizeKiB` attributes: the sibling attribute that holds the unit. */
  unitAttribute?: string;
  /** A field value that stands for "absent": the field is set to it when the element is missing and the element is left out when formatting it. */
  absent?: string | number;
}

/** An element the model types as an object of its own (which may carry an `extra`). */
export interface ElementSpec {
  /** Attributes, in libvirt's order. */
  attributes: ValueSpec[];
  /** The element's text, when a field takes it. */
  text?: ValueSpec;
  /** Child elements, in libvirt's order. */
  children: ChildSpec[];
  /** Extra attribute descriptions chosen by the value of `on` (the address `type`). */
  variants?: { on: string; cases: Record<string, ValueSpec[]> };
  /**
   * Children kept verbatim that libvirt still formats in its order: each goes right after the
   * typed child `after` (and after those listed before it with the same `after`).
   */
  kept?: { xml: string; after: string }[];
}

/**
 * How a child element maps to fields.
 * - `object`: its own typed object in `field` (an array when `many`);
 * - `flat`: its attributes and text feed fields of the parent object (`<type arch>hvm</type>`);
 * - `list`: each occurrence gives one value (an attribute, or the text) to the array `field`;
 * - `flag`: `true` in `field` when present (`<readonly/>`);
 * - `attributes`: all its attributes as a string record in `field`;
 * - `map`: each of its children by name, as a record of attribute records (`<features>`);
 * - `elements`: its child elements verbatim (`<metadata>`);
 * - `wrapped`: its children named `item` are objects in the array `field`, present when the
 *   wrapper is (`<firmware><feature/>`).
 */
export type ChildSpec =
  | {
    kind: "object";
    xml: string;
    field: string;
    spec: () => ElementSpec;
    /** An array of objects, one per occurrence; always present (empty when none). */
    many?: boolean;
    /** Parsing fails (code 27) when the element is missing. */
    required?: boolean;
    /** Always present: a missing element reads as an empty one (and is formatted, as libvirt does). */
    implied?: boolean;
    /** With `many`: the array is present only when the element occurs (fields added after version 1 of the JSON form). */
    optional?: boolean;
  }
  | { kind: "flat"; xml: string; text?: ValueSpec; attributes: ValueSpec[] }
  | {
    kind: "list";
    xml: string;
    field: string;
    attribute?: string;
    value: ValueKind;
    /** The array is present only when the element occurs (fields added after version 1 of the JSON form). */
    optional?: boolean;
  }
  | { kind: "flag"; xml: string; field: string }
  | { kind: "attributes"; xml: string; field: string }
  | {
    kind: "map";
    xml: string;
    field: string;
    /**
     * One child of the map whose own children are toggles (`<capabilities><mknod state='on'/>`):
     * each toggle's `attribute` goes, by the toggle's element name, into the record `field` of
     * the parent object.
     */
    toggles?: { feature: string; field: string; attribute: string };
  }
  | { kind: "elements"; xml: string; field: string }
  | { kind: "wrapped"; xml: string; field: string; item: string; spec: () => ElementSpec };

// Small constructors keep the tables below readable.
function camel(xml: string): string {
  return xml.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}
function str(xml: string, field = camel(xml)): ValueSpec {
  return { xml, field, value: "string" };
}
function need(spec: ValueSpec): ValueSpec {
  return { ...spec, required: true };
}
function uint(xml: string, field = camel(xml)): ValueSpec {
  return { xml, field, value: "uint" };
}
function int(xml: string, field = camel(xml)): ValueSpec {
  return { xml, field, value: "int" };
}
function textOf(field: string, value: ValueKind = "string"): ValueSpec {
  return { xml: "#text", field, value };
}
function object(xml: string, spec: () => ElementSpec, field = camel(xml)): ChildSpec {
  return { kind: "object", xml, field, spec };
}
function many(xml: string, field: string, spec: () => ElementSpec): ChildSpec {
  return { kind: "object", xml, field, spec, many: true };
}
function optionalMany(xml: string, field: string, spec: () => ElementSpec): ChildSpec {
  return { kind: "object", xml, field, spec, many: true, optional: true };
}
function flatText(xml: string, field = camel(xml), value: ValueKind = "string"): ChildSpec {
  return { kind: "flat", xml, text: textOf(field, value), attributes: [] };
}
function flatAttribute(
  xml: string,
  attribute: string,
  field: string,
  value: ValueKind = "string",
): ChildSpec {
  return { kind: "flat", xml, attributes: [{ xml: attribute, field, value }] };
}
function attributes(xml: string, field = camel(xml)): ChildSpec {
  return { kind: "attributes", xml, field };
}
function flag(xml: string, field = camel(xml)): ChildSpec {
  return { kind: "flag", xml, field };
}
function element(
  attributes: ValueSpec[],
  children: ChildSpec[] = [],
  text?: ValueSpec,
): ElementSpec {
  return text === undefined ? { attributes, children } : { attributes, children, text };
}

const alias = flatAttribute("alias", "name", "alias");
const address = object("address", () => ADDRESS);
const boot = object("boot", () => BOOT);

/** `<address>`: typed parts by address type; other types keep their attributes in `extra`. */
export const ADDRESS: ElementSpec = {
  attributes: [need(str("type"))],
  children: [],
  variants: {
    on: "type",
    cases: {
      pci: [
        { xml: "domain", field: "domain", value: "hex4" },
        { xml: "bus", field: "bus", value: "hex2" },
        { xml: "slot", field: "slot", value: "hex2" },
        { xml: "function", field: "function", value: "hex1" },
        str("multifunction"),
      ],
      drive: [uint("controller"), uint("bus"), uint("target"), uint("unit")],
      usb: [{ xml: "bus", field: "bus", value: "cuint" }, str("port")],
      "virtio-serial": [uint("controller"), uint("bus"), str("port")],
      ccid: [uint("controller"), uint("slot")],
    },
  },
};

const BOOT: ElementSpec = element([{ ...uint("order"), required: true }, str("loadparm")]);

const SOURCE_HOST: ElementSpec = element([
  str("name"),
  uint("port"),
  str("transport"),
  str("socket"),
]);

const DISK_SOURCE: ElementSpec = element(
  [
    str("file"),
    str("dev"),
    str("dir"),
    str("protocol"),
    str("name"),
    str("pool"),
    str("volume"),
    str("mode"),
    str("startupPolicy"),
    uint("index"),
  ],
  [many("host", "hosts", () => SOURCE_HOST)],
);

const BACKING_STORE: ElementSpec = element(
  [str("type"), uint("index")],
  [
    flatAttribute("format", "type", "format"),
    object("source", () => DISK_SOURCE),
    object("backingStore", () => BACKING_STORE),
  ],
);

const DISK_MIRROR: ElementSpec = element(
  [str("type"), str("file"), str("format", "fileFormat"), str("job"), str("ready")],
  [flatAttribute("format", "type", "format"), object("source", () => DISK_SOURCE)],
);

const DISK: ElementSpec = element(
  [str("type"), str("device"), str("model"), str("rawio"), str("sgio"), str("snapshot")],
  [
    object("driver", () =>
      element([
        str("name"),
        str("type"),
        str("cache"),
        str("error_policy"),
        str("io"),
        uint("iothread"),
        str("discard"),
        str("copy_on_read"),
        str("detect_zeroes"),
        uint("queues"),
      ])),
    object("source", () => DISK_SOURCE),
    object("backingStore", () => BACKING_STORE),
    object("mirror", () => DISK_MIRROR),
    {
      kind: "object",
      xml: "target",
      field: "target",
      required: true,
      spec: () =>
        element([
          need(str("dev")),
          str("bus"),
          str("tray"),
          str("removable"),
          uint("rotation_rate"),
        ]),
    },
    flag("readonly"),
    flag("shareable"),
    flag("transient"),
    flatText("serial"),
    flatText("wwn"),
    flatText("vendor"),
    flatText("product"),
    boot,
    alias,
    address,
  ],
);

const CONTROLLER: ElementSpec = element(
  [need(str("type")), uint("index"), str("model"), uint("ports"), uint("vectors")],
  [
    flatAttribute("model", "name", "modelName"),
    attributes("driver"),
    flatAttribute("master", "startport", "masterStartport", "uint"),
    attributes("target"),
    alias,
    address,
  ],
);

/** `<ip>` of an interface or a capabilities hostdev (the address the container's side gets). */
const GUEST_IP: ElementSpec = element([
  need(str("address")),
  str("family"),
  uint("prefix"),
  str("peer"),
]);

/** `<route>` of an interface or a capabilities hostdev. */
const GUEST_ROUTE: ElementSpec = element([
  str("family"),
  need(str("address")),
  str("netmask"),
  uint("prefix"),
  need(str("gateway")),
  uint("metric"),
]);

const guestIps = optionalMany("ip", "ips", () => GUEST_IP);
const guestRoutes = optionalMany("route", "routes", () => GUEST_ROUTE);

const INTERFACE: ElementSpec = element(
  [need(str("type")), str("trustGuestRxFilters")],
  [
    flatAttribute("mac", "address", "mac"),
    attributes("source"),
    guestIps,
    guestRoutes,
    object("target", () => element([str("dev"), str("managed")])),
    flatAttribute("guest", "dev", "guestDev"),
    flatAttribute("model", "type", "model"),
    attributes("driver"),
    flatAttribute("link", "state", "link"),
    flatAttribute("mtu", "size", "mtu", "uint"),
    boot,
    alias,
    address,
  ],
);

const CHARDEV_SOURCE: ElementSpec = element(
  [
    str("mode"),
    str("path"),
    str("host"),
    str("service"),
    str("channel"),
    str("master"),
    str("slave"),
    str("append"),
    str("tls"),
  ],
  [object("reconnect", () => element([need(str("enabled")), uint("timeout")]))],
);

const chardevSources = many("source", "sources", () => CHARDEV_SOURCE);
const chardevProtocol = flatAttribute("protocol", "type", "protocol");

const CHARDEV_TARGET: ElementSpec = element(
  [str("type"), str("address"), uint("port"), str("name"), str("state")],
  [flatAttribute("model", "name", "model")],
);

const CHARDEV: ElementSpec = element(
  [str("type"), str("tty")],
  [
    chardevSources,
    chardevProtocol,
    object("log", () => element([need(str("file")), str("append")])),
    object("target", () => CHARDEV_TARGET),
    alias,
    address,
  ],
);

const SMARTCARD: ElementSpec = element(
  [need(str("mode")), str("type")],
  [
    { kind: "list", xml: "certificate", field: "certificates", value: "string" },
    flatText("database"),
    chardevSources,
    chardevProtocol,
    alias,
    address,
  ],
);

const REDIRDEV: ElementSpec = element(
  [str("bus"), need(str("type"))],
  [chardevSources, chardevProtocol, boot, alias, address],
);

const GRAPHICS_LISTEN: ElementSpec = element([
  need(str("type")),
  str("address"),
  str("network"),
  str("socket"),
  str("autoGenerated"),
]);

const GRAPHICS: ElementSpec = element(
  [
    need(str("type")),
    str("display"),
    str("xauth"),
    str("fullscreen"),
    int("port"),
    int("tlsPort"),
    str("autoport"),
    int("websocket"),
    str("listen"),
    str("socket"),
    str("passwd"),
    str("passwdValidTo"),
    str("connected"),
    str("keymap"),
    str("sharePolicy"),
    str("defaultMode"),
  ],
  [
    many("listen", "listens", () => GRAPHICS_LISTEN),
    object("gl", () => element([str("enable"), str("rendernode")])),
  ],
);

const VIDEO: ElementSpec = element([], [
  attributes("driver"),
  object("model", () =>
    element([
      need(str("type")),
      uint("ram"),
      uint("vram"),
      uint("vram64"),
      uint("vgamem"),
      uint("heads"),
      str("primary"),
      str("blob"),
    ])),
  alias,
  address,
]);

const INPUT: ElementSpec = element(
  [need(str("type")), str("bus"), str("model")],
  [attributes("source"), alias, address],
);

const SOUND: ElementSpec = element(
  [need(str("model"))],
  [
    { kind: "list", xml: "codec", field: "codecs", attribute: "type", value: "string" },
    flatAttribute("audio", "id", "audioId", "cuint"),
    alias,
    address,
  ],
);

const HOSTDEV_SOURCE: ElementSpec = element(
  [str("startupPolicy")],
  [
    flatAttribute("vendor", "id", "vendor"),
    flatAttribute("product", "id", "product"),
    flatAttribute("adapter", "name", "adapter"),
    attributes("address"),
    flatText("block"),
    flatText("char"),
    flatText("interface"),
  ],
);

const HOSTDEV: ElementSpec = element(
  [str("mode"), need(str("type")), str("managed"), str("model"), str("display")],
  [
    flatAttribute("driver", "name", "driverName"),
    object("source", () => HOSTDEV_SOURCE),
    guestIps,
    guestRoutes,
    flag("readonly"),
    flag("shareable"),
    boot,
    attributes("rom"),
    alias,
    address,
  ],
);

const WATCHDOG: ElementSpec = element([need(str("model")), str("action")], [alias, address]);

const MEMBALLOON: ElementSpec = element(
  [need(str("model")), str("autodeflate"), str("freePageReporting")],
  [alias, flatAttribute("stats", "period", "statsPeriod", "uint"), address, attributes("driver")],
);

const RNG_BACKEND: ElementSpec = element(
  [need(str("model")), str("type")],
  [chardevSources, chardevProtocol],
  textOf("path"),
);

const RNG: ElementSpec = element(
  [need(str("model"))],
  [
    object("rate", () => element([need(uint("bytes")), uint("period")])),
    { kind: "object", xml: "backend", field: "backend", spec: () => RNG_BACKEND, required: true },
    attributes("driver"),
    alias,
    address,
  ],
);

const TPM_BACKEND: ElementSpec = element(
  [need(str("type")), str("version"), str("persistent_state")],
  [
    flatAttribute("device", "path", "devicePath"),
    flatAttribute("encryption", "secret", "encryptionSecret"),
  ],
);

const TPM: ElementSpec = element(
  [str("model")],
  [
    { kind: "object", xml: "backend", field: "backend", spec: () => TPM_BACKEND, required: true },
    alias,
    address,
  ],
);

const SHMEM: ElementSpec = element(
  [need(str("name")), str("role")],
  [
    flatAttribute("model", "type", "model"),
    { kind: "flat", xml: "size", text: textOf("sizeKiB", "sizeKiB"), attributes: [] },
    alias,
    address,
  ],
);

export const FILESYSTEM: ElementSpec = element(
  [str("type"), str("accessmode"), str("model"), str("multidevs"), str("fmode"), str("dmode")],
  [
    object(
      "driver",
      () => element([str("type"), str("format"), str("name"), str("wrpolicy"), uint("queue")]),
    ),
    object("source", () =>
      element([
        str("dir"),
        str("file"),
        str("dev"),
        str("name"),
        str("socket"),
        { xml: "usage", field: "usageKiB", value: "sizeKiB", unitAttribute: "units" },
      ])),
    object("target", () => element([str("dir")])),
    flag("readonly"),
    alias,
    address,
  ],
);

/**
 * `<devices>`, in the order libvirt formats device kinds; the kinds the model keeps verbatim
 * have their place too (so a `<vsock>` written before an `<rng>` is formatted after it, as
 * libvirt does).
 */
export const DEVICES: ElementSpec = {
  ...element([], [
    flatText("emulator"),
    many("disk", "disks", () => DISK),
    many("controller", "controllers", () => CONTROLLER),
    optionalMany("filesystem", "filesystems", () => FILESYSTEM),
    many("interface", "interfaces", () => INTERFACE),
    many("smartcard", "smartcards", () => SMARTCARD),
    many("serial", "serials", () => CHARDEV),
    many("parallel", "parallels", () => CHARDEV),
    many("console", "consoles", () => CHARDEV),
    many("channel", "channels", () => CHARDEV),
    many("input", "inputs", () => INPUT),
    many("tpm", "tpms", () => TPM),
    many("graphics", "graphics", () => GRAPHICS),
    many("sound", "sounds", () => SOUND),
    many("video", "videos", () => VIDEO),
    many("hostdev", "hostdevs", () => HOSTDEV),
    many("redirdev", "redirdevs", () => REDIRDEV),
    many("hub", "hubs", () => element([need(str("type"))], [alias, address])),
    many("watchdog", "watchdogs", () => WATCHDOG),
    object("memballoon", () => MEMBALLOON),
    many("rng", "rngs", () => RNG),
    many("shmem", "shmems", () => SHMEM),
  ]),
  kept: [
    { xml: "lease", after: "controller" },
    { xml: "audio", after: "sound" },
    { xml: "redirfilter", after: "redirdev" },
    { xml: "nvram", after: "rng" },
    { xml: "panic", after: "rng" },
    { xml: "memory", after: "shmem" },
    { xml: "iommu", after: "shmem" },
    { xml: "vsock", after: "shmem" },
    { xml: "crypto", after: "shmem" },
  ],
};

const SCHEDULER = [need(str("scheduler")), uint("priority")];
const MONITOR: ElementSpec = element([uint("level"), need(str("vcpus"))]);

const CPUTUNE: ElementSpec = element([], [
  flatText("shares", "shares", "uint"),
  flatText("period", "period", "uint"),
  flatText("quota", "quota", "int"),
  flatText("global_period", "globalPeriod", "uint"),
  flatText("global_quota", "globalQuota", "int"),
  flatText("emulator_period", "emulatorPeriod", "uint"),
  flatText("emulator_quota", "emulatorQuota", "int"),
  flatText("iothread_period", "iothreadPeriod", "uint"),
  flatText("iothread_quota", "iothreadQuota", "int"),
  many("vcpupin", "vcpupins", () => element([need(uint("vcpu")), need(str("cpuset"))])),
  { kind: "flat", xml: "emulatorpin", attributes: [need(str("cpuset", "emulatorpin"))] },
  many("iothreadpin", "iothreadpins", () => element([need(uint("iothread")), need(str("cpuset"))])),
  object("emulatorsched", () => element(SCHEDULER)),
  many("vcpusched", "vcpuscheds", () => element([need(str("vcpus")), ...SCHEDULER])),
  many("iothreadsched", "iothreadscheds", () => element([need(str("iothreads")), ...SCHEDULER])),
  many("cachetune", "cachetunes", () =>
    element([need(str("vcpus"))], [
      many("cache", "caches", () =>
        element([
          need(uint("id")),
          need(uint("level")),
          need(str("type")),
          need(uint("size")),
          str("unit"),
        ])),
      many("monitor", "monitors", () => MONITOR),
    ])),
  many("memorytune", "memorytunes", () =>
    element([need(str("vcpus"))], [
      many("node", "nodes", () => element([need(uint("id")), need(uint("bandwidth"))])),
      many("monitor", "monitors", () => MONITOR),
    ])),
]);

const NUMATUNE: ElementSpec = element([], [
  object("memory", () => element([str("mode"), str("nodeset"), str("placement")])),
  many("memnode", "memnodes", () => element([need(uint("cellid")), str("mode"), str("nodeset")])),
]);

const OS: ElementSpec = element([str("firmware")], [
  {
    kind: "flat",
    xml: "type",
    text: { ...textOf("type"), required: true },
    attributes: [str("arch"), str("machine")],
  },
  {
    kind: "wrapped",
    xml: "firmware",
    field: "firmwareFeatures",
    item: "feature",
    spec: () => element([need(str("enabled")), need(str("name"))]),
  },
  object("loader", () =>
    element(
      [str("readonly"), str("secure"), str("type"), str("format"), str("stateless")],
      [],
      textOf("path"),
    )),
  object("nvram", () => element([str("template"), str("format")], [], textOf("path"))),
  flatText("kernel"),
  flatText("initrd"),
  flatText("cmdline"),
  flatText("dtb"),
  flatText("init"),
  { kind: "list", xml: "initarg", field: "initargs", value: "string", optional: true },
  optionalMany("initenv", "initenvs", () => element([need(str("name"))], [], textOf("value"))),
  flatText("initdir"),
  flatText("inituser"),
  flatText("initgroup"),
  { kind: "list", xml: "boot", field: "boot", attribute: "dev", value: "string" },
  object("bootmenu", () => element([need(str("enable")), uint("timeout")])),
  flatAttribute("smbios", "mode", "smbios"),
  object("bios", () => element([str("useserial"), int("rebootTimeout")])),
]);

const NUMA_CELL: ElementSpec = element([
  uint("id"),
  str("cpus"),
  { xml: "memory", field: "memoryKiB", value: "sizeKiB", unitAttribute: "unit", required: true },
  str("memAccess"),
  str("discard"),
]);

const CPU: ElementSpec = element(
  [str("mode"), str("match"), str("check"), str("migratable")],
  [
    {
      kind: "flat",
      xml: "model",
      text: textOf("model"),
      attributes: [str("fallback", "modelFallback"), str("vendor_id", "modelVendorId")],
    },
    flatText("vendor"),
    object("topology", () =>
      element([
        need(uint("sockets")),
        uint("dies"),
        uint("clusters"),
        need(uint("cores")),
        need(uint("threads")),
      ])),
    object("cache", () => element([uint("level"), need(str("mode"))])),
    many("feature", "features", () => element([str("policy"), need(str("name"))])),
    object("numa", () => element([], [many("cell", "cells", () => NUMA_CELL)])),
  ],
);

const CLOCK: ElementSpec = element(
  [str("offset"), str("timezone"), str("adjustment"), str("basis"), uint("start")],
  [
    many("timer", "timers", () =>
      element([
        need(str("name")),
        str("present"),
        str("tickpolicy"),
        str("track"),
        uint("frequency"),
        str("mode"),
      ])),
  ],
);

/** `<blkiotune>`: block I/O weight and per-device throttles (cgroup blkio / io). */
const BLKIOTUNE: ElementSpec = element([], [
  flatText("weight", "weight", "uint"),
  many("device", "devices", () =>
    element([], [
      flatText("path"),
      flatText("weight", "weight", "uint"),
      flatText("read_iops_sec", "readIopsSec", "uint"),
      flatText("write_iops_sec", "writeIopsSec", "uint"),
      flatText("read_bytes_sec", "readBytesSec", "uint"),
      flatText("write_bytes_sec", "writeBytesSec", "uint"),
    ])),
]);

/** `<memtune>`: memory limits (cgroup memory), in KiB. */
const MEMTUNE: ElementSpec = element([], [
  flatText("hard_limit", "hardLimitKiB", "sizeKiB"),
  flatText("soft_limit", "softLimitKiB", "sizeKiB"),
  flatText("swap_hard_limit", "swapHardLimitKiB", "sizeKiB"),
  flatText("min_guarantee", "minGuaranteeKiB", "sizeKiB"),
]);

/** One range of a user namespace's id map: container ids `start`… are host ids `target`…. */
const IDMAP_RANGE: ElementSpec = element([
  need(uint("start")),
  need(uint("target")),
  need(uint("count")),
]);

/** `<idmap>` (LXC user namespace). */
const IDMAP: ElementSpec = element([], [
  many("uid", "uids", () => IDMAP_RANGE),
  many("gid", "gids", () => IDMAP_RANGE),
]);

/** `<domain>`: the root of the mapping, children in libvirt's order. */
export const DOMAIN: ElementSpec = element(
  [need(str("type")), uint("id")],
  [
    { kind: "flat", xml: "name", text: { ...textOf("name"), absent: "" }, attributes: [] },
    flatText("uuid"),
    flatText("genid"),
    flatText("title"),
    flatText("description"),
    { kind: "elements", xml: "metadata", field: "metadata" },
    {
      kind: "object",
      xml: "maxMemory",
      field: "maxMemory",
      spec: () =>
        element([need(uint("slots"))], [], { ...textOf("kib", "sizeKiB"), required: true }),
    },
    {
      kind: "flat",
      xml: "memory",
      text: { ...textOf("memoryKiB", "sizeKiB"), absent: 0 },
      attributes: [str("dumpCore", "memoryDumpCore")],
    },
    flatText("currentMemory", "currentMemoryKiB", "sizeKiB"),
    object("blkiotune", () => BLKIOTUNE),
    object("memtune", () => MEMTUNE),
    {
      kind: "flat",
      xml: "vcpu",
      text: { ...textOf("vcpus", "uint"), absent: 0 },
      attributes: [
        str("placement", "vcpu.placement"),
        str("cpuset", "vcpu.cpuset"),
        uint("current", "vcpu.current"),
      ],
    },
    flatText("iothreads", "iothreads", "uint"),
    object("cputune", () => CPUTUNE),
    object("numatune", () => NUMATUNE),
    { kind: "object", xml: "os", field: "os", spec: () => OS, required: true },
    object("idmap", () => IDMAP),
    {
      kind: "map",
      xml: "features",
      field: "features",
      toggles: { feature: "capabilities", field: "featureCapabilities", attribute: "state" },
    },
    object("cpu", () => CPU),
    object("clock", () => CLOCK),
    flatText("on_poweroff"),
    flatText("on_reboot"),
    flatText("on_crash"),
    flatText("on_lockfailure"),
    {
      kind: "wrapped",
      xml: "perf",
      field: "perf",
      item: "event",
      spec: () => element([need(str("name")), need(str("enabled"))]),
    },
    { kind: "object", xml: "devices", field: "devices", spec: () => DEVICES, implied: true },
  ],
);
