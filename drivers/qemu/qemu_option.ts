/**
 * QEMU's `key=value,key=value` option syntax, with the escaping it needs: a comma inside a value
 * is written twice (`a,,b`), so a domain name or path with commas cannot inject options.
 *
 * @module
 */

/** A value of one option part; undefined and false-y `undefined` parts are left out. */
export type QemuOptionValue = string | number | boolean | undefined;

/**
 * Escapes one value for QEMU's option syntax (commas doubled).
 *
 * @example
 * ```ts
 * import { escapeQemuValue } from "./qemu_option.ts";
 * console.log(escapeQemuValue("a,b")); // "a,,b"
 * ```
 */
export function escapeQemuValue(value: string): string {
  return value.replaceAll(",", ",,");
}

/**
 * Formats an option: an optional leading bare value (e.g. a driver or backend name), then each
 * defined `key=value` in order. Booleans become `on`/`off`; undefined parts are skipped.
 *
 * @param head The leading bare value, or undefined for none.
 * @param parts The `key=value` parts, in order.
 * @returns The option text.
 *
 * @example
 * ```ts
 * import { qemuOption } from "./qemu_option.ts";
 * console.log(qemuOption("virtio-blk-pci", { drive: "d0", id: "vda,x", bootindex: undefined }));
 * // "virtio-blk-pci,drive=d0,id=vda,,x"
 * console.log(qemuOption(undefined, { guest: "vm", "debug-threads": true })); // "guest=vm,debug-threads=on"
 * ```
 */
export function qemuOption(
  head: string | undefined,
  parts: Record<string, QemuOptionValue>,
): string {
  const items: string[] = head === undefined ? [] : [escapeQemuValue(head)];
  for (const [key, value] of Object.entries(parts)) {
    if (value === undefined) continue;
    const text = typeof value === "boolean" ? (value ? "on" : "off") : String(value);
    items.push(`${key}=${escapeQemuValue(text)}`);
  }
  return items.join(",");
}
