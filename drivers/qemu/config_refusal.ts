/**
 * Refusals of configurations the QEMU driver cannot express: code 67 (CONFIG_UNSUPPORTED) with
 * the element or attribute named in `where`, so nothing a user wrote is ever silently dropped.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { XmlExtra } from "../../src/model/domain.ts";

/**
 * A refusal: code 67 naming `where`.
 *
 * @param where The element or attribute path, e.g. `/domain/devices/disk[2]/driver/@io`.
 * @param message libvirt-style lower-case text saying what is not supported.
 * @returns The error to throw.
 *
 * @example
 * ```ts
 * import { refuseConfig } from "./config_refusal.ts";
 * const error = refuseConfig("/domain/devices/hostdev[1]", "host devices are not supported");
 * console.log(error.code, error.where); // 67 "/domain/devices/hostdev[1]"
 * ```
 */
export function refuseConfig(where: string, message: string): VirtError {
  return new VirtError(ErrorCode.CONFIG_UNSUPPORTED, message, { where });
}

/** What of an element's {@linkcode XmlExtra} the caller handles itself and so accepts. */
export interface ExtraAllowance {
  /** Attribute names accepted (e.g. namespace declarations). */
  attributes?: (name: string) => boolean;
  /** Child element names accepted. */
  elements?: (name: string) => boolean;
  /** Flattened children (`children` keys) whose leftovers the caller handles. */
  children?: (name: string) => boolean;
}

/**
 * Throws a refusal for the first part of `extra` (what the typed model did not take) that the
 * driver does not handle: an unknown attribute, child element, text or leftover of a flattened
 * child.
 *
 * @param extra The element's extra content, or undefined for none.
 * @param where The element's path.
 * @param allowance What the caller handles itself.
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) naming the unsupported part.
 *
 * @example
 * ```ts
 * import { refuseExtra } from "./config_refusal.ts";
 * try {
 *   refuseExtra({ elements: [{ element: { name: "iotune" } }] }, "/domain/devices/disk[1]");
 * } catch (error) {
 *   console.log((error as Error).message); // "element 'iotune' is not supported by the qemu driver"
 * }
 * ```
 */
export function refuseExtra(
  extra: XmlExtra | undefined,
  where: string,
  allowance: ExtraAllowance = {},
): void {
  if (extra === undefined) return;
  for (const name of Object.keys(extra.attributes ?? {})) {
    if (name.startsWith("xmlns:") || name === "xmlns") continue;
    if (allowance.attributes?.(name)) continue;
    throw refuseConfig(
      `${where}/@${name}`,
      `attribute '${name}' is not supported by the qemu driver`,
    );
  }
  for (const placed of extra.elements ?? []) {
    const name = placed.element.name;
    if (allowance.elements?.(name)) continue;
    throw refuseConfig(
      `${where}/${name}`,
      `element '${name}' is not supported by the qemu driver`,
    );
  }
  if (extra.text !== undefined && extra.text.trim() !== "") {
    throw refuseConfig(where, `text content of '${where}' is not supported by the qemu driver`);
  }
  for (const [child, leftover] of Object.entries(extra.children ?? {})) {
    if (allowance.children?.(child)) continue;
    refuseExtra(leftover, `${where}/${child}`);
  }
}

/** Plural field names of the model and the element each item is. */
const ITEM_ELEMENTS: Record<string, string> = {
  disks: "disk",
  controllers: "controller",
  interfaces: "interface",
  smartcards: "smartcard",
  serials: "serial",
  parallels: "parallel",
  consoles: "console",
  channels: "channel",
  inputs: "input",
  tpms: "tpm",
  graphics: "graphics",
  sounds: "sound",
  videos: "video",
  hostdevs: "hostdev",
  redirdevs: "redirdev",
  hubs: "hub",
  watchdogs: "watchdog",
  rngs: "rng",
  shmems: "shmem",
  filesystems: "filesystem",
  ips: "ip",
  routes: "route",
  initargs: "initarg",
  initenvs: "initenv",
  uids: "uid",
  gids: "gid",
  timers: "timer",
  features: "feature",
  cells: "cell",
  sources: "source",
  listens: "listen",
  hosts: "host",
  firmwareFeatures: "feature",
  vcpupins: "vcpupin",
  iothreadpins: "iothreadpin",
  vcpuscheds: "vcpusched",
  iothreadscheds: "iothreadsched",
  cachetunes: "cachetune",
  memorytunes: "memorytune",
  memnodes: "memnode",
  caches: "cache",
  monitors: "monitor",
  nodes: "node",
};

/** Model field names that differ from their element or attribute names. */
const FIELD_ELEMENTS: Record<string, string> = {
  memballoon: "memballoon",
  backingStore: "backingStore",
  firmwareFeatures: "firmware",
};

/**
 * Refuses the first `extra` anywhere in `value` (a definition or a part of it) except in the
 * objects `skip` accepts, which their builders check themselves. The typed model keeps what it
 * does not type in `extra` at every level; a builder that forgets a level must not silently
 * drop what is there.
 *
 * @param value The object to walk.
 * @param where Its element path, e.g. `/domain`.
 * @param skip Whether the `extra` of the object at a path is handled elsewhere.
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) naming the first unsupported part.
 *
 * @example
 * ```ts
 * import { refuseExtrasDeep } from "./config_refusal.ts";
 * try {
 *   refuseExtrasDeep({ disks: [{ driver: { extra: { attributes: { iommu: "on" } } } }] }, "/domain/devices");
 * } catch (error) {
 *   console.log((error as { where: string }).where); // "/domain/devices/disk[1]/driver/@iommu"
 * }
 * ```
 */
export function refuseExtrasDeep(
  value: unknown,
  where: string,
  skip: (where: string) => boolean = () => false,
): void {
  if (value === null || typeof value !== "object") return;
  const record = value as Record<string, unknown>;
  // Most objects have no extra: test the (regex) skip only for those that do.
  if (record.extra !== undefined && !skip(where)) refuseExtra(record.extra as XmlExtra, where);
  for (const [field, child] of Object.entries(record)) {
    if (field === "extra" || field === "metadata") continue;
    if (Array.isArray(child)) {
      const element = ITEM_ELEMENTS[field] ?? field;
      child.forEach((item, index) =>
        refuseExtrasDeep(item, `${where}/${element}[${index + 1}]`, skip)
      );
    } else if (typeof child === "object") {
      refuseExtrasDeep(child, `${where}/${FIELD_ELEMENTS[field] ?? field}`, skip);
    }
  }
}
