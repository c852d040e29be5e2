/**
 * Typed reads of `.vmx` entries and the value encodings both directions share: booleans,
 * integers (`unlimited` is -1), UUIDs, MAC addresses, `|XX` / `%XX` escapes, disk names, and
 * the SCSI controller models of VMX and of domain XML.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { VmxEntries } from "./vmx_text.ts";

/** A conversion refusal as libvirt reports it (code 1 unless said otherwise). */
export function vmxError(
  message: string,
  code:
    | typeof ErrorCode.INTERNAL_ERROR
    | typeof ErrorCode.CONFIG_UNSUPPORTED
    | typeof ErrorCode.XML_ERROR = ErrorCode.INTERNAL_ERROR,
  where?: string,
): VirtError {
  return new VirtError(code, message, where === undefined ? {} : { where });
}

/** A string entry; with `required`, a missing one is refused. */
export function vmxString(vmx: VmxEntries, name: string, required = false): string | undefined {
  const value = vmx.get(name);
  if (value === undefined && required) {
    throw vmxError(`Missing essential config entry '${name}'`, ErrorCode.INTERNAL_ERROR, name);
  }
  return value;
}

/** An integer entry (`unlimited` reads -1), `fallback` when missing. */
export function vmxLong(vmx: VmxEntries, name: string, fallback: number, required = false): number {
  const value = vmxString(vmx, name, required);
  if (value === undefined) return fallback;
  if (value.toLowerCase() === "unlimited") return -1;
  if (!/^\s*[+-]?[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw vmxError(
      `Config entry '${name}' must represent an integer value`,
      ErrorCode.INTERNAL_ERROR,
      name,
    );
  }
  return Number(value);
}

/** A boolean entry (`true`/`false` in any case), `fallback` when missing. */
export function vmxBoolean(vmx: VmxEntries, name: string, fallback: boolean): boolean {
  const value = vmxString(vmx, name);
  if (value === undefined) return fallback;
  const lower = value.toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  throw vmxError(
    `Config entry '${name}' must represent a boolean value (true|false)`,
    ErrorCode.INTERNAL_ERROR,
    name,
  );
}

/**
 * 32 hex digits with any `-` or space between pairs (libvirt's UUID reader) → the canonical
 * 8-4-4-4-12 form; undefined when malformed.
 */
export function canonicalUuid(text: string): string | undefined {
  let at = text.length - text.trimStart().length;
  let hex = "";
  while (hex.length < 32) {
    const char = text[at];
    if (char === undefined) return undefined;
    if (char === "-" || char === " ") {
      at++;
      continue;
    }
    const pair = text.slice(at, at + 2);
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) return undefined;
    hex += pair.toLowerCase();
    at += 2;
  }
  if (text.slice(at).trim() !== "") return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/** A canonical UUID as VMX writes it: `xx xx xx xx xx xx xx xx-xx xx xx xx xx xx xx xx`. */
export function vmxUuid(uuid: string): string {
  const bytes = uuid.replaceAll("-", "").toLowerCase().match(/../g) ?? [];
  return `${bytes.slice(0, 8).join(" ")}-${bytes.slice(8).join(" ")}`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Undoes `cXX` escapes (byte by byte); undefined when an escape is not followed by two hex digits. */
export function unescapeHex(text: string, escape: string): string | undefined {
  const bytes = encoder.encode(text);
  const code = escape.charCodeAt(0);
  const out: number[] = [];
  for (let at = 0; at < bytes.length; at++) {
    if (bytes[at] !== code) {
      out.push(bytes[at]);
      continue;
    }
    const pair = String.fromCharCode(bytes[at + 1] ?? 0, bytes[at + 2] ?? 0);
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) return undefined;
    out.push(parseInt(pair, 16));
    at += 2;
  }
  return decoder.decode(new Uint8Array(out));
}

/** Escapes the escape character and each of `special` as `cXX` (lower-case hex). */
export function escapeHex(text: string, escape: string, special: string): string {
  let out = "";
  for (const char of text) {
    out += char === escape || special.includes(char)
      ? `${escape}${char.charCodeAt(0).toString(16).padStart(2, "0")}`
      : char;
  }
  return out;
}

/** libvirt's disk name for an index (`virIndexToDiskName`): `sd` 0 → `sda`, 26 → `sdaa`. */
export function indexToDiskName(index: number, prefix: string): string {
  let letters = "";
  for (let rest = index; rest >= 0; rest = Math.floor(rest / 26) - 1) {
    letters = String.fromCharCode(97 + (rest % 26)) + letters;
  }
  return prefix + letters;
}

/** SCSI controller models as VMX names them, by the domain XML name. */
export const SCSI_MODEL_TO_VMX: ReadonlyMap<string, string> = new Map([
  ["buslogic", "buslogic"],
  ["lsilogic", "lsilogic"],
  ["lsisas1068", "lsisas1068"],
  ["vmpvscsi", "pvscsi"],
]);

/** SCSI controller models as domain XML names them, by the VMX name. */
export const SCSI_MODEL_FROM_VMX: ReadonlyMap<string, string> = new Map(
  [...SCSI_MODEL_TO_VMX].map(([xml, vmx]) => [vmx, xml]),
);
