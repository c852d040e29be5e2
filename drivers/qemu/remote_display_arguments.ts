/**
 * QEMU arguments of the remote displays beside VNC and of USB redirection, as libvirt gives them:
 *
 * - `<graphics type='spice'>`: `-spice port=…,addr=…,disable-ticketing=on,seamless-migration=on`
 *   (a free port from 5900 when `autoport='yes'` or no port is given, as libvirt's port
 *   allocator; `<image compression>` → `image-compression=`);
 * - `<graphics type='dbus' p2p='yes'>`: `-display dbus,p2p=on` (a client attaches through the
 *   monitor); with `address`: `-display dbus,addr=…` on that bus; with neither, the domain's
 *   private bus (`private_dbus.ts`, a daemon the start runs): `addr=unix:path=…/dbus.sock`;
 * - `<redirdev bus='usb'>`: a chardev (`spicevmc` named `usbredir`, `dbus` named
 *   `org.qemu.usbredir`, or a socket backend) and `-device usb-redir`;
 *
 * That a spicevmc backend has a SPICE display and a dbus backend a D-Bus display is checked in
 * definition_rules.ts.
 *
 * @module
 */

import type { DomainDevices, Graphics, Redirdev } from "../../src/model/domain.ts";
import type { XmlElement } from "../../src/model/xml_extra.ts";
import type { ArgumentCollector } from "./argument_collector.ts";
import { chardevBackend } from "./chardev_arguments.ts";
import { refuseConfig, refuseExtra } from "./config_refusal.ts";
import { usbPlacement } from "./controller_arguments.ts";
import { privateBusFiles } from "./private_dbus.ts";
import { qemuOption, type QemuOptionValue } from "./qemu_option.ts";

/** The first TCP port libvirt gives a SPICE display. */
const SPICE_PORT_MIN = 5900;
/** The last port tried. */
const SPICE_PORT_MAX = 65535;

/** `<image compression>` values QEMU's `image-compression` takes. */
const IMAGE_COMPRESSIONS = new Set(["auto_glz", "auto_lz", "quic", "glz", "lz", "off"]);

/** Graphics types this module builds. */
export const REMOTE_DISPLAY_TYPES: readonly string[] = ["spice", "dbus"];

/**
 * The `-spice` or `-display dbus` arguments of one graphics element.
 *
 * @param graphics The `<graphics>` (type spice or dbus).
 * @param where Its element path.
 * @param collector Where arguments go.
 * @throws {VirtError} 67 naming what QEMU cannot be given here.
 */
export function addRemoteDisplay(
  graphics: Graphics,
  where: string,
  collector: ArgumentCollector,
): void {
  if (graphics.type === "dbus") {
    addDbusDisplay(graphics, where, collector);
    return;
  }
  const handled = new Set(["image"]);
  refuseExtra(graphics.extra, where, { elements: (name) => handled.has(name) });
  const unsupported: [unknown, string][] = [
    [graphics.passwd, "@passwd"],
    [graphics.passwdValidTo, "@passwdValidTo"],
    [graphics.connected, "@connected"],
    [graphics.gl, "gl"],
    [
      graphics.tlsPort !== undefined && graphics.tlsPort !== -1 ? graphics.tlsPort : undefined,
      "@tlsPort",
    ],
    [graphics.defaultMode, "@defaultMode"],
    [graphics.socket, "@socket"],
  ];
  for (const [value, path] of unsupported) {
    if (value !== undefined) {
      throw refuseConfig(`${where}/${path}`, `spice '${path.replace("@", "")}' is not supported`);
    }
  }
  if (graphics.listens.length > 1) {
    throw refuseConfig(`${where}/listen[2]`, "only one spice listen address is supported");
  }
  const listen = graphics.listens[0];
  if (listen !== undefined) refuseExtra(listen.extra, `${where}/listen`);
  if (listen !== undefined && listen.type !== "address") {
    throw refuseConfig(
      `${where}/listen/@type`,
      `spice listen type '${listen.type}' is not supported`,
    );
  }
  const properties: Record<string, QemuOptionValue> = {
    port: graphics.autoport === "yes" || graphics.port === undefined || graphics.port === -1
      ? freeSpicePort()
      : graphics.port,
    addr: listen?.address ?? graphics.listen ?? "127.0.0.1",
    "disable-ticketing": true,
  };
  for (const { element } of graphics.extra?.elements ?? []) {
    if (element.name === "image") imageCompression(element, where, properties);
  }
  properties["seamless-migration"] = true;
  collector.push("-spice", qemuOption(undefined, properties));
  if (graphics.keymap !== undefined) collector.push("-k", graphics.keymap);
}

function addDbusDisplay(graphics: Graphics, where: string, collector: ArgumentCollector): void {
  const attributes = graphics.extra?.attributes ?? {};
  refuseExtra(graphics.extra, where, {
    attributes: (name) => name === "p2p" || name === "address",
  });
  if (graphics.gl !== undefined) throw refuseConfig(`${where}/gl`, "dbus 'gl' is not supported");
  if (attributes.p2p === "yes") {
    if (attributes.address !== undefined) {
      throw refuseConfig(`${where}/@address`, "a p2p dbus display takes no bus address");
    }
    collector.push("-display", qemuOption("dbus", { p2p: true }));
    return;
  }
  // A bus the document names, else the domain's private bus (started before QEMU).
  let address = attributes.address;
  if (address === undefined) {
    address = `unix:path=${privateBusFiles(collector.runtimeDir).socket}`;
    collector.privateBusAddress = address;
  }
  collector.push("-display", qemuOption("dbus", { addr: address }));
}

function imageCompression(
  image: XmlElement,
  where: string,
  properties: Record<string, QemuOptionValue>,
): void {
  const compression = image.attributes?.compression;
  const extra = Object.keys(image.attributes ?? {}).find((name) => name !== "compression");
  if (extra !== undefined) {
    throw refuseConfig(`${where}/image/@${extra}`, `attribute '${extra}' is not supported`);
  }
  if (compression === undefined || !IMAGE_COMPRESSIONS.has(compression)) {
    throw refuseConfig(
      `${where}/image/@compression`,
      `spice image compression '${compression}' is not supported`,
    );
  }
  properties["image-compression"] = compression;
}

/** How long a port handed out stays reserved for the QEMU about to listen on it, in ms. */
const PORT_RESERVATION_MS = 30_000;

/** Ports handed out recently, by the time they were (two starts at once get different ones). */
const reservedPorts = new Map<number, number>();

/** The first port from 5900 nobody listens on here (libvirt's allocator does the same). */
function freeSpicePort(): number {
  const now = Date.now();
  for (const [port, since] of reservedPorts) {
    if (now - since > PORT_RESERVATION_MS) reservedPorts.delete(port);
  }
  for (let port = SPICE_PORT_MIN; port <= SPICE_PORT_MAX; port++) {
    if (reservedPorts.has(port)) continue;
    try {
      const listener = Deno.listen({ hostname: "0.0.0.0", port });
      listener.close();
      reservedPorts.set(port, now);
      return port;
    } catch {
      // Taken: try the next one.
    }
  }
  throw refuseConfig("/domain/devices/graphics", "no free TCP port left for a spice display");
}

/**
 * Adds `-chardev` and `-device usb-redir` for each `<redirdev>`.
 *
 * @throws {VirtError} 67 naming an unsupported bus, backend or attribute.
 */
export function addRedirdevs(devices: DomainDevices, collector: ArgumentCollector): void {
  devices.redirdevs.forEach((redirdev: Redirdev, index) => {
    const where = `/domain/devices/redirdev[${index + 1}]`;
    refuseExtra(redirdev.extra, where);
    if ((redirdev.bus ?? "usb") !== "usb") {
      throw refuseConfig(`${where}/@bus`, `redirdev bus '${redirdev.bus}' is not supported`);
    }
    const id = `charredir${index}`;
    collector.push(
      "-chardev",
      redirdev.type === "spicevmc"
        ? qemuOption("spicevmc", { id, name: "usbredir" })
        : redirdev.type === "dbus"
        ? qemuOption("dbus", { id, name: "org.qemu.usbredir" })
        : chardevBackend(redirdev, id, collector, where),
    );
    collector.device(qemuOption("usb-redir", {
      chardev: id,
      id: redirdev.alias?.startsWith("ua-") ? redirdev.alias : `redir${index}`,
      bootindex: redirdev.boot?.order,
      ...usbPlacement(redirdev.address, where),
    }));
  });
}
