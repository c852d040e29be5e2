/**
 * MAC addresses as libvirt reads and writes them: six colon-separated groups of one or two hex
 * digits in, lower-case two-digit groups out, and new addresses in the `52:54:00` range that
 * QEMU and libvirt use.
 *
 * @module
 */

const MAC_OCTET = /^[0-9a-fA-F]{1,2}$/;

/**
 * Reads a MAC address as libvirt's virMacAddrParse does.
 *
 * @returns The six bytes, or undefined when malformed.
 *
 * @example
 * ```ts
 * import { parseMac } from "./mac_address.ts";
 * console.log(parseMac("52:54:0:a:b:c")); // [82, 84, 0, 10, 11, 12]
 * ```
 */
export function parseMac(text: string): number[] | undefined {
  const parts = text.split(":");
  if (parts.length !== 6 || !parts.every((part) => MAC_OCTET.test(part))) return undefined;
  return parts.map((part) => parseInt(part, 16));
}

/**
 * Writes MAC bytes as libvirt does (lower-case, two digits each).
 *
 * @example
 * ```ts
 * import { formatMac } from "./mac_address.ts";
 * console.log(formatMac([82, 84, 0, 10, 11, 12])); // "52:54:00:0a:0b:0c"
 * ```
 */
export function formatMac(bytes: readonly number[]): string {
  return bytes.map((byte) => byte.toString(16).padStart(2, "0")).join(":");
}

/** Whether the address is a multicast one (the low bit of its first byte set). */
export function isMulticastMac(bytes: readonly number[]): boolean {
  return (bytes[0] & 1) === 1;
}

/**
 * A new random MAC in libvirt's `52:54:00` range.
 *
 * @example
 * ```ts
 * import { randomMac } from "./mac_address.ts";
 * console.log(randomMac().startsWith("52:54:00:")); // true
 * ```
 */
export function randomMac(): string {
  return formatMac([0x52, 0x54, 0x00, ...crypto.getRandomValues(new Uint8Array(3))]);
}
