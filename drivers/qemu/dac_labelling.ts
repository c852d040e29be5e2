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
import type { RuntimeRecord } from "../../src/model/facts.ts";
import type { HostPathRequirement } from "./argument_collector.ts";
import { resolveOwner } from "./dac_identity.ts";
import { backingImagePaths } from "./dac_image_chain.ts";
import { formatOwner, labelPath, restorePath } from "./dac_ownership.ts";
import {
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
  /** The seclabel's type. */
  type: "seclabelType",
  /** Whether files are relabelled (`yes`/`no`). */
  relabel: "seclabelRelabel",
  /** The process label `+UID:+GID`, or null when QEMU runs as the service. */
  label: "seclabelLabel",
  /** The image label `+UID:+GID`, or null without relabelling. */
  imageLabel: "seclabelImageLabel",
} as const;

/** A domain's confinement plan. */
export interface DacPlan {
  policy: DacPolicy;
  /** The files given to QEMU (backing images included), in order. */
  targets: LabelTarget[];
}

/**
 * The plan of a domain's start: its policy and every file to give to QEMU, backing images
 * included. Reads the images' headers; changes nothing.
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
): DacPlan {
  const policy = dacPolicy(definition, settings, resolveOwner);
  refuseUnconfinable(definition, policy);
  const targets: LabelTarget[] = [];
  for (const target of labelTargets(definition, hostPaths, policy, resolveOwner)) {
    targets.push(target);
    const disk = /^\/domain\/devices\/disk\[(\d+)\]/.exec(target.where);
    if (disk === null) continue;
    const format = definition.devices.disks[Number(disk[1]) - 1]?.driver?.type ?? "raw";
    for (const path of backingImagePaths(target.path, format)) {
      targets.push({
        path,
        where: `${target.where} (backing)`,
        label: target.label,
        create: false,
      });
    }
  }
  return { policy, targets };
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
