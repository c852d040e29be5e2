/**
 * Reading and writing the typed values of the domain mapping ({@linkcode ValueKind}) as XML
 * text, with libvirt's number syntax.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import type { ValueKind } from "../model/domain_schema.ts";
import { toKiB } from "../model/units.ts";

const UNSIGNED = /^\s*\+?([0-9]+)\s*$/;
const SIGNED = /^\s*([+-]?[0-9]+)\s*$/;
const HEX = /^\s*0[xX]([0-9a-fA-F]+)\s*$/;
const OCTAL = /^\s*(0[0-7]*)\s*$/;
const DECIMAL = /^\s*\+?([1-9][0-9]*)\s*$/;

/**
 * Reads `text` as a value of `kind`.
 *
 * @param kind The kind of value.
 * @param text The attribute value or element text.
 * @param unit For `sizeKiB`: the unit written beside it, if any.
 * @param what Names the value for the error, e.g. `attribute 'port' of <graphics>`.
 * @param where The element path, for the error.
 * @returns A string for `string`, a number for the other kinds.
 * @throws {VirtError} Code 27 when the text is not a value of that kind.
 *
 * @example
 * ```ts
 * import { readValue } from "./xml_values.ts";
 * console.log(readValue("hex2", "0x1f", undefined, "slot", "/domain"), readValue("sizeKiB", "1", "MiB", "memory", "/domain")); // 31 1024
 * ```
 */
export function readValue(
  kind: ValueKind,
  text: string,
  unit: string | undefined,
  what: string,
  where: string,
): string | number {
  switch (kind) {
    case "string":
      return text;
    case "uint":
      return safeNumber(UNSIGNED.exec(text)?.[1], 10, text, what, where);
    case "int":
      return safeNumber(SIGNED.exec(text)?.[1], 10, text, what, where);
    case "cuint":
    case "hex1":
    case "hex2":
    case "hex4":
      return readCInteger(text, what, where);
    case "sizeKiB":
      return readSize(text, unit, what, where);
  }
}

/**
 * Writes a value of `kind` as XML text (sizes in KiB; PCI parts as `0x` hex).
 *
 * @example
 * ```ts
 * import { writeValue } from "./xml_values.ts";
 * console.log(writeValue("hex4", 0), writeValue("uint", 7)); // "0x0000" "7"
 * ```
 */
export function writeValue(kind: ValueKind, value: string | number): string {
  switch (kind) {
    case "string":
      return value as string;
    case "uint":
    case "int":
    case "cuint":
    case "sizeKiB":
      return String(value);
    case "hex1":
      return `0x${(value as number).toString(16)}`;
    case "hex2":
      return `0x${(value as number).toString(16).padStart(2, "0")}`;
    case "hex4":
      return `0x${(value as number).toString(16).padStart(4, "0")}`;
  }
}

function readCInteger(text: string, what: string, where: string): number {
  const hex = HEX.exec(text);
  if (hex !== null) return safeNumber(hex[1], 16, text, what, where);
  const octal = OCTAL.exec(text);
  if (octal !== null) return safeNumber(octal[1], 8, text, what, where);
  return safeNumber(DECIMAL.exec(text)?.[1], 10, text, what, where);
}

function readSize(text: string, unit: string | undefined, what: string, where: string): number {
  const digits = UNSIGNED.exec(text)?.[1];
  if (digits === undefined) throw invalid(text, what, where);
  try {
    return toKiB(BigInt(digits), unit);
  } catch (error) {
    if (!(error instanceof VirtError)) throw error;
    throw new VirtError(ErrorCode.XML_ERROR, `invalid value for ${what}: ${error.message}`, {
      where,
      cause: error,
    });
  }
}

function safeNumber(
  digits: string | undefined,
  radix: number,
  text: string,
  what: string,
  where: string,
): number {
  if (digits === undefined) throw invalid(text, what, where);
  const value = radix === 10 ? Number(digits) : parseInt(digits, radix);
  if (!Number.isSafeInteger(value)) {
    throw new VirtError(ErrorCode.XML_ERROR, `value too large for ${what}: '${text}'`, { where });
  }
  return value + 0; // -0 would not survive JSON
}

function invalid(text: string, what: string, where: string): VirtError {
  return new VirtError(ErrorCode.XML_ERROR, `invalid value '${text}' for ${what}`, { where });
}
