/**
 * The list filters storage pools and networks share: libvirt's state flags of
 * `virConnectListAll…` (active/inactive, persistent/transient, autostart/no-autostart, the same
 * bits for both), and the name lists of the older `virConnectList(Defined)…` calls.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";

/** `…_INACTIVE`, `…_ACTIVE`, `…_PERSISTENT`, `…_TRANSIENT`, `…_AUTOSTART`, `…_NO_AUTOSTART`. */
const LIST_INACTIVE = 1;
const LIST_ACTIVE = 2;
const LIST_PERSISTENT = 4;
const LIST_TRANSIENT = 8;
const LIST_AUTOSTART = 16;
const LIST_NO_AUTOSTART = 32;

/** Every state flag. */
export const STATE_LIST_FLAGS = 63;

/** An object as the state flags see it. */
export interface ListedObject {
  name: string;
  active: boolean;
  persistent: boolean;
  autostart: boolean;
}

/**
 * Whether `object` passes the state flags: within each pair, one flag keeps only that side,
 * both or neither keep all.
 */
export function matchesStateFlags(object: ListedObject, flags: number): boolean {
  const pairs: [number, number, boolean][] = [
    [LIST_ACTIVE, LIST_INACTIVE, object.active],
    [LIST_PERSISTENT, LIST_TRANSIENT, object.persistent],
    [LIST_AUTOSTART, LIST_NO_AUTOSTART, object.autostart],
  ];
  return pairs.every(([yes, no, value]) => {
    const wantYes = (flags & yes) !== 0;
    const wantNo = (flags & no) !== 0;
    return wantYes === wantNo || value === wantYes;
  });
}

/**
 * The names of the active (or inactive) objects, at most `max`.
 *
 * @throws {VirtError} Code 7 (RPC) for a `max` outside 0…`limit`.
 */
export function activeNames(
  objects: readonly ListedObject[],
  active: boolean,
  max: number,
  limit: number,
): string[] {
  if (max < 0 || max > limit) {
    throw new VirtError(ErrorCode.RPC, `too many names requested (${max})`);
  }
  return objects.filter((object) => object.active === active).slice(0, max).map((object) =>
    object.name
  );
}
