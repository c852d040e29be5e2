/**
 * libvirt's console compatibility rule for `hvm` guests (`virDomainDefAddConsoleCompat`): the
 * first `<console>` of a full-virtualization guest is the first serial port seen from another
 * side, so
 *
 * - a console of target type `serial` (or none) without any serial port becomes serial port 0
 *   too (same type and source), and the console then names it (`<target type='serial' port='0'/>`);
 * - such a console whose source differs from the first serial port's is replaced by one that
 *   names the serial port;
 * - a first serial port of target type `isa-serial` (or none) without such a console gets one
 *   inserted first;
 * - every console without a target port gets its position as port.
 *
 * A driver may give new serial ports its own target type and model (QEMU: `isa-serial`).
 *
 * @module
 */

import type { Chardev, DomainDefinition } from "./domain.ts";

/** Options of {@linkcode addConsoleCompat}. */
export interface ConsoleCompatOptions {
  /**
   * The target type (and `<model name>`) a serial port without one gets, e.g. `isa-serial`
   * for QEMU on x86. Default: none (libvirt's test driver leaves it out).
   */
  serialTargetType?: string;
}

/**
 * Applies the console compatibility rule to `def` in place (see the module notes).
 *
 * @param def The definition to change.
 * @param options The driver's serial target type.
 *
 * @example
 * ```ts
 * import { addConsoleCompat } from "./console_compat.ts";
 * import { emptyDevices } from "./domain.ts";
 * const def = { type: "test", name: "vm", memoryKiB: 1, vcpus: 1, os: { type: "hvm", boot: [] }, devices: emptyDevices() };
 * def.devices.consoles.push({ type: "pty", sources: [] });
 * addConsoleCompat(def);
 * console.log(def.devices.serials[0].target, def.devices.consoles[0].target);
 * // { port: 0 } { type: "serial", port: 0 }
 * ```
 */
export function addConsoleCompat(def: DomainDefinition, options: ConsoleCompatOptions = {}): void {
  if (def.os.type !== "hvm") return;
  const devices = def.devices;
  const console = devices.consoles[0];
  const consoleTarget = console?.target?.type;
  if (console !== undefined && (consoleTarget === undefined || consoleTarget === "serial")) {
    if (devices.serials.length === 0) {
      const { alias: _alias, address: _address, ...rest } = structuredClone(console);
      devices.serials.push({ ...rest, target: { port: 0 } });
    } else if (!sameSource(devices.serials[0], console)) {
      devices.consoles[0] = { sources: [] };
    }
    devices.consoles[0] = consoleOf(devices.serials[0], devices.consoles[0]);
  } else if (devices.serials.length > 0) {
    const serialTarget = devices.serials[0].target?.type;
    if (serialTarget === undefined || serialTarget === "isa-serial") {
      devices.consoles.unshift(consoleOf(devices.serials[0], { sources: [] }));
    }
  }
  // Every other console's target port is its position.
  devices.consoles.forEach((console, index) => {
    if (console.target?.port !== undefined) return;
    const { type, ...rest } = console.target ?? {};
    console.target = JSON.parse(JSON.stringify({ type, port: index, ...rest }));
  });
  devices.serials.forEach((serial, index) => {
    const target = { ...serial.target };
    if (options.serialTargetType !== undefined && target.type === undefined) {
      target.type = options.serialTargetType;
      target.model ??= options.serialTargetType;
    }
    target.port ??= index;
    const { type, port, ...rest } = target;
    serial.target = JSON.parse(JSON.stringify({ type, port, ...rest }));
  });
}

function sameSource(serial: Chardev, console: Chardev): boolean {
  return serial.type === console.type &&
    JSON.stringify(serial.sources) === JSON.stringify(console.sources);
}

/** The console that names serial port 0: its type and source, target serial port 0. */
function consoleOf(serial: Chardev, console: Chardev): Chardev {
  const { alias, address, extra } = console;
  return JSON.parse(JSON.stringify({
    ...(serial.type === undefined ? {} : { type: serial.type }),
    ...(console.tty === undefined ? {} : { tty: console.tty }),
    sources: structuredClone(serial.sources),
    ...(serial.protocol === undefined ? {} : { protocol: serial.protocol }),
    target: { type: "serial", port: 0 },
    alias,
    address,
    extra,
  }));
}
