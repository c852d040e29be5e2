/**
 * A domain's confinement as the QEMU driver carries it out: the plan recorded in the runtime
 * record before anything is chowned (the launch intent names every file that will be given to
 * QEMU and the seclabel), giving the files to QEMU at start, and giving them back at every end
 * (stop, destroy, crash, a failed start, recovery after a service crash). Giving back is
 * idempotent (`dac_ownership.ts`), so recovery gives back every file the intent names, however
 * far the launch came.
 *
 * @module
 */

import type { DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { RuntimeRecord } from "../../src/model/facts.ts";
import type { HostPathRequirement } from "./argument_collector.ts";
import { resolveOwner } from "./dac_identity.ts";
import { formatOwner, labelPath, type OwnerIds, restorePath } from "./dac_ownership.ts";
import {
  chardevTypeAt,
  type DacPolicy,
  dacPolicy,
  type DacSettings,
  type LabelTarget,
  labelTargets,
  refuseUnconfinable,
} from "./dac_policy.ts";

/** Runtime record keys of the confinement. */
export const DAC_RECORD_KEYS = {
  /** JSON array of the files given to QEMU. */
  paths: "dacPaths",
  /** JSON array of `[requested, actual]` listening sockets QEMU makes in its own folder. */
  socketLinks: "dacSocketLinks",
  /** The seclabel's type. */
  type: "seclabelType",
  /** Whether files are relabelled (`yes`/`no`). */
  relabel: "seclabelRelabel",
  /** The process label `+UID:+GID`, or null when QEMU runs as the service. */
  label: "seclabelLabel",
  /** The image label `+UID:+GID`, or null without relabelling. */
  imageLabel: "seclabelImageLabel",
} as const;

/** A listening socket QEMU makes in its own folder, reached through a link where it was asked. */
export interface SocketLink {
  /** Where the definition puts the socket (a folder the QEMU user cannot write). */
  requested: string;
  /** Where QEMU makes it: the domain's runtime folder. */
  actual: string;
  /**
   * Linked before QEMU runs: QEMU waits at start for a peer on it (a vhost-user interface in
   * server mode), so the link must be there first (it leads nowhere until QEMU listens).
   */
  beforeStart?: boolean;
}

/** A domain's confinement plan. */
export interface DacPlan {
  policy: DacPolicy;
  /** The files given to QEMU (backing images included), in order. */
  targets: LabelTarget[];
  /** Listening sockets moved into the domain's folder. */
  socketLinks: SocketLink[];
}

/**
 * The plan of a domain's start: its policy and every file to give to QEMU, backing images
 * included (the definition's chain: give it the one read from the images). Changes nothing.
 *
 * @throws {VirtError} What the seclabel rules throw (`dac_policy.ts`); 67 for a tap interface
 *   of a confined QEMU.
 *
 * @example
 * ```ts ignore
 * const plan = dacPlanFor(definition, commandLine.hostPaths, settings);
 * ```
 */
export function dacPlanFor(
  definition: DomainDefinition,
  hostPaths: readonly HostPathRequirement[],
  settings: DacSettings,
  domainDir?: string,
): DacPlan {
  const policy = dacPolicy(definition, settings, resolveOwner);
  refuseUnconfinable(definition, policy);
  // The disks' backing images are in hostPaths: the definition's chain, as read from the
  // images before the start (src/storage/backing_chain.ts), is QEMU's node per image.
  const targets = labelTargets(definition, hostPaths, policy, resolveOwner);
  const socketLinks = domainDir === undefined || policy.runAs === undefined
    ? []
    : listeningSocketLinks(definition, hostPaths, policy.runAs, domainDir);
  return { policy, targets, socketLinks };
}

/**
 * The listening sockets (chardevs, VNC) a confined QEMU cannot make where the definition puts
 * them, because it may not write that folder. libvirt makes such sockets itself and passes QEMU
 * their descriptors; evirt has QEMU make them in the domain's runtime folder and links the
 * requested path to them once QEMU runs.
 */
function listeningSocketLinks(
  definition: DomainDefinition,
  hostPaths: readonly HostPathRequirement[],
  runAs: OwnerIds,
  domainDir: string,
): SocketLink[] {
  const links: SocketLink[] = [];
  for (const { path, kind, where } of hostPaths) {
    if (kind !== "creatable") continue;
    const vhostUser = isVhostUserSocket(definition, where);
    const listening = vhostUser ||
      (/\/source\/@path$/.test(where) && chardevTypeAt(definition, where) === "unix") ||
      /^\/domain\/devices\/graphics\[\d+\]\/@socket$/.test(where);
    if (!listening || path.startsWith(`${domainDir}/`)) continue;
    if (canWriteFolder(path.slice(0, path.lastIndexOf("/")) || "/", runAs)) continue;
    links.push({
      requested: path,
      actual: `${domainDir}/socket-${links.length}.sock`,
      ...(vhostUser ? { beforeStart: true } : {}),
    });
  }
  return links;
}

/** Whether `where` is the socket path of a vhost-user interface. */
function isVhostUserSocket(definition: DomainDefinition, where: string): boolean {
  const match = /^\/domain\/devices\/interface\[(\d+)\]\/source\/@path$/.exec(where);
  return match !== null &&
    definition.devices.interfaces[Number(match[1]) - 1]?.type === "vhostuser";
}

function canWriteFolder(folder: string, user: OwnerIds): boolean {
  try {
    const info = Deno.statSync(folder);
    const mode = info.mode ?? 0;
    if (info.uid === user.uid) return (mode & 0o300) === 0o300;
    if (info.gid === user.gid) return (mode & 0o030) === 0o030;
    return (mode & 0o003) === 0o003;
  } catch {
    return false;
  }
}

/**
 * Points the command line's listening sockets at where QEMU makes them (`plan.socketLinks`).
 *
 * @example
 * ```ts ignore
 * const args = redirectSockets(commandLine.args, plan.socketLinks);
 * ```
 */
export function redirectSockets(args: readonly string[], links: readonly SocketLink[]): string[] {
  if (links.length === 0) return [...args];
  return args.map((arg) => {
    let result = arg;
    for (const { requested, actual } of links) {
      const from = requested.replaceAll(",", ",,");
      const to = actual.replaceAll(",", ",,");
      for (const prefix of ["path=", "unix:"]) {
        result = replaceOption(result, `${prefix}${from}`, `${prefix}${to}`);
      }
    }
    return result;
  });
}

/** Replaces `from` where it is a whole option of `arg` (at its start or after a comma, up to a comma or the end). */
function replaceOption(arg: string, from: string, to: string): string {
  const options = arg.split(/(?<!,),(?!,)/);
  return options.map((option) => option === from ? to : option).join(",");
}

/**
 * Links each requested socket path to the socket QEMU made (a stale socket or link there is
 * replaced; anything else is left and reported).
 *
 * @throws {VirtError} SYSTEM_ERROR (38) when a link cannot be made.
 */
export function linkSockets(links: readonly SocketLink[]): void {
  for (const { requested, actual } of links) {
    try {
      const existing = Deno.lstatSync(requested);
      if (!existing.isSymlink && existing.isSocket !== true) {
        throw new VirtError(
          ErrorCode.SYSTEM_ERROR,
          `cannot link socket '${requested}': the path exists and is not a socket`,
          { where: requested },
        );
      }
      Deno.removeSync(requested);
    } catch (error) {
      if (error instanceof VirtError) throw error;
    }
    try {
      Deno.symlinkSync(actual, requested);
    } catch (error) {
      throw new VirtError(
        ErrorCode.SYSTEM_ERROR,
        `cannot link socket '${requested}' to '${actual}': ${(error as Error).message}`,
        { where: requested, cause: error },
      );
    }
  }
}

/** Removes the links {@linkcode linkSockets} made (only links that still point where it did). */
export function unlinkSockets(links: readonly SocketLink[]): void {
  for (const { requested, actual } of links) {
    try {
      if (Deno.readLinkSync(requested) === actual) Deno.removeSync(requested);
    } catch {
      // Gone already, or replaced by someone else: not ours to remove.
    }
  }
}

/** The socket links a runtime record names. */
export function recordedSocketLinks(runtime: RuntimeRecord): SocketLink[] {
  const text = runtime[DAC_RECORD_KEYS.socketLinks];
  if (typeof text !== "string") return [];
  try {
    const pairs = JSON.parse(text);
    return Array.isArray(pairs)
      ? pairs.filter((pair) => Array.isArray(pair) && pair.length === 2)
        .map(([requested, actual]) => ({ requested: String(requested), actual: String(actual) }))
      : [];
  } catch {
    return [];
  }
}

/**
 * The runtime record fields of a plan (the intent names them before any chown).
 *
 * @example
 * ```ts ignore
 * return { driver: "qemu", ...recordedPaths(paths), ...dacRecord(plan) };
 * ```
 */
export function dacRecord(plan: DacPlan): RuntimeRecord {
  const { policy, targets } = plan;
  return {
    [DAC_RECORD_KEYS.paths]: JSON.stringify([...new Set(targets.map((target) => target.path))]),
    [DAC_RECORD_KEYS.socketLinks]: JSON.stringify(
      plan.socketLinks.map((link) => [link.requested, link.actual]),
    ),
    [DAC_RECORD_KEYS.type]: policy.seclabel.type,
    [DAC_RECORD_KEYS.relabel]: policy.seclabel.relabel ? "yes" : "no",
    [DAC_RECORD_KEYS.label]: policy.runAs === undefined ? null : formatOwner(policy.runAs),
    [DAC_RECORD_KEYS.imageLabel]: policy.imageLabel === undefined
      ? null
      : formatOwner(policy.imageLabel),
  };
}

/**
 * The seclabel a running domain shows in its live XML, as libvirt's
 * (`<seclabel type='dynamic' model='dac' relabel='yes'><label>+64055:+64055</label><imagelabel>…`),
 * or undefined for a record without one.
 *
 * @example
 * ```ts
 * import { liveSeclabelOf } from "./dac_labelling.ts";
 * console.log(liveSeclabelOf({ seclabelType: "dynamic", seclabelRelabel: "yes", seclabelLabel: "+1:+1", seclabelImageLabel: "+1:+1" }));
 * // { type: "dynamic", model: "dac", relabel: "yes", label: "+1:+1", imagelabel: "+1:+1" }
 * ```
 */
export function liveSeclabelOf(runtime: RuntimeRecord): {
  type: string;
  model: string;
  relabel: string;
  label?: string;
  imagelabel?: string;
} | undefined {
  const type = runtime[DAC_RECORD_KEYS.type];
  if (typeof type !== "string") return undefined;
  const relabel = runtime[DAC_RECORD_KEYS.relabel] === "yes" ? "yes" : "no";
  if (type === "none") return { type, model: "dac", relabel };
  const label = runtime[DAC_RECORD_KEYS.label];
  const imageLabel = runtime[DAC_RECORD_KEYS.imageLabel];
  return {
    type,
    model: "dac",
    relabel,
    ...(typeof label === "string" ? { label } : {}),
    ...(relabel === "yes" && typeof imageLabel === "string" ? { imagelabel: imageLabel } : {}),
  };
}

/** The files a runtime record says were (to be) given to QEMU. */
export function recordedDacPaths(runtime: RuntimeRecord): string[] {
  const text = runtime[DAC_RECORD_KEYS.paths];
  if (typeof text !== "string") return [];
  try {
    const paths = JSON.parse(text);
    return Array.isArray(paths) ? paths.filter((path) => typeof path === "string") : [];
  } catch {
    return [];
  }
}

/**
 * Gives the plan's files to QEMU on behalf of domain `holder`: chardev outputs are made first
 * (empty, mode 0600, as root), then each file is remembered and chowned. On a failure every
 * file is given back before the error is thrown.
 *
 * @throws {VirtError} What `labelPath` throws (the first failure).
 *
 * @example
 * ```ts ignore
 * labelFiles(plan, uuid, log);
 * ```
 */
export function labelFiles(plan: DacPlan, holder: string, log: (message: string) => void): void {
  try {
    for (const target of plan.targets) {
      if (target.create) {
        Deno.openSync(target.path, { write: true, create: true, mode: 0o600 }).close();
      }
      labelPath(target.path, target.label, holder);
    }
  } catch (error) {
    giveBackFiles(plan.targets.map((target) => target.path), holder, log);
    throw error;
  }
}

/**
 * Gives files back on behalf of domain `holder` (the last holder restores the original owner).
 * Never throws: a file that cannot be given back is logged, as libvirt warns.
 *
 * @example
 * ```ts ignore
 * giveBackFiles(recordedDacPaths(runtime), uuid, log);
 * ```
 */
export function giveBackFiles(
  paths: readonly string[],
  holder: string,
  log: (message: string) => void,
): void {
  for (const path of new Set(paths)) {
    try {
      restorePath(path, holder);
    } catch (error) {
      log(`Unable to restore security label on ${path}: ${(error as Error).message}`);
    }
  }
}

/** What a running domain was given: files, and socket links made for it. */
export interface GivenResources {
  /** Files given to QEMU. */
  paths: string[];
  /** Links to the listening sockets it made in its own folder. */
  socketLinks: SocketLink[];
}

/**
 * What a plan gives.
 *
 * @example
 * ```ts ignore
 * giveBack(givenByPlan(plan), uuid, log);
 * ```
 */
export function givenByPlan(plan: DacPlan): GivenResources {
  return { paths: plan.targets.map((target) => target.path), socketLinks: plan.socketLinks };
}

/**
 * What a runtime record (or a launch intent) says was given.
 *
 * @example
 * ```ts ignore
 * giveBack(givenByRecord(handle.runtime), uuid, log);
 * ```
 */
export function givenByRecord(runtime: RuntimeRecord): GivenResources {
  return { paths: recordedDacPaths(runtime), socketLinks: recordedSocketLinks(runtime) };
}

/**
 * Gives everything back once QEMU is gone: the socket links are removed and the files given
 * back. Never throws (see {@linkcode giveBackFiles}).
 *
 * @example
 * ```ts ignore
 * giveBack(givenByRecord(handle.runtime), handle.uuid, log);
 * ```
 */
export function giveBack(
  given: GivenResources,
  holder: string,
  log: (message: string) => void,
): void {
  unlinkSockets(given.socketLinks);
  giveBackFiles(given.paths, holder, log);
}
