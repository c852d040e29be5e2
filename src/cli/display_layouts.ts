/**
 * What `vncdisplay`, `domdisplay` and `ttyconsole` print, read from a domain's live definition
 * as virsh reads them from the live XML (libvirt's own API has no call for them): the VNC
 * display, the display URIs of the graphics consoles, the console's pty.
 *
 * @module
 */

import type { DomainDefinition, Graphics } from "../model/domain.ts";

/** The display schemes `domdisplay` tries, in virsh's order. */
export const DISPLAY_SCHEMES: readonly string[] = ["vnc", "spice", "rdp", "dbus"];

/**
 * A display line that could not be made, with virsh's message (virsh prints it and goes on
 * with the next scheme).
 */
export interface DisplayProblem {
  /** The message after `error: `. */
  message: string;
}

/**
 * `vncdisplay`'s line: `ADDRESS:DISPLAY`, or `:DISPLAY` when the console listens on every
 * address (or virsh finds no address); undefined when the domain has no VNC port.
 *
 * @example
 * ```ts
 * import { vncDisplay } from "./display_layouts.ts";
 * const graphics = [{ type: "vnc", port: 5901, listen: "127.0.0.1", listens: [] }];
 * console.log(vncDisplay(graphics)); // "127.0.0.1:1"
 * ```
 */
export function vncDisplay(graphics: readonly Graphics[]): string | undefined {
  const vnc = graphics.find((each) => each.type === "vnc");
  if (vnc?.port === undefined) return undefined;
  const listen = vnc.listen ?? firstListenAddress(graphics, "vnc");
  const display = vnc.port - 5900;
  return listen === undefined || listen === "0.0.0.0" ? `:${display}` : `${listen}:${display}`;
}

/**
 * One `domdisplay` URI for a scheme (`vnc://127.0.0.1:0`, `spice://host:5901?tls-port=5902`,
 * `vnc+unix:///path`, …), as virsh builds it; undefined when the domain has no such console
 * with a port or socket, or a {@linkcode DisplayProblem} virsh reports.
 *
 * @param graphics The live definition's graphics consoles.
 * @param scheme `vnc`, `spice`, `rdp` or `dbus`.
 * @param uriServer The host of the connection URI, which replaces a wildcard listen address;
 *   undefined for a local connection (`localhost` is shown then).
 *
 * @example
 * ```ts
 * import { displayUri } from "./display_layouts.ts";
 * const graphics = [{ type: "vnc", port: 5900, listen: "0.0.0.0", listens: [] }];
 * console.log(displayUri(graphics, "vnc", undefined)); // "vnc://localhost:0"
 * ```
 */
export function displayUri(
  graphics: readonly Graphics[],
  scheme: string,
  uriServer: string | undefined,
): string | DisplayProblem | undefined {
  const console = graphics.find((each) => each.type === scheme);
  if (scheme === "dbus") {
    const address = console?.extra?.attributes?.address;
    if (address === undefined) return undefined;
    if (address.startsWith("unix:path=")) return `dbus+unix://${address.slice(10)}`;
    return { message: `'${address}' D-Bus address is not handled` };
  }
  if (console === undefined) return undefined;
  const port = console.port ?? 0;
  const tlsPort = console.tlsPort ?? 0;
  const firstListen = console.listens[0];
  const socket = firstListen?.type === "socket" ? firstListen.socket : undefined;
  if (port === 0 && tlsPort === 0 && socket === undefined) return undefined;
  let listen: string | undefined = console.listen;
  if (listen === undefined) listen = firstListenAddress(graphics, scheme);
  else if (isWildcardAddress(listen)) listen = uriServer;
  let uri = socket === undefined ? `${scheme}://` : `${scheme}+unix://`;
  if (scheme === "vnc" && console.passwd !== undefined) uri += `:${console.passwd}@`;
  if (socket !== undefined) uri += socket;
  else if (listen === undefined) uri += "localhost";
  else uri += listen.includes(":") ? `[${listen}]` : listen;
  if (port !== 0) uri += `:${scheme === "vnc" ? port - 5900 : port}`;
  const parameters: string[] = [];
  if (tlsPort !== 0) parameters.push(`tls-port=${tlsPort}`);
  if (scheme === "spice" && console.passwd !== undefined) {
    parameters.push(`password=${console.passwd}`);
  }
  return parameters.length === 0 ? uri : `${uri}?${parameters.join("&")}`;
}

/**
 * `ttyconsole`'s line: the first `<console>`'s pty (`tty`), or undefined.
 *
 * @example
 * ```ts
 * import { ttyConsole } from "./display_layouts.ts";
 * import { emptyDevices } from "../model/domain.ts";
 * const devices = { ...emptyDevices(), consoles: [{ type: "pty", tty: "/dev/pts/2", sources: [] }] };
 * console.log(ttyConsole({ type: "qemu", name: "vm", memoryKiB: 1, vcpus: 1, os: { type: "hvm", boot: [] }, devices }));
 * // "/dev/pts/2"
 * ```
 */
export function ttyConsole(definition: DomainDefinition): string | undefined {
  const tty = definition.devices.consoles[0]?.tty;
  return tty === undefined || tty === "" ? undefined : tty;
}

/** `graphics[@type=scheme]/listen/@address`: the first such address in document order. */
function firstListenAddress(graphics: readonly Graphics[], scheme: string): string | undefined {
  for (const each of graphics) {
    if (each.type !== scheme) continue;
    const address = each.listens.find((listen) => listen.address !== undefined)?.address;
    if (address !== undefined) return address;
  }
  return undefined;
}

/** `0.0.0.0` or an all-zero IPv6 address (`::`): the console listens on every address. */
function isWildcardAddress(address: string): boolean {
  if (address === "0.0.0.0") return true;
  return address.includes(":") && /^[0:]+$/.test(address);
}
