/**
 * Who a domain's QEMU runs as and which host files are given to it, from the domain's DAC
 * `<seclabel>` and the service's settings, as libvirt's DAC driver decides (security_dac.c,
 * domain_conf.c's seclabel rules):
 *
 * - no seclabel, or `type='dynamic'` (relabel must stay on): the configured QEMU user and group,
 *   files relabelled;
 * - `type='static'` with `<label>USER:GROUP</label>` (`+UID:+GID` or names): that user and group,
 *   files relabelled only with `relabel='yes'`;
 * - `type='none'`: QEMU runs as the service (root), nothing relabelled;
 * - a disk's `<source><seclabel relabel='no'/>` leaves that image alone; its `<label>` labels it
 *   with another owner.
 *
 * Pure: reads only the definition; names in a static label are resolved by the caller.
 *
 * @module
 */

import type { DomainDefinition, XmlElement, XmlExtra } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { HostPathRequirement } from "./argument_collector.ts";
import { refuseConfig } from "./config_refusal.ts";
import type { OwnerIds } from "./dac_ownership.ts";

/** The service's confinement settings, resolved (see `src/config/qemu_confinement.ts`). */
export interface DacSettings {
  /**
   * The user and group QEMU runs as by default; undefined when the service is unprivileged and
   * QEMU runs as the service's own user (libvirt's session mode).
   */
  user: OwnerIds | undefined;
  /** Whether files are given to the QEMU user at start (qemu.conf's `dynamic_ownership`). */
  dynamicOwnership: boolean;
}

/** What a domain's DAC seclabel says. */
export interface DacSeclabel {
  /** `dynamic`, `static` or `none`. */
  type: "dynamic" | "static" | "none";
  /** Whether files are relabelled (libvirt's `relabel`). */
  relabel: boolean;
  /** A static `<label>` as written. */
  label?: string;
}

/** Who QEMU runs as and how files are labelled. */
export interface DacPolicy {
  /** The seclabel as libvirt completes it. */
  seclabel: DacSeclabel;
  /**
   * The user and group QEMU runs as; undefined: as the service. `initGroups`: with the user's
   * supplementary groups (dynamic), else none (static).
   */
  runAs: (OwnerIds & { initGroups: boolean }) | undefined;
  /** The owner files are given to; undefined: no file is relabelled. */
  imageLabel: OwnerIds | undefined;
}

/** A host file to give to QEMU. */
export interface LabelTarget {
  /** The path. */
  path: string;
  /** Where the definition names it. */
  where: string;
  /** The owner it gets. */
  label: OwnerIds;
  /** A file QEMU creates (a chardev output): made first, empty, mode 0600. */
  create: boolean;
}

/** The seclabels of `<seclabel>` elements in an element's extra. */
function seclabelElements(extra: XmlExtra | undefined): XmlElement[] {
  return (extra?.elements ?? []).map(({ element }) => element).filter((element) =>
    element.name === "seclabel"
  );
}

function childText(element: XmlElement, name: string): string | undefined {
  const child = element.children?.find((each) => typeof each !== "string" && each.name === name) as
    | XmlElement
    | undefined;
  if (child === undefined) return undefined;
  return (child.children ?? []).filter((each) => typeof each === "string").join("").trim();
}

/** Whether a seclabel applies to the DAC driver (no model names every driver). */
function isDac(element: XmlElement): boolean {
  const model = element.attributes?.model;
  return model === undefined || model === "dac";
}

/**
 * The domain's DAC seclabel, completed with libvirt's defaults.
 *
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) for a security model other than `dac` or `none`,
 *   a dynamic label without relabelling, relabelling with type `none`; XML_ERROR (27) for a
 *   static label without `<label>` or a label without `:`.
 *
 * @example
 * ```ts
 * import { domainSeclabel } from "./dac_policy.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * const definition = { type: "qemu", name: "vm", memoryKiB: 1, vcpus: 1, os: { type: "hvm", boot: [] }, devices: emptyDevices() };
 * console.log(domainSeclabel(definition)); // { type: "dynamic", relabel: true }
 * ```
 */
export function domainSeclabel(definition: DomainDefinition): DacSeclabel {
  let found: DacSeclabel | undefined;
  for (const element of seclabelElements(definition.extra)) {
    const model = element.attributes?.model;
    if (model !== undefined && model !== "dac" && model !== "none") {
      throw refuseConfig(
        "/domain/seclabel/@model",
        `Security driver model '${model}' is not available`,
      );
    }
    if (!isDac(element) && (element.attributes?.type ?? "none") !== "none") continue;
    if (model === "none") continue;
    if (found !== undefined) {
      throw new VirtError(ErrorCode.XML_ERROR, "seclabel for model dac is already defined", {
        where: "/domain/seclabel",
      });
    }
    found = parseSeclabel(element, "/domain/seclabel");
  }
  return found ?? { type: "dynamic", relabel: true };
}

function parseSeclabel(element: XmlElement, where: string): DacSeclabel {
  const typeText = element.attributes?.type ?? "dynamic";
  if (typeText !== "dynamic" && typeText !== "static" && typeText !== "none") {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `Invalid value for attribute 'type' in element 'seclabel': '${typeText}'.`,
      { where: `${where}/@type` },
    );
  }
  const relabelText = element.attributes?.relabel;
  if (relabelText !== undefined && relabelText !== "yes" && relabelText !== "no") {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `Invalid value for attribute 'relabel' in element 'seclabel': '${relabelText}'.`,
      { where: `${where}/@relabel` },
    );
  }
  const relabel = relabelText === undefined ? typeText === "dynamic" : relabelText === "yes";
  if (typeText === "dynamic" && !relabel) {
    throw refuseConfig(`${where}/@relabel`, "dynamic label type must use resource relabeling");
  }
  if (typeText === "none" && relabel) {
    throw refuseConfig(
      `${where}/@relabel`,
      "resource relabeling is not compatible with 'none' label type",
    );
  }
  if (typeText !== "static") return { type: typeText, relabel };
  const label = childText(element, "label");
  if (label === undefined || label === "") {
    throw new VirtError(ErrorCode.XML_ERROR, "security label is missing", {
      where: `${where}/label`,
    });
  }
  checkLabelSyntax(label, `${where}/label`);
  return { type: "static", relabel, label };
}

function checkLabelSyntax(label: string, where: string): void {
  if (!label.includes(":")) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `Missing separator ':' in DAC label "${label}"`,
      { where },
    );
  }
}

/**
 * The domain's policy: who QEMU runs as, which owner files get.
 *
 * @param definition The domain.
 * @param settings The service's settings.
 * @param resolveLabel Turns a static label (`+UID:+GID` or `USER:GROUP`) into ids.
 * @throws {VirtError} What {@linkcode domainSeclabel} and `resolveLabel` throw.
 *
 * @example
 * ```ts
 * import { dacPolicy } from "./dac_policy.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * const definition = { type: "qemu", name: "vm", memoryKiB: 1, vcpus: 1, os: { type: "hvm", boot: [] }, devices: emptyDevices() };
 * const policy = dacPolicy(definition, { user: { uid: 64055, gid: 64055 }, dynamicOwnership: true }, () => undefined!);
 * console.log(policy.runAs); // { uid: 64055, gid: 64055, initGroups: true }
 * ```
 */
export function dacPolicy(
  definition: DomainDefinition,
  settings: DacSettings,
  resolveLabel: (label: string) => OwnerIds,
): DacPolicy {
  const seclabel = domainSeclabel(definition);
  if (seclabel.type === "none") return { seclabel, runAs: undefined, imageLabel: undefined };
  if (seclabel.type === "static") {
    const ids = resolveLabel(seclabel.label!);
    return {
      seclabel,
      runAs: { ...ids, initGroups: false },
      imageLabel: seclabel.relabel && settings.dynamicOwnership ? ids : undefined,
    };
  }
  if (settings.user === undefined) return { seclabel, runAs: undefined, imageLabel: undefined };
  return {
    seclabel,
    runAs: { ...settings.user, initGroups: true },
    imageLabel: settings.dynamicOwnership ? settings.user : undefined,
  };
}

/**
 * Refuses what evirt cannot give a confined QEMU: a tap (`<interface type='ethernet'>`) with
 * several queues (the service attaches one descriptor per tap, `dac_tap.ts`).
 *
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) naming the first such interface.
 *
 * @example
 * ```ts ignore
 * refuseUnconfinable(definition, policy);
 * ```
 */
export function refuseUnconfinable(definition: DomainDefinition, policy: DacPolicy): void {
  if (policy.runAs === undefined || policy.runAs.uid === 0) return;
  const index = definition.devices.interfaces.findIndex((nic) =>
    nic.type === "ethernet" && Number(nic.driver?.queues ?? "1") > 1
  );
  if (index < 0) return;
  throw refuseConfig(
    `/domain/devices/interface[${index + 1}]/driver/@queues`,
    "a multiqueue tap of a confined qemu is not supported: give the domain <seclabel type='none'/>",
  );
}

/** Which host paths of a command line are given to QEMU, by where the definition names them. */
const LABELLED_PATHS: readonly RegExp[] = [
  /^\/domain\/devices\/disk\[\d+\]\/(backingStore\/)*source\/@(file|dev)$/,
  /^\/domain\/os\/(kernel|initrd|nvram|dtb)$/,
  /^\/domain\/os\/acpi\/table\[\d+\]$/,
  /^\/domain\/devices\/(serial|parallel|console|channel)\[\d+\]\/(source\/@path|log\/@file)$/,
  // A vhost-user interface's socket: the back end's, which QEMU connects to (client mode).
  /^\/domain\/devices\/interface\[\d+\]\/source\/@path$/,
];

const CHARDEV_LISTS = {
  serial: "serials",
  parallel: "parallels",
  console: "consoles",
  channel: "channels",
} as const;

/**
 * The host files QEMU is given for a command line's host paths (disk images, kernel, initrd,
 * nvram, ACPI tables, chardev files, devices and client sockets, a vhost-user interface's
 * socket), as libvirt's `SetAllLabel`
 * picks them.
 * Listening sockets are created by QEMU itself; the firmware (loader) is read-only and left as
 * it is, as libvirt leaves it. Backing images are added by the caller.
 *
 * @param definition The domain.
 * @param hostPaths The command line's host paths.
 * @param policy The domain's policy.
 * @param resolveLabel Turns a disk's `<seclabel><label>` into ids.
 * @returns The files to label, in command line order; empty when nothing is relabelled.
 *
 * @example
 * ```ts ignore
 * labelTargets(definition, commandLine.hostPaths, policy, resolveOwner);
 * ```
 */
export function labelTargets(
  definition: DomainDefinition,
  hostPaths: readonly HostPathRequirement[],
  policy: DacPolicy,
  resolveLabel: (label: string) => OwnerIds,
): LabelTarget[] {
  const imageLabel = policy.imageLabel;
  if (imageLabel === undefined) return [];
  const targets: LabelTarget[] = [];
  for (const { path, kind, where } of hostPaths) {
    if (!LABELLED_PATHS.some((pattern) => pattern.test(where))) continue;
    const disk = /^\/domain\/devices\/disk\[(\d+)\]/.exec(where);
    let label = imageLabel;
    if (disk !== null) {
      const own = diskSeclabel(definition, Number(disk[1]) - 1);
      if (own?.relabel === false) continue;
      if (own?.label !== undefined) label = resolveLabel(own.label);
    }
    let create = false;
    if (kind === "creatable") {
      if (!isFileChardev(definition, where)) continue; // A listening socket: QEMU makes it.
      create = true;
    }
    targets.push({ path, where, label, create });
  }
  return targets;
}

function isFileChardev(definition: DomainDefinition, where: string): boolean {
  if (where.endsWith("/log/@file")) return true;
  return chardevTypeAt(definition, where) === "file";
}

/**
 * The type of the character device a host path's `where` names (`file`, `unix`, …), or
 * undefined when it names none.
 *
 * @example
 * ```ts ignore
 * chardevTypeAt(definition, "/domain/devices/serial[2]/source/@path"); // "unix"
 * ```
 */
export function chardevTypeAt(definition: DomainDefinition, where: string): string | undefined {
  const match = /^\/domain\/devices\/(serial|parallel|console|channel)\[(\d+)\]/.exec(where);
  if (match === null) return undefined;
  const list = definition.devices[CHARDEV_LISTS[match[1] as keyof typeof CHARDEV_LISTS]];
  return list[Number(match[2]) - 1]?.type;
}

/**
 * A disk's own DAC seclabel (`<source><seclabel>`): `relabel='no'` leaves the image alone;
 * `<label>` gives it another owner.
 *
 * @param index The disk's position in the definition (0-based).
 * @throws {VirtError} INVALID_ARG (8) for a label without `:`.
 */
export function diskSeclabel(
  definition: DomainDefinition,
  index: number,
): { relabel: boolean; label?: string } | undefined {
  const disk = definition.devices.disks[index];
  const where = `/domain/devices/disk[${index + 1}]/source/seclabel`;
  const element = seclabelElements(disk?.source?.extra).find(isDac);
  if (element === undefined) return undefined;
  const relabelText = element.attributes?.relabel;
  if (relabelText !== undefined && relabelText !== "yes" && relabelText !== "no") {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `Invalid value for attribute 'relabel' in element 'seclabel': '${relabelText}'.`,
      { where: `${where}/@relabel` },
    );
  }
  const label = childText(element, "label");
  if (label !== undefined) checkLabelSyntax(label, `${where}/label`);
  return { relabel: relabelText !== "no", ...(label === undefined ? {} : { label }) };
}
