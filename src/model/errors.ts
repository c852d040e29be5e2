/**
 * libvirt's error numbers (virErrorNumber) and the typed error every evirt layer throws.
 *
 * The numbers are the contract: clients and scripts written against libvirt compare them, so
 * evirt uses the same values (reference §8). Messages follow libvirt's own lower-case wording.
 *
 * @module
 */

/** libvirt error codes used by evirt, by their virErrorNumber value. */
export const ErrorCode = {
  INTERNAL_ERROR: 1,
  NO_SUPPORT: 3,
  NO_CONNECT: 5,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  XML_ERROR: 27,
  DOM_EXIST: 28,
  OPERATION_DENIED: 29,
  SYSTEM_ERROR: 38,
  RPC: 39,
  NO_DOMAIN: 42,
  NO_NETWORK: 43,
  AUTH_FAILED: 45,
  NO_STORAGE_POOL: 49,
  NO_STORAGE_VOL: 50,
  OPERATION_INVALID: 55,
  CONFIG_UNSUPPORTED: 67,
  OPERATION_TIMEOUT: 68,
  ARGUMENT_UNSUPPORTED: 74,
  OPERATION_ABORTED: 78,
  OPERATION_UNSUPPORTED: 84,
  AGENT_UNRESPONSIVE: 86,
  RESOURCE_BUSY: 87,
  ACCESS_DENIED: 88,
  XML_INVALID_SCHEMA: 92,
  DEVICE_MISSING: 99,
} as const;

/** One of the libvirt error numbers in {@linkcode ErrorCode}. */
export type ErrorCodeValue = typeof ErrorCode[keyof typeof ErrorCode];

const CODE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(ErrorCode).map(([name, value]) => [value, name]),
);

/**
 * The libvirt enum name of an error code without its `VIR_ERR_` prefix, e.g. `NO_DOMAIN` for 42.
 *
 * @example Naming a code
 * ```ts
 * import { errorCodeName } from "./errors.ts";
 * console.log(errorCodeName(42)); // "NO_DOMAIN"
 * ```
 */
export function errorCodeName(code: number): string {
  return CODE_NAMES.get(code) ?? `UNKNOWN_${code}`;
}

/** Options of {@linkcode VirtError}. */
export interface VirtErrorOptions {
  /**
   * Where in the input the problem is: an element path (`/domain/devices/disk[2]/target`),
   * a JSON pointer, a flag or a variable name. Absent for errors not caused by input.
   */
  where?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * An error with a libvirt error number, a libvirt-style message and, for input errors, a location.
 *
 * @example Refusing a command
 * ```ts
 * import { ErrorCode, VirtError } from "./errors.ts";
 * const error = new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
 * console.log(error.code, error.message); // 55 "domain is not running"
 * ```
 */
export class VirtError extends Error {
  /** The libvirt error number. */
  readonly code: ErrorCodeValue;
  /** Where in the input the problem is, when the input caused it. */
  readonly where?: string;

  /**
   * @param code The libvirt error number.
   * @param message The message, in libvirt's wording.
   * @param options Location and cause.
   */
  constructor(code: ErrorCodeValue, message: string, options: VirtErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "VirtError";
    this.code = code;
    if (options.where !== undefined) this.where = options.where;
  }

  /** The JSON form used by the API: `{code, name, message, where?}`. */
  toJSON(): { code: number; name: string; message: string; where?: string } {
    return {
      code: this.code,
      name: errorCodeName(this.code),
      message: this.message,
      ...(this.where === undefined ? {} : { where: this.where }),
    };
  }
}

/**
 * Whether `error` is a {@linkcode VirtError}, optionally with the given code.
 *
 * @example Checking a code
 * ```ts
 * import { ErrorCode, isVirtError, VirtError } from "./errors.ts";
 * const error: unknown = new VirtError(ErrorCode.NO_DOMAIN, "domain not found");
 * console.log(isVirtError(error, ErrorCode.NO_DOMAIN)); // true
 * ```
 */
export function isVirtError(error: unknown, code?: number): error is VirtError {
  return error instanceof VirtError && (code === undefined || error.code === code);
}
