/**
 * What the storage verbs share: the storage client of the connection, virsh's pool and volume
 * lookups with its failure lines (`failed to get pool 'x'`, `failed to get vol 'x'`), its
 * scaled sizes (`10M`, `1GiB`), and the pool and volume options.
 *
 * @module
 */

import type { VolumeView } from "../api/storage_views.ts";
import { StorageClient } from "../client/storage_client.ts";
import { ErrorCode, isVirtError, VirtError } from "../model/errors.ts";
import { unitBytes } from "../model/units.ts";
import type { OptionSpec } from "./arguments.ts";
import { CommandFailure } from "./command_failure.ts";
import { type ObjectCommand, objectCommand, type ObjectKindWords } from "./object_verbs.ts";
import type { VerbContext } from "./verb.ts";

/** virsh's `<pool>` data option. */
export const POOL_OPTION: OptionSpec = {
  name: "pool",
  kind: "string",
  positional: true,
  required: true,
  help: "pool name or uuid",
};

/** virsh's `<vol>` data option and `--pool` of the volume verbs. */
export const VOLUME_OPTIONS: readonly OptionSpec[] = [
  { name: "vol", kind: "string", positional: true, required: true, help: "vol name, key or path" },
  { name: "pool", kind: "string", help: "pool name or uuid" },
];

/** The storage client of the verb's connection. */
export function storageOf(context: VerbContext): StorageClient {
  return new StorageClient(context.client);
}

/** Runs a pool command: a missing pool is `failed to get pool 'REF'` (see `objectCommand`). */
export const poolCommand: ObjectCommand = objectCommand("pool", ErrorCode.NO_STORAGE_POOL);

/** Pools, as the shared object verbs name them. */
export const POOL_WORDS: ObjectKindWords = {
  prefix: "pool",
  noun: "pool",
  option: POOL_OPTION,
  command: poolCommand,
};

/**
 * The volume `name` names, as virsh finds it: by name in `pool` when one is given, else (or
 * then) by key, then by path.
 *
 * @param hint Whether the failure suggests `--pool` (verbs that have the option).
 * @throws {CommandFailure} `failed to get pool '…'` or `failed to get vol '…'` and the last
 *   lookup's message.
 */
export async function findVolume(
  context: VerbContext,
  name: string,
  pool: string | undefined,
  hint = true,
): Promise<VolumeView> {
  const storage = storageOf(context);
  let last: unknown;
  if (pool !== undefined) {
    try {
      return await storage.volume(pool, name);
    } catch (error) {
      if (isVirtError(error, ErrorCode.NO_STORAGE_POOL)) {
        throw new CommandFailure(`failed to get pool '${pool}'`, error);
      }
      if (!isVirtError(error, ErrorCode.NO_STORAGE_VOL)) throw error;
      last = error;
    }
  }
  for (const by of ["key", "path"] as const) {
    try {
      return await storage.lookupVolume(by, name);
    } catch (error) {
      if (!isVirtError(error, ErrorCode.NO_STORAGE_VOL)) throw error;
      last = error;
    }
  }
  const suffix = pool === undefined && hint ? ", specifying --pool might help" : "";
  throw new CommandFailure(`failed to get vol '${name}'${suffix}`, last);
}

/** The pool a found volume is in, as a reference for the routes (its uuid). */
export function poolOfVolume(volume: VolumeView): string {
  return volume.poolUuid;
}

/**
 * A size as virsh reads it (`vshVolSize`): a whole number and an optional unit (`k`, `MiB`,
 * `GB`, `bytes`…), bytes by default.
 *
 * @throws {CommandFailure} `Malformed size TEXT` (with libvirt's reason for an unknown unit).
 *
 * @example
 * ```ts
 * import { parseVolumeSize } from "./storage_verb_support.ts";
 * console.log(parseVolumeSize("10M"), parseVolumeSize("4096")); // 10485760n 4096n
 * ```
 */
export function parseVolumeSize(text: string): bigint {
  const match = /^(\d+)(.*)$/.exec(text);
  if (match === null) throw new CommandFailure(`Malformed size ${text}`);
  const unit = match[2];
  const scale = unit === "" ? 1n : unitBytes(unit);
  if (scale === undefined) {
    throw new CommandFailure(
      `Malformed size ${text}`,
      new VirtError(ErrorCode.INVALID_ARG, `unknown suffix '${unit}'`),
    );
  }
  const bytes = BigInt(match[1]) * scale;
  if (bytes > 0xffff_ffff_ffff_ffffn) {
    throw new CommandFailure(
      `Malformed size ${text}`,
      new VirtError(ErrorCode.OVERFLOW, `value too large: ${text}`),
    );
  }
  return bytes;
}

/** Pools, volumes or networks sorted as virsh lists them (by name, ignoring case). */
export function byName<T extends { name: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => {
    const left = a.name.toLowerCase();
    const right = b.name.toLowerCase();
    return left < right ? -1 : left > right ? 1 : 0;
  });
}
