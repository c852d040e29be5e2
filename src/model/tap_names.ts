/**
 * The names of the taps evirt makes for interfaces of type `network` and `bridge`: `vnet`, the
 * instance id, `n`, and a count within the instance (`vnet7n0`, `vnet7n1`, …). An instance id
 * is never handed out twice (ids count on across service restarts), so every tap of one
 * instance shares a prefix no other instance has: a stop or a recovery finds and removes them
 * all by it, a hotplugged one whose fact a crash never recorded included.
 *
 * @module
 */

import type { NetInterface } from "./domain.ts";

/** Interface types that get a tap on a bridge. */
const BRIDGED_TYPES = new Set(["network", "bridge"]);

/**
 * Whether an interface gets a tap on a bridge (`network`, `bridge`).
 *
 * @example
 * ```ts
 * import { isBridgedInterface } from "./tap_names.ts";
 * console.log(isBridgedInterface({ type: "network" })); // true
 * ```
 */
export function isBridgedInterface(nic: NetInterface): boolean {
  return BRIDGED_TYPES.has(nic.type);
}

/**
 * The prefix of every tap of the instance `id`.
 *
 * @example
 * ```ts
 * import { tapNamePrefix } from "./tap_names.ts";
 * console.log(tapNamePrefix(7)); // "vnet7n"
 * ```
 */
export function tapNamePrefix(id: number): string {
  if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`invalid instance id ${id}`);
  return `vnet${id}n`;
}

/**
 * The next tap name of the instance `id`: one past the highest count its interfaces use, so a
 * name freed by an unplug is not given again while the instance lives.
 *
 * @example
 * ```ts
 * import { nextTapName } from "./tap_names.ts";
 * console.log(nextTapName(7, [{ type: "network", target: { dev: "vnet7n1" } }])); // "vnet7n2"
 * ```
 */
export function nextTapName(id: number, interfaces: readonly NetInterface[]): string {
  const prefix = tapNamePrefix(id);
  let highest = -1;
  for (const nic of interfaces) {
    const dev = nic.target?.dev ?? "";
    const count = dev.startsWith(prefix) ? Number(dev.slice(prefix.length)) : NaN;
    if (Number.isSafeInteger(count) && count >= 0) highest = Math.max(highest, count);
  }
  return `${prefix}${highest + 1}`;
}
