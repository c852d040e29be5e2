/**
 * libvirt's secret objects: a definition (uuid, description, usage, `ephemeral`, `private`) as
 * `secret.rng` describes it, the usage types and their numbers (`virSecretUsageType`), and the
 * bounds of a secret's XML and value.
 *
 * @module
 */

/** `virSecretUsageType`: the numbers travel on the wire (`remote_nonnull_secret.usageType`). */
export const SECRET_USAGE_TYPES = {
  none: 0,
  volume: 1,
  ceph: 2,
  iscsi: 3,
  tls: 4,
  vtpm: 5,
} as const;

/** A usage type's name. */
export type SecretUsageType = keyof typeof SECRET_USAGE_TYPES;

/** `<usage type>` with its one child: `<volume>` path, `<name>` or `<target>`. */
export interface SecretUsage {
  type: Exclude<SecretUsageType, "none">;
  /** The volume path, ceph/tls/vtpm name or iSCSI target (libvirt's `usage_id`). */
  id: string;
}

/** A secret's definition. */
export interface SecretDefinition {
  uuid: string;
  /** `ephemeral='yes'`: the value is kept in memory only, never on disk. */
  ephemeral: boolean;
  /** `private='yes'`: the value is never given out (`virSecretGetValue` refuses it). */
  private: boolean;
  description?: string;
  usage?: SecretUsage;
}

/** `REMOTE_SECRET_VALUE_MAX`: the largest value a secret holds, in bytes. */
export const SECRET_VALUE_MAX_BYTES = 65_536;

/** `REMOTE_SECRET_LIST_MAX`: the most secrets a host keeps (and a list answers). */
export const SECRETS_MAX = 16_384;

/** The largest secret XML accepted, in bytes. */
export const SECRET_XML_MAX_BYTES = 65_536;

/**
 * The usage type number of a secret (0 for none), as `remote_nonnull_secret` carries it.
 *
 * @example
 * ```ts
 * import { usageTypeNumber } from "./secret.ts";
 * console.log(usageTypeNumber({ uuid: "u", ephemeral: false, private: false })); // 0
 * ```
 */
export function usageTypeNumber(definition: SecretDefinition): number {
  return SECRET_USAGE_TYPES[definition.usage?.type ?? "none"];
}

/**
 * The usage type name of a number, or undefined for a number libvirt does not define.
 *
 * @example
 * ```ts
 * import { usageTypeName } from "./secret.ts";
 * console.log(usageTypeName(2)); // "ceph"
 * ```
 */
export function usageTypeName(value: number): SecretUsageType | undefined {
  const entry = Object.entries(SECRET_USAGE_TYPES).find(([, number]) => number === value);
  return entry?.[0] as SecretUsageType | undefined;
}
