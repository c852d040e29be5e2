/**
 * Key codes of `virDomainSendKey`: libvirt's codesets, the key names virsh accepts, and the
 * translation of a codeset's codes to Linux codes (what libvirt's test driver checks) and to
 * QEMU's `qnum` numbers (what QMP `send-key` takes), from the tables in `keycode_table.ts`.
 *
 * @module
 */

import { CODESET_PAIRS_TEXT, LINUX_KEY_NAMES_TEXT, WIN32_KEY_NAMES_TEXT } from "./keycode_table.ts";
import { ErrorCode, VirtError } from "./errors.ts";

/** libvirt's codesets (`virKeycodeSet`), by the names virsh takes; `rfb` is `qnum`'s old name. */
export const CODESETS = [
  "linux",
  "xt",
  "atset1",
  "atset2",
  "atset3",
  "os_x",
  "xt_kbd",
  "usb",
  "win32",
  "qnum",
  "rfb",
] as const;

/** A codeset's name. */
export type Codeset = (typeof CODESETS)[number];

/** Most keys one `send-key` presses (`VIR_DOMAIN_SEND_KEY_MAX_KEYS`). */
export const SEND_KEY_MAX_KEYS = 16;

/** libvirt's codeset numbers on the wire (`virKeycodeSet`), in {@linkcode CODESETS} order. */
export function codesetNumber(codeset: Codeset): number {
  return codeset === "rfb" ? 9 : CODESETS.indexOf(codeset);
}

/** The codeset of a wire number, or undefined for an unknown one. */
export function codesetOfNumber(value: number): Codeset | undefined {
  return Number.isInteger(value) && value >= 0 && value <= 9 ? CODESETS[value] : undefined;
}

/** Whether `name` is a codeset's name. */
export function isCodeset(name: string): name is Codeset {
  return (CODESETS as readonly string[]).includes(name);
}

/** `NAME=code` words as a map. */
function namesOf(text: string): Map<string, number> {
  return new Map(
    text.split(" ").map((word) => {
      const equals = word.lastIndexOf("=");
      return [word.slice(0, equals), Number(word.slice(equals + 1))];
    }),
  );
}

const LINUX_KEY_NAMES = namesOf(LINUX_KEY_NAMES_TEXT);
const WIN32_KEY_NAMES = namesOf(WIN32_KEY_NAMES_TEXT);

function pairsOf(codeset: Codeset): Map<number, number> | undefined {
  const key = codeset === "rfb" ? "qnum" : codeset;
  const text = CODESET_PAIRS_TEXT[key];
  if (text === undefined) return undefined;
  const pairs = new Map<number, number>();
  for (const word of text.split(" ")) {
    const [code, linux] = word.split(":").map(Number);
    if (!pairs.has(code)) pairs.set(code, linux);
  }
  return pairs;
}

const TO_LINUX = new Map<Codeset, Map<number, number>>();
let linuxToQnum: Map<number, number> | undefined;
const LINUX_CODES = new Set(LINUX_KEY_NAMES.values());

/**
 * The Linux key code of `code` in `codeset`, or undefined when the set has no such key.
 *
 * @example
 * ```ts
 * import { toLinux } from "./keycodes.ts";
 * console.log(toLinux("qnum", 0x1e), toLinux("usb", 4), toLinux("linux", 999)); // 30 30 undefined
 * ```
 */
export function toLinux(codeset: Codeset, code: number): number | undefined {
  if (codeset === "linux") return LINUX_CODES.has(code) ? code : undefined;
  let pairs = TO_LINUX.get(codeset);
  if (pairs === undefined) {
    pairs = pairsOf(codeset) ?? new Map();
    TO_LINUX.set(codeset, pairs);
  }
  return pairs.get(code);
}

/**
 * QEMU's key number (`qnum`) of a Linux key code, or undefined when QEMU has none.
 *
 * @example
 * ```ts
 * import { linuxToQnumber } from "./keycodes.ts";
 * console.log(linuxToQnumber(30), linuxToQnumber(103)); // 30 200
 * ```
 */
export function linuxToQnumber(linux: number): number | undefined {
  if (linuxToQnum === undefined) {
    linuxToQnum = new Map();
    for (const [qnum, code] of pairsOf("qnum") ?? []) {
      if (!linuxToQnum.has(code)) linuxToQnum.set(code, qnum);
    }
  }
  return linuxToQnum.get(linux);
}

/**
 * A key as virsh reads it: a name of the codeset (`KEY_A` for linux, `VK_RETURN` for win32),
 * else a number (decimal, `0x` hex or `0` octal) up to 0xffff.
 *
 * @throws {VirtError} Code 8 `invalid keycode: 'X'` otherwise (virsh's message).
 *
 * @example
 * ```ts
 * import { parseKey } from "./keycodes.ts";
 * console.log(parseKey("linux", "KEY_A"), parseKey("xt", "0x1e"), parseKey("win32", "VK_RETURN")); // 30 30 13
 * ```
 */
export function parseKey(codeset: Codeset, text: string): number {
  const names = codeset === "linux"
    ? LINUX_KEY_NAMES
    : codeset === "win32"
    ? WIN32_KEY_NAMES
    : undefined;
  const named = names?.get(text);
  if (named !== undefined) return named;
  const value = /^0x[0-9a-f]+$/i.test(text)
    ? Number.parseInt(text.slice(2), 16)
    : /^0[0-7]+$/.test(text)
    ? Number.parseInt(text, 8)
    : /^[0-9]+$/.test(text)
    ? Number.parseInt(text, 10)
    : Number.NaN;
  if (!Number.isInteger(value) || value > 0xffff) {
    throw new VirtError(ErrorCode.INVALID_ARG, `invalid keycode: '${text}'`, { where: "keycode" });
  }
  return value;
}

/**
 * Checks a `send-key` request as libvirt does before any driver: 1 to 16 keys, each a key of
 * the codeset. Returns the Linux codes.
 *
 * @throws {VirtError} Code 8 for a wrong count; code 1 `invalid keycode N of C codeset`.
 */
export function checkKeys(codeset: Codeset, codes: readonly number[]): number[] {
  if (codes.length === 0) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "nkeycodes in virDomainSendKey must be greater than zero",
      { where: "keycode" },
    );
  }
  if (codes.length > SEND_KEY_MAX_KEYS) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `nkeycodes in virDomainSendKey must be <= ${SEND_KEY_MAX_KEYS}`,
      { where: "keycode" },
    );
  }
  return codes.map((code) => {
    const linux = toLinux(codeset, code);
    if (linux === undefined) {
      throw new VirtError(
        ErrorCode.INTERNAL_ERROR,
        `invalid keycode ${code} of ${codeset === "rfb" ? "qnum" : codeset} codeset`,
        { where: "keycode" },
      );
    }
    return linux;
  });
}
