/**
 * QEMU arguments for `<interface>`: a `-netdev` backend (user-mode networking, a tap device
 * through `/dev/net/tun` for `ethernet`, the tap the service puts on a bridge for `network`
 * and `bridge`, or a vhost-user back end on a Unix socket for `vhostuser`) and the NIC
 * `-device`. `direct` and host devices are refused.
 *
 * @module
 */

import type { NetInterface } from "../../src/model/domain.ts";
import { interfaceBandwidthOf } from "../../src/xml/interface_bandwidth.ts";
import { isBridgedInterface } from "../../src/model/tap_names.ts";
import type { ArgumentCollector, BridgePortPlan } from "./argument_collector.ts";
import { refuseConfig, refuseExtra } from "./config_refusal.ts";
import { qemuOption, type QemuOptionValue } from "./qemu_option.ts";

/** NIC models and their QEMU devices; libvirt's x86 default is rtl8139. */
const NIC_MODELS: Record<string, string> = {
  rtl8139: "rtl8139",
  e1000: "e1000",
  e1000e: "e1000e",
  virtio: "virtio-net-pci",
  "virtio-transitional": "virtio-net-pci-transitional",
  "virtio-non-transitional": "virtio-net-pci-non-transitional",
  ne2k_pci: "ne2k_pci",
  pcnet: "pcnet",
  i82551: "i82551",
  i82557b: "i82557b",
  i82559er: "i82559er",
  vmxnet3: "vmxnet3",
};

/** The tun/tap clone device a tap backend opens. */
export const TUN_DEVICE_PATH = "/dev/net/tun";

/**
 * Adds the arguments of every interface.
 *
 * @throws {VirtError} 67 naming the first unsupported interface type, model or attribute.
 *
 * @example
 * ```ts ignore
 * addNetworkArguments(definition.devices.interfaces, collector);
 * ```
 */
export function addNetworkArguments(
  interfaces: NetInterface[],
  collector: ArgumentCollector,
): void {
  interfaces.forEach((nic, index) => {
    const where = `/domain/devices/interface[${index + 1}]`;
    // The alias a running instance gave it (`netN`, or a user's `ua-…`), as libvirt names the
    // device and its backend (`host` + alias); a definition without aliases counts positions.
    const deviceId = nic.alias ?? `net${index}`;
    const netdevId = nic.alias === undefined || nic.alias.startsWith("ua-")
      ? `hostnet${index}`
      : `host${nic.alias}`;
    const { type, options } = netdevBackend(nic, collector, where, `char${deviceId}`);
    collector.push("-netdev", qemuOption(type, { id: netdevId, ...options }));
    collector.netdevs.push({
      deviceId,
      id: netdevId,
      type,
      options,
      linkDown: nic.link === "down",
      ...(isBridgedInterface(nic) ? { bridgePort: bridgePortOf(nic, where) } : {}),
    });
    collector.device(nicDevice(nic, deviceId, netdevId, collector, where));
  });
}

/**
 * Interface types whose `<bandwidth>` libvirt 9.0 accepts but cannot apply
 * (`virNetDevSupportsBandwidth` false: it logs "setting bandwidth on interfaces of type '…' is
 * not implemented yet" and starts the guest unshaped). `direct` and `ethernet`, which libvirt
 * does shape, stay refused here until evirt shapes them too.
 */
const UNSHAPED_BANDWIDTH_TYPES: ReadonlySet<string> = new Set([
  "user",
  "vhostuser",
  "server",
  "client",
  "mcast",
  "udp",
  "internal",
  "hostdev",
  "vdpa",
  "null",
  "vds",
]);

/**
 * Whether an interface's `<bandwidth>` is one libvirt accepts and ignores; its rates are still
 * checked as libvirt's parser checks them.
 *
 * @throws {VirtError} The rates' error, as for a shaped interface.
 */
function ignoredBandwidth(nic: NetInterface, where: string): boolean {
  if (!UNSHAPED_BANDWIDTH_TYPES.has(nic.type)) return false;
  interfaceBandwidthOf(nic, where);
  return true;
}

/** The `-netdev` backend of an interface: its type and its options after `id`. */
function netdevBackend(
  nic: NetInterface,
  collector: ArgumentCollector,
  where: string,
  chardevId: string,
): { type: string; options: Record<string, QemuOptionValue> } {
  refuseExtra(nic.extra, where, {
    elements: (name) =>
      name === "rom" ||
      (name === "script" && nic.type === "ethernet") ||
      // Shaped with tc on the tap (bridge_ports.ts), as libvirt does; on a type libvirt
      // cannot shape either, checked and then ignored as libvirt does (it only logs a warning).
      (name === "bandwidth" && (isBridgedInterface(nic) || ignoredBandwidth(nic, where))),
    children: (name) => name === "driver" || (name === "source" && nic.type === "vhostuser"),
  });
  if (nic.trustGuestRxFilters !== undefined) {
    throw refuseConfig(`${where}/@trustGuestRxFilters`, "trustGuestRxFilters is not supported");
  }
  const queues = queueCount(nic, where);
  switch (nic.type) {
    case "user": {
      if (nic.source !== undefined) {
        throw refuseConfig(`${where}/source`, "a user-mode interface takes no source");
      }
      return { type: "user", options: userAddresses(nic, where) };
    }
    case "client":
    case "server":
    case "mcast":
    case "udp":
      return { type: "socket", options: socketBackend(nic, where) };
    case "ethernet": {
      if (nic.source !== undefined) {
        throw refuseConfig(`${where}/source`, "an ethernet interface takes no source");
      }
      if (nic.target?.managed === "no" && nic.target.dev === undefined) {
        throw refuseConfig(`${where}/target/@dev`, "an unmanaged tap device needs a name");
      }
      collector.requirePath(TUN_DEVICE_PATH, "char", where);
      const script = nic.extra?.elements?.find((placed) => placed.element.name === "script")
        ?.element.attributes?.path;
      if (script !== undefined) collector.requirePath(script, "file", `${where}/script/@path`);
      return {
        type: "tap",
        options: {
          ifname: nic.target?.dev,
          // QEMU runs the script with the tap's name once it exists, as libvirt does.
          script: script ?? "no",
          downscript: "no",
          vhost: nic.driver?.name === "vhost" ? true : undefined,
          queues: queues > 1 ? queues : undefined,
        },
      };
    }
    case "vhostuser":
      return {
        type: "vhost-user",
        options: vhostUserBackend(nic, collector, where, chardevId, queues),
      };
    case "network":
    case "bridge":
      // The service makes the tap on the bridge before QEMU attaches to it by name.
      return {
        type: "tap",
        options: {
          ifname: nic.target?.dev,
          script: "no",
          downscript: "no",
          vhost: nic.driver?.name === "vhost" ? true : undefined,
        },
      };
    default:
      throw refuseConfig(
        `${where}/@type`,
        `network interface type '${nic.type}' is not supported by the qemu driver`,
      );
  }
}

/**
 * The tap an interface of type `network` or `bridge` needs on its bridge. The bridge and tap
 * name of a `network` interface are known once the host resolved it for a start (absent in a
 * define's check); a `bridge` interface names its bridge itself.
 *
 * @throws {VirtError} 67 for a `bridge` interface without one.
 */
function bridgePortOf(nic: NetInterface, where: string): BridgePortPlan {
  const bridge = nic.source?.bridge;
  if (nic.type === "bridge" && bridge === undefined) {
    throw refuseConfig(`${where}/source/@bridge`, "an interface of type 'bridge' needs a bridge");
  }
  const bandwidth = interfaceBandwidthOf(nic, where);
  return {
    ...(nic.target?.dev === undefined ? {} : { tap: nic.target.dev }),
    ...(bridge === undefined ? {} : { bridge }),
    ...(nic.mac === undefined ? {} : { mac: nic.mac }),
    ...(nic.mtu === undefined ? {} : { mtu: nic.mtu }),
    ...(bandwidth === undefined ? {} : { bandwidth }),
  };
}

/**
 * A vhost-user interface's socket chardev (before its `-netdev`, as libvirt's `charnetN`) and
 * `-netdev vhost-user` options. In mode `server` QEMU listens and waits for the back end.
 */
function vhostUserBackend(
  nic: NetInterface,
  collector: ArgumentCollector,
  where: string,
  chardevId: string,
  queues: number,
): Record<string, QemuOptionValue> {
  const source = nic.source ?? {};
  if (source.type !== "unix") {
    throw refuseConfig(
      `${where}/source/@type`,
      `vhost-user source type '${source.type ?? ""}' is not supported`,
    );
  }
  if (source.path === undefined) {
    throw refuseConfig(`${where}/source/@path`, "a vhostuser interface needs a socket path");
  }
  if (source.mode !== "server" && source.mode !== "client") {
    throw refuseConfig(
      `${where}/source/@mode`,
      `vhost-user source mode '${source.mode ?? ""}' must be server or client`,
    );
  }
  if (!(nic.model ?? "").startsWith("virtio")) {
    throw refuseConfig(
      `${where}/model/@type`,
      "Wrong or no <model> 'type' attribute specified with <interface type='vhostuser'/>. vhostuser requires the virtio-net* frontend",
    );
  }
  const server = source.mode === "server";
  const reconnect = nic.extra?.children?.source?.elements?.find((placed) =>
    placed.element.name === "reconnect"
  )?.element.attributes;
  refuseExtra(nic.extra?.children?.source, `${where}/source`, {
    elements: (name) => name === "reconnect",
  });
  if (reconnect !== undefined && server) {
    throw refuseConfig(
      `${where}/source/reconnect`,
      "chardev reconnect is possible only for connect mode",
    );
  }
  const timeout = reconnect?.enabled === "yes" ? Number(reconnect.timeout) : 0;
  if (reconnect?.enabled === "yes" && !(Number.isSafeInteger(timeout) && timeout > 0)) {
    throw refuseConfig(
      `${where}/source/reconnect/@timeout`,
      "missing timeout for chardev with reconnect enabled",
    );
  }
  collector.requirePath(source.path, server ? "creatable" : "socket", `${where}/source/@path`);
  collector.push(
    "-chardev",
    qemuOption("socket", {
      id: chardevId,
      path: source.path,
      server: server ? true : undefined,
      reconnect: reconnect === undefined ? undefined : timeout,
    }),
  );
  return { chardev: chardevId, queues: queues > 1 ? queues : undefined };
}

/** `-netdev socket` options of client, server, mcast and udp interfaces. */
function socketBackend(nic: NetInterface, where: string): Record<string, QemuOptionValue> {
  const source = nic.source ?? {};
  const hostPort = (address: string | undefined, port: string | undefined, element: string) => {
    if (port === undefined) {
      throw refuseConfig(`${where}/${element}/@port`, `a ${nic.type} interface needs a port`);
    }
    return `${address ?? ""}:${port}`;
  };
  switch (nic.type) {
    case "client":
      return { connect: hostPort(source.address ?? "127.0.0.1", source.port, "source") };
    case "server":
      return { listen: hostPort(source.address, source.port, "source") };
    case "mcast": {
      const first = Number(source.address?.split(".")[0]);
      // QEMU joins the group: an IPv4 address outside 224.0.0.0/4 cannot work.
      if (!(first >= 224 && first <= 239)) {
        throw refuseConfig(
          `${where}/source/@address`,
          `mcast address '${source.address}' is not an IPv4 multicast address`,
        );
      }
      return { mcast: hostPort(source.address, source.port, "source") };
    }
    default: {
      const local = (nic.extra?.elements ?? []).find((placed) => placed.element.name === "local");
      return {
        udp: hostPort(source.address, source.port, "source"),
        localaddr: local === undefined ? undefined : hostPort(
          local.element.attributes?.address,
          local.element.attributes?.port,
          "source/local",
        ),
      };
    }
  }
}

/** libvirt's `<driver><host …/><guest …/>` offload switches and the virtio-net properties. */
const OFFLOADS: Record<string, Record<string, string>> = {
  host: {
    csum: "csum",
    gso: "gso",
    tso4: "host_tso4",
    tso6: "host_tso6",
    ecn: "host_ecn",
    ufo: "host_ufo",
    mrg_rxbuf: "mrg_rxbuf",
  },
  guest: {
    csum: "guest_csum",
    tso4: "guest_tso4",
    tso6: "guest_tso6",
    ecn: "guest_ecn",
    ufo: "guest_ufo",
  },
};

function offloadProperties(
  nic: NetInterface,
  virtio: boolean,
  where: string,
): Record<string, QemuOptionValue> {
  const driver = nic.extra?.children?.driver;
  if (driver === undefined) return {};
  if (!virtio) throw refuseConfig(`${where}/driver`, "offload settings need a virtio interface");
  if (
    driver.attributes !== undefined || driver.text !== undefined || driver.children !== undefined
  ) {
    throw refuseConfig(`${where}/driver`, "unsupported content of the interface driver");
  }
  const properties: Record<string, QemuOptionValue> = {};
  for (const { element } of driver.elements ?? []) {
    const table = OFFLOADS[element.name];
    if (table === undefined) {
      throw refuseConfig(
        `${where}/driver/${element.name}`,
        `element '${element.name}' is not supported`,
      );
    }
    for (const [name, value] of Object.entries(element.attributes ?? {})) {
      const property = table[name];
      if (property === undefined || (value !== "on" && value !== "off")) {
        throw refuseConfig(
          `${where}/driver/${element.name}/@${name}`,
          `offload '${name}' is not supported`,
        );
      }
      properties[property] = value === "on";
    }
  }
  return properties;
}

/** `-device` properties of `<rom bar file enabled>`. */
function romProperties(nic: NetInterface, where: string): Record<string, QemuOptionValue> {
  const rom = (nic.extra?.elements ?? []).find((placed) => placed.element.name === "rom")?.element;
  if (rom === undefined) return {};
  const { bar, file, enabled, ...rest } = rom.attributes ?? {};
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) {
    throw refuseConfig(`${where}/rom/@${unknown}`, `rom attribute '${unknown}' is not supported`);
  }
  if (enabled === "no") return { romfile: "" };
  return { rombar: bar === undefined ? undefined : bar === "on" ? 1 : 0, romfile: file };
}

function userAddresses(nic: NetInterface, where: string): Record<string, QemuOptionValue> {
  const result: Record<string, QemuOptionValue> = {};
  (nic.ips ?? []).forEach((ip, index) => {
    const family = ip.family ?? (ip.address.includes(":") ? "ipv6" : "ipv4");
    const key = family === "ipv6" ? "ipv6-net" : "net";
    if (result[key] !== undefined || ip.peer !== undefined || ip.extra !== undefined) {
      throw refuseConfig(`${where}/ip[${index + 1}]`, "one ip address per family is supported");
    }
    result[key] = ip.prefix === undefined ? ip.address : `${ip.address}/${ip.prefix}`;
  });
  return result;
}

function queueCount(nic: NetInterface, where: string): number {
  const text = nic.driver?.queues;
  if (text === undefined) return 1;
  const queues = Number(text);
  if (!Number.isSafeInteger(queues) || queues < 1) {
    throw refuseConfig(`${where}/driver/@queues`, `invalid queue count '${text}'`);
  }
  const multiqueue = nic.type === "ethernet" || nic.type === "vhostuser";
  if (queues > 1 && (!multiqueue || !(nic.model ?? "").startsWith("virtio"))) {
    throw refuseConfig(
      `${where}/driver/@queues`,
      "multiqueue is only supported for virtio interfaces of type ethernet or vhostuser",
    );
  }
  return queues;
}

/** `<driver>` attributes of virtio NICs and the device properties they set. */
const VIRTIO_DRIVER: Record<string, string> = {
  txmode: "tx",
  rx_queue_size: "rx_queue_size",
  tx_queue_size: "tx_queue_size",
  event_idx: "event_idx",
  ioeventfd: "ioeventfd",
};

/** QEMU's bounds of a virtio-net queue size. */
const QUEUE_SIZE_MIN = 256;
const QUEUE_SIZE_MAX = 1024;

/** A virtio-net queue size QEMU takes: a power of two from 256 to 1024. */
function checkQueueSize(name: string, value: string, where: string): void {
  const size = Number(value);
  if (
    !Number.isSafeInteger(size) || size < QUEUE_SIZE_MIN || size > QUEUE_SIZE_MAX ||
    (size & (size - 1)) !== 0
  ) {
    throw refuseConfig(
      where,
      `${name} '${value}' is not supported: QEMU takes a power of two from ${QUEUE_SIZE_MIN} to ${QUEUE_SIZE_MAX}`,
    );
  }
}

function nicDevice(
  nic: NetInterface,
  deviceId: string,
  netdevId: string,
  collector: ArgumentCollector,
  where: string,
): string {
  const model = nic.model ?? "rtl8139";
  const device = NIC_MODELS[model];
  if (device === undefined) {
    throw refuseConfig(`${where}/model/@type`, `interface model '${model}' is not supported`);
  }
  const virtio = device.startsWith("virtio");
  const properties: Record<string, QemuOptionValue> = {};
  for (const [name, value] of Object.entries(nic.driver ?? {})) {
    if (name === "name") {
      const tap = nic.type === "ethernet" || isBridgedInterface(nic);
      if (value !== "qemu" && !(value === "vhost" && virtio && tap)) {
        throw refuseConfig(`${where}/driver/@name`, `interface driver '${value}' is not supported`);
      }
      continue;
    }
    if (name === "queues") continue;
    const property = virtio ? VIRTIO_DRIVER[name] : undefined;
    if (property === undefined) {
      throw refuseConfig(
        `${where}/driver/@${name}`,
        `interface driver attribute '${name}' is not supported`,
      );
    }
    if (name === "rx_queue_size" || name === "tx_queue_size") {
      checkQueueSize(name, value, `${where}/driver/@${name}`);
    }
    // libvirt's txmode 'iothread' is QEMU's bottom-half transmit.
    properties[property] = name === "txmode" && value === "iothread" ? "bh" : value;
  }
  // A link down is set once QEMU runs (QMP `set_link`), as libvirt does.
  if (nic.link !== undefined && nic.link !== "up" && nic.link !== "down") {
    throw refuseConfig(`${where}/link/@state`, `link state '${nic.link}' is not supported`);
  }
  if (nic.mtu !== undefined && !virtio) {
    throw refuseConfig(`${where}/mtu`, "mtu is only supported for virtio interfaces");
  }
  Object.assign(properties, offloadProperties(nic, virtio, where));
  const queues = queueCount(nic, where);
  const rom = romProperties(nic, where);
  if (typeof rom.romfile === "string" && rom.romfile !== "") {
    collector.requirePath(rom.romfile, "file", `${where}/rom/@file`);
  }
  const placement = collector.pciPlacement(nic.address, where);
  return qemuOption(device, {
    ...rom,
    ...properties,
    mq: queues > 1 ? true : undefined,
    vectors: queues > 1 ? 2 * queues + 2 : undefined,
    host_mtu: nic.mtu,
    netdev: netdevId,
    id: deviceId,
    mac: nic.mac,
    bootindex: nic.boot?.order,
    bus: placement.bus,
    addr: placement.addr,
    multifunction: placement.multifunction,
  });
}
