/**
 * Giving a host file to the QEMU user and giving it back, as libvirt's DAC driver does with
 * `dynamic_ownership` and `remember_owner` (security_dac.c, security_util.c).
 *
 * Before the first chown of a file, its original owner is written in the extended attribute
 * {@linkcode DAC_XATTR_NAME} with the host's boot id and the set of domains (uuids) holding it;
 * only then is the file chowned. Giving back removes the domain from the set; the last one out
 * restores the original owner and removes the attribute. libvirt keeps a counter
 * (`trusted.libvirt.security.ref_dac`); a set of uuids makes giving back idempotent, so recovery
 * after a crash can give back every file a launch intended to label without knowing how far the
 * launch came. A record from another boot is stale (its holders are gone), as libvirt's
 * `timestamp_dac` says: it is dropped and the current owner taken as the original.
 *
 * A file another domain holds under a different owner is refused, with libvirt's error. Where
 * the file system keeps no extended attributes the file is chowned all the same and given back
 * to root:root, libvirt's fallback.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { getXattr, removeXattr, setXattr, XattrUnsupportedError } from "./dac_xattr.ts";

/** evirt's own attribute (libvirt's are `trusted.libvirt.security.{dac,ref_dac,timestamp_dac}`). */
export const DAC_XATTR_NAME = "trusted.evirt.dac";

/** Most domains holding one file at once (bounds the attribute's size). */
export const DAC_HOLDERS_MAX = 64;

/** Where the kernel tells this boot apart from others. */
const BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id";

/** A numeric owner: user and group ids. */
export interface OwnerIds {
  uid: number;
  gid: number;
}

/** What the attribute holds. */
interface HolderRecord {
  /** The original owner, libvirt's `+UID:+GID`. */
  owner: string;
  /** The boot the holders belong to. */
  boot: string;
  /** The uuids of the domains holding the file. */
  holders: string[];
}

/**
 * An owner as libvirt writes DAC labels: `+UID:+GID`.
 *
 * @example
 * ```ts
 * import { formatOwner } from "./dac_ownership.ts";
 * console.log(formatOwner({ uid: 64055, gid: 64055 })); // "+64055:+64055"
 * ```
 */
export function formatOwner(owner: OwnerIds): string {
  return `+${owner.uid}:+${owner.gid}`;
}

/**
 * Parses a numeric DAC label `+UID:+GID` (the `+` optional).
 *
 * @returns The ids, or undefined when `text` is not of that form.
 *
 * @example
 * ```ts
 * import { parseNumericOwner } from "./dac_ownership.ts";
 * console.log(parseNumericOwner("+107:+107")); // { uid: 107, gid: 107 }
 * ```
 */
export function parseNumericOwner(text: string): OwnerIds | undefined {
  const match = /^\+?([0-9]{1,10}):\+?([0-9]{1,10})$/.exec(text.trim());
  if (match === null) return undefined;
  const uid = Number(match[1]);
  const gid = Number(match[2]);
  if (uid > 0xfffffffe || gid > 0xfffffffe) return undefined;
  return { uid, gid };
}

let bootIdCache: string | undefined;

function bootId(): string {
  bootIdCache ??= Deno.readTextFileSync(BOOT_ID_PATH).trim();
  return bootIdCache;
}

function parseRecord(text: string | undefined): HolderRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text);
    if (
      typeof value?.owner === "string" && parseNumericOwner(value.owner) !== undefined &&
      typeof value.boot === "string" && Array.isArray(value.holders) &&
      value.holders.every((holder: unknown) => typeof holder === "string")
    ) {
      return { owner: value.owner, boot: value.boot, holders: value.holders };
    }
  } catch {
    // Not ours, or damaged: treated as absent.
  }
  return undefined;
}

/** Runs `action` holding an exclusive lock on a regular file (others run unlocked). */
function withFileLock<T>(path: string, action: () => T): T {
  let file: Deno.FsFile | undefined;
  try {
    if (Deno.statSync(path).isFile) {
      file = Deno.openSync(path, { read: true });
      file.lockSync(true);
    }
  } catch {
    file?.close();
    file = undefined;
  }
  try {
    return action();
  } finally {
    file?.close();
  }
}

function chown(path: string, owner: OwnerIds): void {
  const info = Deno.statSync(path);
  if (info.uid === owner.uid && info.gid === owner.gid) return;
  Deno.chownSync(path, owner.uid, owner.gid);
}

function systemError(action: string, path: string, error: unknown): VirtError {
  const reason = error instanceof Deno.errors.NotFound
    ? "No such file or directory"
    : error instanceof Deno.errors.PermissionDenied
    ? "Operation not permitted"
    : (error as Error).message;
  return new VirtError(ErrorCode.SYSTEM_ERROR, `${action} '${path}': ${reason}`, {
    where: path,
    cause: error,
  });
}

/**
 * Gives `path` to `label` on behalf of domain `holder`, remembering its original owner first.
 *
 * @param path The file (symbolic links followed).
 * @param label The QEMU user and group.
 * @param holder The domain's uuid.
 * @throws {VirtError} OPERATION_INVALID (55) when other domains hold the file under another
 *   owner; SYSTEM_ERROR (38) when the file cannot be read, remembered or chowned.
 *
 * @example
 * ```ts ignore
 * labelPath("/var/lib/images/vm.img", { uid: 64055, gid: 64055 }, uuid);
 * ```
 */
export function labelPath(path: string, label: OwnerIds, holder: string): void {
  withFileLock(path, () => {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch (error) {
      throw systemError("unable to stat:", path, error);
    }
    const current = { uid: info.uid ?? 0, gid: info.gid ?? 0 };
    let record: HolderRecord | undefined;
    try {
      record = parseRecord(getXattr(path, DAC_XATTR_NAME));
    } catch (error) {
      if (!(error instanceof XattrUnsupportedError)) {
        throw systemError("unable to get XATTR on", path, error);
      }
      chownOrThrow(path, label);
      return;
    }
    if (record === undefined || record.boot !== bootId() || record.holders.length === 0) {
      record = { owner: formatOwner(current), boot: bootId(), holders: [] };
    } else if (
      !record.holders.includes(holder) &&
      (current.uid !== label.uid || current.gid !== label.gid)
    ) {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        `Setting different DAC user or group on ${path} which is already in use`,
        { where: path },
      );
    }
    if (!record.holders.includes(holder)) {
      if (record.holders.length >= DAC_HOLDERS_MAX) {
        throw new VirtError(
          ErrorCode.OPERATION_FAILED,
          `'${path}' is already held by ${DAC_HOLDERS_MAX} domains`,
          { where: path },
        );
      }
      record.holders.push(holder);
    }
    try {
      setXattr(path, DAC_XATTR_NAME, JSON.stringify(record));
    } catch (error) {
      throw systemError("unable to set XATTR on", path, error);
    }
    chownOrThrow(path, label);
  });
}

function chownOrThrow(path: string, label: OwnerIds): void {
  try {
    chown(path, label);
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `unable to set user and group to '${label.uid}:${label.gid}' on '${path}': ${
        error instanceof Deno.errors.PermissionDenied
          ? "Operation not permitted"
          : (error as Error).message
      }`,
      { where: path, cause: error },
    );
  }
}

/** What giving a file back did. */
export type RestoreOutcome =
  /** The original owner is back. */
  | "restored"
  /** Other domains still hold the file: it stays theirs. */
  | "still-held"
  /** The domain did not hold the file (never labelled, or given back already). */
  | "not-held";

/**
 * Gives `path` back on behalf of domain `holder`: the last holder restores the original owner.
 * A missing file is not an error (nothing to give back).
 *
 * @throws {VirtError} SYSTEM_ERROR (38) when the attribute or the owner cannot be changed.
 *
 * @example
 * ```ts ignore
 * restorePath("/var/lib/images/vm.img", uuid); // "restored"
 * ```
 */
export function restorePath(path: string, holder: string): RestoreOutcome {
  try {
    Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "not-held";
    throw systemError("unable to stat:", path, error);
  }
  return withFileLock(path, () => {
    let record: HolderRecord | undefined;
    try {
      record = parseRecord(getXattr(path, DAC_XATTR_NAME));
    } catch (error) {
      if (!(error instanceof XattrUnsupportedError)) {
        throw systemError("unable to get XATTR on", path, error);
      }
      // libvirt's fallback without attributes: back to root.
      chownOrThrow(path, { uid: 0, gid: 0 });
      return "restored";
    }
    if (record === undefined || !record.holders.includes(holder)) return "not-held";
    const holders = record.holders.filter((each) => each !== holder);
    try {
      if (holders.length > 0 && record.boot === bootId()) {
        setXattr(path, DAC_XATTR_NAME, JSON.stringify({ ...record, holders }));
        return "still-held";
      }
      chownOrThrow(path, parseNumericOwner(record.owner)!);
      removeXattr(path, DAC_XATTR_NAME);
    } catch (error) {
      if (error instanceof VirtError) throw error;
      throw systemError("unable to update XATTR on", path, error);
    }
    return "restored";
  });
}

/**
 * The domains holding `path` now, from its attribute (empty when none).
 *
 * @example
 * ```ts ignore
 * holdersOf("/var/lib/images/vm.img"); // ["c0ffee00-…"]
 * ```
 */
export function holdersOf(path: string): string[] {
  try {
    const record = parseRecord(getXattr(path, DAC_XATTR_NAME));
    return record === undefined || record.boot !== bootId() ? [] : record.holders;
  } catch {
    return [];
  }
}
