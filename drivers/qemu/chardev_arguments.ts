/**
 * QEMU arguments for character devices: the host side (`-chardev` backends: pty, file, unix and
 * tcp sockets, udp, null, host serial devices) and the guest side of `<serial>`, `<console>`,
 * `<channel>` and `<parallel>`.
 *
 * As libvirt does, a `<console>` whose target is `serial` is the same device as the serial port
 * of the same number: it adds no device of its own, and a console with no serial to share
 * creates that serial port. A serial port without `<target>` is `isa-serial`, port 0 upward.
 *
 * @module
 */

import type { Chardev, ChardevSource } from "../../src/model/domain.ts";
import type { ArgumentCollector, ChardevPlace } from "./argument_collector.ts";
import { refuseConfig, refuseExtra } from "./config_refusal.ts";
import { usbPlacement } from "./controller_arguments.ts";
import { qemuOption, type QemuOptionValue } from "./qemu_option.ts";

/**
 * The `-chardev` option of a character device's host side.
 *
 * @param chardev The character device (its `type`, sources, protocol, log).
 * @param id The chardev id, e.g. `charserial0`.
 * @param collector Where host paths to check go.
 * @param where The element's path, for refusals.
 * @returns The option text, e.g. `pty,id=charserial0`.
 * @throws {VirtError} 67 for backends the driver cannot run (stdio, vc, spice, pipe, …).
 *
 * @example
 * ```ts ignore
 * chardevBackend({ type: "pty", sources: [] }, "charserial0", collector, where); // "pty,id=charserial0"
 * ```
 */
export function chardevBackend(
  chardev: Pick<Chardev, "type" | "sources" | "protocol" | "log">,
  id: string,
  collector: ArgumentCollector,
  where: string,
): string {
  chardev.sources.forEach((source, index) =>
    refuseExtra(source.extra, `${where}/source[${index + 1}]`)
  );
  const log = logOptions(chardev, collector, where);
  // libvirt's default for a character device without a type (a bare <console>) is a pty.
  switch (chardev.type ?? "pty") {
    case "pty":
      return qemuOption("pty", { id, ...log });
    case "null":
      return qemuOption("null", { id, ...log });
    case "vc":
      // A text console of QEMU's own; with -display none nothing shows it, as libvirt's.
      return qemuOption("vc", { id, ...log });
    case "file": {
      const source = requireSource(chardev.sources[0], "path", where);
      collector.requirePath(source.path!, "creatable", `${where}/source/@path`);
      return qemuOption("file", {
        id,
        path: source.path,
        append: source.append === undefined ? undefined : source.append === "on",
        ...log,
      });
    }
    case "unix":
      return qemuOption("socket", { id, ...unixSocket(chardev, collector, where, id), ...log });
    case "tcp":
      return qemuOption("socket", { id, ...tcpSocket(chardev, where), ...log });
    case "udp":
      return qemuOption("udp", { id, ...udpSocket(chardev, where), ...log });
    case "dev": {
      const source = requireSource(chardev.sources[0], "path", where);
      collector.requirePath(source.path!, "char", `${where}/source/@path`);
      return qemuOption("serial", { id, path: source.path, ...log });
    }
    case "spicevmc":
      // The SPICE agent channel (definition_rules.ts checks that a SPICE display exists).
      return qemuOption("spicevmc", { id, name: "vdagent", ...log });
    case "dbus": {
      const source = requireSource(chardev.sources[0], "channel", where);
      return qemuOption("dbus", { id, name: source.channel, ...log });
    }
    default:
      throw refuseConfig(
        `${where}/@type`,
        `character device type '${chardev.type}' is not supported by the qemu driver`,
      );
  }
}

function logOptions(
  chardev: Pick<Chardev, "log">,
  collector: ArgumentCollector,
  where: string,
): Record<string, QemuOptionValue> {
  if (chardev.log === undefined) return {};
  collector.requirePath(chardev.log.file, "creatable", `${where}/log/@file`);
  return {
    logfile: chardev.log.file,
    logappend: chardev.log.append === undefined ? undefined : chardev.log.append === "on",
  };
}

function requireSource(
  source: ChardevSource | undefined,
  field: "path" | "host" | "channel",
  where: string,
): ChardevSource {
  if (source === undefined || source[field] === undefined) {
    throw refuseConfig(`${where}/source`, `character device needs a source ${field}`);
  }
  return source;
}

function unixSocket(
  chardev: Pick<Chardev, "sources" | "protocol">,
  collector: ArgumentCollector,
  where: string,
  id: string,
): Record<string, QemuOptionValue> {
  // A unix device without a path gets one in the domain's runtime folder (channels are named
  // before, as libvirt names them).
  const source = chardev.sources[0]?.path === undefined
    ? { mode: "bind", path: chosenSocketPath(collector, where, id) }
    : chardev.sources[0];
  if (chardev.protocol !== undefined && chardev.protocol !== "raw") {
    throw refuseConfig(
      `${where}/protocol/@type`,
      `protocol '${chardev.protocol}' is not supported`,
    );
  }
  const server = source.mode !== "connect";
  collector.requirePath(source.path!, server ? "creatable" : "socket", `${where}/source/@path`);
  return {
    path: source.path,
    server,
    wait: server ? false : undefined,
    reconnect: reconnectSeconds(source, where),
  };
}

/** The folder of the domain's runtime folder that holds the sockets of named channels. */
export const CHANNEL_SOCKET_FOLDER = "channel";

/** Longest Unix socket path Linux accepts, in bytes. */
const SOCKET_PATH_MAX_BYTES = 107;

/** A device's list and position from its path in the definition, e.g. `…/serial[2]`. */
const CHARDEV_WHERE = /^\/domain\/devices\/(serial|parallel|console|channel)\[(\d+)\]$/;

/** `<chardev id>.sock` in the runtime folder, noted for the live XML. */
function chosenSocketPath(collector: ArgumentCollector, where: string, id: string): string {
  const path = `${collector.runtimeDir}/${id}.sock`;
  const match = CHARDEV_WHERE.exec(where);
  if (match !== null) {
    const list = `${match[1]}s` as ChardevPlace["list"];
    collector.chardevSockets.push({ place: { list, index: Number(match[2]) - 1 }, path });
  }
  return path;
}

/**
 * Whether `path` is a channel socket the driver chose for some instance of a domain:
 * `<runtime folders>/<instance folder>/channel/<file>`, beside this instance's folder.
 */
function isChosenChannelPath(path: string, runtimeDir: string): boolean {
  const folders = runtimeDir.slice(0, runtimeDir.lastIndexOf("/") + 1);
  if (folders === "" || !path.startsWith(folders)) return false;
  const parts = path.slice(folders.length).split("/");
  return parts.length === 3 && parts[1] === CHANNEL_SOCKET_FOLDER && parts[2] !== "";
}

/**
 * A unix virtio channel without a path gets a socket in the runtime folder, named as libvirt
 * names it: `channel/<target name>` (libvirt: `…/channel/target/domain-…/<name>`, the path guest
 * agent tools look for), else `channel/vioser-CC-BB-PP.sock` by its virtio-serial place. Noted
 * for the live XML.
 */
function withChannelSocket(
  channel: Chardev,
  index: number,
  place: VirtioSerialPlace,
  collector: ArgumentCollector,
  where: string,
): Chardev {
  const [first, ...rest] = channel.sources;
  if (channel.type !== "unix") return channel;
  // A path an earlier instance was given (a live XML defined again) is named anew, as libvirt
  // drops the paths it generated when it reads a definition.
  if (first?.path !== undefined && !isChosenChannelPath(first.path, collector.runtimeDir)) {
    return channel;
  }
  const name = channel.target?.name;
  if (name !== undefined && (name.includes("/") || name === "." || name === "..")) {
    throw refuseConfig(`${where}/target/@name`, `channel name '${name}' cannot name a socket`);
  }
  const two = (value: number) => String(value).padStart(2, "0");
  const file = name ?? `vioser-${two(place.controller)}-00-${two(place.port)}.sock`;
  const path = `${collector.runtimeDir}/${CHANNEL_SOCKET_FOLDER}/${file}`;
  if (new TextEncoder().encode(path).length > SOCKET_PATH_MAX_BYTES) {
    throw refuseConfig(
      `${where}/target/@name`,
      `socket path '${path}' is longer than ${SOCKET_PATH_MAX_BYTES} bytes`,
    );
  }
  collector.chardevSockets.push({ place: { list: "channels", index }, path });
  return { ...channel, sources: [{ ...first, mode: first?.mode ?? "bind", path }, ...rest] };
}

function tcpSocket(
  chardev: Pick<Chardev, "sources" | "protocol">,
  where: string,
): Record<string, QemuOptionValue> {
  const source = requireSource(chardev.sources[0], "host", where);
  if (source.tls === "yes") {
    throw refuseConfig(`${where}/source/@tls`, "TLS character devices are not supported");
  }
  const protocol = chardev.protocol ?? "raw";
  if (protocol !== "raw" && protocol !== "telnet") {
    throw refuseConfig(`${where}/protocol/@type`, `protocol '${protocol}' is not supported`);
  }
  const server = source.mode === "bind";
  return {
    host: source.host,
    port: source.service,
    telnet: protocol === "telnet" ? true : undefined,
    server,
    wait: server ? false : undefined,
    reconnect: reconnectSeconds(source, where),
  };
}

function udpSocket(
  chardev: Pick<Chardev, "sources">,
  where: string,
): Record<string, QemuOptionValue> {
  const connect = chardev.sources.find((source) => source.mode !== "bind");
  const bind = chardev.sources.find((source) => source.mode === "bind");
  if (connect?.service === undefined) {
    throw refuseConfig(`${where}/source`, "a udp character device needs a connect service");
  }
  return {
    host: connect.host,
    port: connect.service,
    localaddr: bind?.host,
    localport: bind?.service,
  };
}

function reconnectSeconds(source: ChardevSource, where: string): number | undefined {
  if (source.reconnect === undefined || source.reconnect.enabled !== "yes") return undefined;
  if (source.mode === "bind") {
    throw refuseConfig(`${where}/source/reconnect`, "reconnect needs source mode 'connect'");
  }
  return source.reconnect.timeout ?? 1;
}

/** The console-facing devices of a definition, as the builder walks them. */
export interface CharacterDevices {
  controllers: { type: string; index?: number; ports?: number }[];
  serials: Chardev[];
  consoles: Chardev[];
  channels: Chardev[];
  parallels: Chardev[];
}

/**
 * Controllers the character devices need: virtio-serial for virtio consoles and channels, USB
 * for USB serial ports.
 *
 * @example
 * ```ts
 * import { characterDeviceControllers } from "./chardev_arguments.ts";
 * const consoles = [{ type: "pty", sources: [], target: { type: "virtio" } }];
 * console.log(characterDeviceControllers({ controllers: [], serials: [], consoles, channels: [], parallels: [] }));
 * // [{ type: "virtio-serial", index: 0 }]
 * ```
 */
export function characterDeviceControllers(
  devices: CharacterDevices,
): { type: string; index: number }[] {
  const needed: { type: string; index: number }[] = [];
  for (const console of devices.consoles) {
    if (console.target?.type === "virtio") needed.push({ type: "virtio-serial", index: 0 });
  }
  for (const channel of devices.channels) {
    if (channel.target?.type === "virtio") {
      needed.push({ type: "virtio-serial", index: channel.address?.controller ?? 0 });
    }
  }
  for (const serial of devices.serials) {
    const type = serial.target?.type ?? serial.target?.model;
    if (type === "usb-serial") needed.push({ type: "usb", index: 0 });
  }
  return needed;
}

/**
 * Adds the arguments of every serial port, console, channel and parallel port.
 *
 * @throws {VirtError} 67 naming the first unsupported element or attribute.
 *
 * @example
 * ```ts ignore
 * addCharacterDeviceArguments(definition.devices, collector);
 * ```
 */
export function addCharacterDeviceArguments(
  devices: CharacterDevices,
  collector: ArgumentCollector,
): void {
  const serialPorts = addSerials(devices.serials, collector);
  addConsoles(devices.consoles, serialPorts, devices.serials.length, collector);
  const places = virtioSerialPlaces(
    devices.channels,
    devices.controllers.filter((each) => each.type === "virtio-serial"),
  );
  devices.channels.forEach((channel, index) =>
    addChannel(channel, index, places[index], `/domain/devices/channel[${index + 1}]`, collector)
  );
  devices.parallels.forEach((parallel, index) => {
    const where = `/domain/devices/parallel[${index + 1}]`;
    checkCommon(parallel, where);
    const id = `charparallel${index}`;
    collector.push("-chardev", chardevBackend(parallel, id, collector, where));
    notePty(parallel, id, `parallel${index}`, false, collector, { list: "parallels", index });
    collector.device(qemuOption("isa-parallel", { chardev: id, id: `parallel${index}` }));
  });
}

/** Adds the serial ports; returns the port numbers used, each with its chardev id. */
function addSerials(serials: Chardev[], collector: ArgumentCollector): Map<number, string> {
  const ports = new Map<number, string>();
  const free = new LowestFreeNumber(0);
  serials.forEach((serial, index) => {
    const where = `/domain/devices/serial[${index + 1}]`;
    checkCommon(serial, where);
    const port = serial.target?.port ?? free.lowest();
    free.take(port);
    const id = `charserial${index}`;
    collector.push("-chardev", chardevBackend(serial, id, collector, where));
    notePty(serial, id, `serial${index}`, index === 0, collector, { list: "serials", index });
    collector.device(serialDevice(serial, id, `serial${index}`, port, collector, where));
    ports.set(port, id);
  });
  return ports;
}

/**
 * The lowest number not yet taken, from a first one up. Numbers are only ever taken, never
 * given back, so each search resumes where the last one stopped: n searches cost O(n) in all,
 * not O(n²) (a definition with thousands of ports once took minutes here).
 */
class LowestFreeNumber {
  readonly #taken = new Set<number>();
  #next: number;

  constructor(first: number) {
    this.#next = first;
  }

  take(value: number): void {
    this.#taken.add(value);
  }

  lowest(): number {
    while (this.#taken.has(this.#next)) this.#next++;
    return this.#next;
  }
}

function serialDevice(
  serial: Chardev,
  chardevId: string,
  id: string,
  port: number,
  collector: ArgumentCollector,
  where: string,
): string {
  const type = serial.target?.type ?? "isa-serial";
  const model = serial.target?.model ?? type;
  if (model !== type) {
    throw refuseConfig(
      `${where}/target/model/@name`,
      `serial target model '${model}' does not fit target type '${type}'`,
    );
  }
  switch (type) {
    case "isa-serial":
      if (serial.address !== undefined) {
        throw refuseConfig(`${where}/address`, "an isa-serial port takes no address");
      }
      return qemuOption("isa-serial", { chardev: chardevId, id, index: port });
    case "usb-serial":
      return qemuOption("usb-serial", {
        ...usbPlacement(serial.address, where),
        chardev: chardevId,
        id,
      });
    case "pci-serial": {
      const placement = collector.pciPlacement(serial.address, where);
      return qemuOption("pci-serial", {
        chardev: chardevId,
        id,
        bus: placement.bus,
        addr: placement.addr,
      });
    }
    default:
      throw refuseConfig(`${where}/target/@type`, `serial target type '${type}' is not supported`);
  }
}

function addConsoles(
  consoles: Chardev[],
  serialPorts: Map<number, string>,
  serialCount: number,
  collector: ArgumentCollector,
): void {
  let virtioConsoles = 0;
  consoles.forEach((console, index) => {
    const where = `/domain/devices/console[${index + 1}]`;
    checkCommon(console, where);
    const targetType = console.target?.type ?? "serial";
    if (targetType === "serial") {
      const port = console.target?.port ?? 0;
      const shared = serialPorts.get(port);
      if (shared !== undefined) {
        // The same device as the serial port: its pty (if any) is already noted.
        collector.sharedConsoles.push({ index, chardevId: shared });
        return;
      }
      const id = `charserial${serialCount + index}`;
      collector.push("-chardev", chardevBackend(console, id, collector, where));
      notePty(console, id, `serial${serialCount + index}`, serialPorts.size === 0, collector, {
        list: "consoles",
        index,
      });
      collector.device(qemuOption("isa-serial", {
        chardev: id,
        id: `serial${serialCount + index}`,
        index: port,
      }));
      serialPorts.set(port, id);
      return;
    }
    if (targetType !== "virtio") {
      throw refuseConfig(
        `${where}/target/@type`,
        `console target type '${targetType}' is not supported`,
      );
    }
    // The virtio-serial port define gave it (see implicit_devices.ts), else the first free.
    const address = console.address;
    if (address !== undefined && address.type !== "virtio-serial") {
      throw refuseConfig(
        `${where}/address/@type`,
        `console address type '${address.type}' is not supported`,
      );
    }
    const id = `charconsole${index}`;
    collector.push("-chardev", chardevBackend(console, id, collector, where));
    notePty(console, id, `console${index}`, index === 0 && serialPorts.size === 0, collector, {
      list: "consoles",
      index,
    });
    const givenPort = address?.port === undefined ? undefined : Number(address.port);
    collector.device(qemuOption("virtconsole", {
      bus: `virtio-serial${address?.controller ?? 0}.0`,
      nr: givenPort ?? (virtioConsoles++ === 0 ? 0 : undefined),
      chardev: id,
      id: `console${index}`,
    }));
  });
}

/** Ports of a virtio-serial controller when `ports` is not given (QEMU's max_ports default). */
const VIRTIO_SERIAL_PORTS_DEFAULT = 31;

/** Where a virtio channel plugs in: its controller and port. */
interface VirtioSerialPlace {
  controller: number;
  port: number;
}

/**
 * The virtio-serial controller and port of each channel: its address when given, else the
 * lowest free port from 1 up (port 0 belongs to consoles) of the first controller with room, as
 * libvirt assigns them at define. Without this, QEMU's own choice for an unnumbered port can
 * take a number a later channel asks for.
 */
function virtioSerialPlaces(
  channels: Chardev[],
  controllers: { index?: number; ports?: number }[],
): (VirtioSerialPlace | undefined)[] {
  const capacity = new Map<number, number>(
    controllers.map((each) => [each.index ?? 0, each.ports ?? VIRTIO_SERIAL_PORTS_DEFAULT]),
  );
  if (capacity.size === 0) capacity.set(0, VIRTIO_SERIAL_PORTS_DEFAULT);
  // Port 0 of every controller belongs to consoles: the search starts at 1.
  const taken = new Map<number, LowestFreeNumber>();
  const portsOf = (controller: number) => {
    let free = taken.get(controller);
    if (free === undefined) taken.set(controller, free = new LowestFreeNumber(1));
    return free;
  };
  const take = (controller: number, port: number) => portsOf(controller).take(port);
  for (const channel of channels) {
    if (channel.address?.port !== undefined) {
      take(channel.address.controller ?? 0, Number(channel.address.port));
    }
  }
  const order = [...capacity.keys()].sort((a, b) => a - b);
  return channels.map((channel) => {
    if (channel.target?.type !== "virtio") return undefined;
    const address = channel.address;
    if (address?.port !== undefined) {
      return { controller: address.controller ?? 0, port: Number(address.port) };
    }
    const candidates = address?.controller === undefined ? order : [address.controller];
    for (const controller of candidates) {
      const port = portsOf(controller).lowest();
      if (port < (capacity.get(controller) ?? VIRTIO_SERIAL_PORTS_DEFAULT)) {
        take(controller, port);
        return { controller, port };
      }
    }
    return { controller: candidates[candidates.length - 1] ?? 0, port: -1 };
  });
}

function addChannel(
  channel: Chardev,
  index: number,
  place: VirtioSerialPlace | undefined,
  where: string,
  collector: ArgumentCollector,
): void {
  checkCommon(channel, where);
  const targetType = channel.target?.type;
  if (targetType !== "virtio") {
    throw refuseConfig(
      `${where}/target/@type`,
      `channel target type '${targetType ?? "(none)"}' is not supported`,
    );
  }
  const address = channel.address;
  if (place === undefined || place.port < 0) {
    throw refuseConfig(`${where}/address`, "no free virtio-serial port left for this channel");
  }
  if (address !== undefined && address.type !== "virtio-serial") {
    throw refuseConfig(
      `${where}/address/@type`,
      `channel address type '${address.type}' is not supported`,
    );
  }
  const id = `charchannel${index}`;
  const backend = withChannelSocket(channel, index, place!, collector, where);
  collector.push("-chardev", chardevBackend(backend, id, collector, where));
  notePty(channel, id, `channel${index}`, false, collector, { list: "channels", index });
  collector.device(qemuOption("virtserialport", {
    // A virtio-serial controller has one bus, `.0`, whatever libvirt's address says.
    bus: `virtio-serial${place!.controller}.0`,
    nr: place!.port,
    chardev: id,
    id: `channel${index}`,
    // libvirt names a SPICE agent channel without a name as the agent expects.
    name: channel.target?.name ?? (channel.type === "spicevmc" ? "com.redhat.spice.0" : undefined),
  }));
}

function checkCommon(chardev: Chardev, where: string): void {
  refuseExtra(chardev.extra, where);
  refuseExtra(chardev.target?.extra, `${where}/target`);
  if (chardev.target?.address !== undefined) {
    throw refuseConfig(`${where}/target/@address`, "guestfwd channels are not supported");
  }
}

function notePty(
  chardev: Chardev,
  chardevId: string,
  alias: string,
  console: boolean,
  collector: ArgumentCollector,
  place: ChardevPlace,
): void {
  if ((chardev.type ?? "pty") === "pty") {
    collector.ptyChardevs.push({ chardevId, alias, console, place });
  }
}
