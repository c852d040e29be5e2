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
  NO_SOURCE: 19,
  NO_TARGET: 20,
  NO_NAME: 21,
  XML_ERROR: 27,
  DOM_EXIST: 28,
  OPERATION_DENIED: 29,
  CONF_SYNTAX: 33,
  XML_DETAIL: 35,
  SYSTEM_ERROR: 38,
  RPC: 39,
  NO_DOMAIN: 42,
  NO_NETWORK: 43,
  AUTH_FAILED: 45,
  INVALID_STORAGE_POOL: 46,
  INVALID_STORAGE_VOL: 47,
  NO_STORAGE_POOL: 49,
  NO_STORAGE_VOL: 50,
  OPERATION_INVALID: 55,
  INVALID_SECRET: 65,
  NO_SECRET: 66,
  CONFIG_UNSUPPORTED: 67,
  OPERATION_TIMEOUT: 68,
  NO_DOMAIN_SNAPSHOT: 72,
  ARGUMENT_UNSUPPORTED: 74,
  STORAGE_PROBE_FAILED: 75,
  STORAGE_POOL_BUILT: 76,
  OPERATION_ABORTED: 78,
  NO_DOMAIN_METADATA: 80,
  SNAPSHOT_REVERT_RISKY: 81,
  OVERFLOW: 82,
  BLOCK_COPY_ACTIVE: 83,
  OPERATION_UNSUPPORTED: 84,
  AGENT_UNRESPONSIVE: 86,
  RESOURCE_BUSY: 87,
  STORAGE_VOL_EXIST: 90,
  ACCESS_DENIED: 88,
  XML_INVALID_SCHEMA: 92,
  DEVICE_MISSING: 99,
  NETWORK_PORT_EXIST: 106,
  NO_NETWORK_PORT: 107,
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
  /**
   * The error refuses a command in the object's current state, whatever its code (libvirt's
   * test driver refuses some as internal errors, code 1): the API answers HTTP 409, not 500.
   */
  stateConflict?: boolean;
  /**
   * libvirt reports the message without its code's prefix (its argument checks:
   * `unsupported flags (0x8) in function …`, `… must not be zero`, `Flags … are mutually
   * exclusive`), so the full message is the message itself.
   */
  bare?: boolean;
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
  /** Whether the error refuses a command in the current state (see {@linkcode VirtErrorOptions}). */
  readonly stateConflict: boolean;
  /** Whether the full message is the message itself (see {@linkcode VirtErrorOptions}). */
  readonly bare: boolean;

  /**
   * @param code The libvirt error number.
   * @param message The message, in libvirt's wording.
   * @param options Location and cause.
   */
  constructor(code: ErrorCodeValue, message: string, options: VirtErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "VirtError";
    this.code = code;
    this.stateConflict = options.stateConflict ?? false;
    this.bare = options.bare ?? false;
    if (options.where !== undefined) this.where = options.where;
  }

  /** The message as libvirt prints it: the code's prefix, then the detail. */
  get fullMessage(): string {
    if (this.bare) return this.message;
    return libvirtMessage(this.code, this.message);
  }

  /** The JSON form used by the API: `{code, name, message, detail, where?}`. */
  toJSON(): { code: number; name: string; message: string; detail: string; where?: string } {
    return {
      code: this.code,
      name: errorCodeName(this.code),
      message: this.fullMessage,
      detail: this.message,
      ...(this.where === undefined ? {} : { where: this.where }),
    };
  }
}

/** libvirt's message templates per code (virErrorMsg); `%s` is the detail. */
const MESSAGE_TEMPLATES: ReadonlyMap<number, string> = new Map([
  [ErrorCode.INTERNAL_ERROR, "internal error: %s"],
  [ErrorCode.NO_SUPPORT, "this function is not supported by the connection driver: %s"],
  [ErrorCode.NO_CONNECT, "no connection driver available for %s"],
  [ErrorCode.INVALID_ARG, "invalid argument: %s"],
  [ErrorCode.OPERATION_FAILED, "operation failed: %s"],
  [ErrorCode.NO_SOURCE, "missing source information for %s"],
  [ErrorCode.NO_TARGET, "missing target information for %s"],
  [ErrorCode.NO_NAME, "%s"],
  [ErrorCode.XML_ERROR, "XML error: %s"],
  [ErrorCode.DOM_EXIST, "domain exists already: %s"],
  [ErrorCode.OPERATION_DENIED, "operation forbidden: %s"],
  [ErrorCode.CONF_SYNTAX, "configuration file syntax error: %s"],
  [ErrorCode.XML_DETAIL, "%s"],
  [ErrorCode.SYSTEM_ERROR, "%s"],
  [ErrorCode.RPC, "RPC error: %s"],
  [ErrorCode.NO_DOMAIN, "Domain not found: %s"],
  [ErrorCode.NO_NETWORK, "Network not found: %s"],
  [ErrorCode.AUTH_FAILED, "authentication failed: %s"],
  [ErrorCode.INVALID_STORAGE_POOL, "invalid storage pool pointer in %s"],
  [ErrorCode.INVALID_STORAGE_VOL, "invalid storage volume pointer in %s"],
  [ErrorCode.NO_STORAGE_POOL, "Storage pool not found: %s"],
  [ErrorCode.NO_STORAGE_VOL, "Storage volume not found: %s"],
  [ErrorCode.OPERATION_INVALID, "Requested operation is not valid: %s"],
  [ErrorCode.INVALID_SECRET, "Invalid secret: %s"],
  [ErrorCode.NO_SECRET, "Secret not found: %s"],
  [ErrorCode.CONFIG_UNSUPPORTED, "unsupported configuration: %s"],
  [ErrorCode.OPERATION_TIMEOUT, "Timed out during operation: %s"],
  [ErrorCode.ARGUMENT_UNSUPPORTED, "argument unsupported: %s"],
  [ErrorCode.STORAGE_PROBE_FAILED, "Storage pool probe failed: %s"],
  [ErrorCode.STORAGE_POOL_BUILT, "Storage pool already built: %s"],
  [ErrorCode.OPERATION_ABORTED, "operation aborted: %s"],
  [ErrorCode.NO_DOMAIN_SNAPSHOT, "Domain snapshot not found: %s"],
  [ErrorCode.NO_DOMAIN_METADATA, "metadata not found: %s"],
  [ErrorCode.SNAPSHOT_REVERT_RISKY, "revert requires force: %s"],
  [ErrorCode.OVERFLOW, "numerical overflow: %s"],
  [ErrorCode.BLOCK_COPY_ACTIVE, "block copy still active: %s"],
  [ErrorCode.OPERATION_UNSUPPORTED, "Operation not supported: %s"],
  [ErrorCode.AGENT_UNRESPONSIVE, "Guest agent is not responding: %s"],
  [ErrorCode.RESOURCE_BUSY, "resource busy: %s"],
  [ErrorCode.STORAGE_VOL_EXIST, "storage volume %s exists already"],
  [ErrorCode.ACCESS_DENIED, "access denied: %s"],
  [ErrorCode.XML_INVALID_SCHEMA, "XML document failed to validate against schema: %s"],
  [ErrorCode.DEVICE_MISSING, "device not found: %s"],
  [ErrorCode.NETWORK_PORT_EXIST, "network port %s exists already"],
  [ErrorCode.NO_NETWORK_PORT, "network port not found: %s"],
]);

/**
 * The message libvirt prints for an error: its code's prefix, then the detail.
 *
 * @example
 * ```ts
 * import { libvirtMessage } from "./errors.ts";
 * console.log(libvirtMessage(55, "domain is not running"));
 * // "Requested operation is not valid: domain is not running"
 * ```
 */
export function libvirtMessage(code: number, detail: string): string {
  const template = MESSAGE_TEMPLATES.get(code) ?? "%s";
  return template.replace("%s", detail);
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
