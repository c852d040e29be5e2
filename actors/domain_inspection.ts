/**
 * Reads of one domain that never wait on its queue: what block info and statistics start from
 * (`inspectDomain`), `dominfo`'s figures (`domainInfoOf`) and the path of its pty console
 * (`consolePathOf`).
 *
 * @module
 */

import type { HeldFactsSummary } from "../src/model/domain_list.ts";
import type { DomainDefinition } from "../src/model/domain.ts";
import type { DomainInfo, DomainSummary } from "../src/model/domain_list.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import { handleOf } from "./domain_commands.ts";
import { currentDefinition, type DomainSnapshot, isActive } from "./domain_machine.ts";
import { summarize } from "./domain_registry.ts";
import type { DomainHandle, Driver } from "./driver_protocol.ts";

/** What reads of a domain's live figures (block info, statistics) start from. */
export interface DomainInspection {
  summary: DomainSummary;
  /** The definition in effect: the live one while active, else the persistent one. */
  definition: DomainDefinition;
  /** The persistent definition, or null for a transient domain. */
  persistentDefinition: DomainDefinition | null;
  /** The driver of the domain's type; undefined when this host runs none for it. */
  driver: Driver | undefined;
  /** The running instance, while the domain is active. */
  handle: DomainHandle | undefined;
}

/**
 * A domain's summary, definitions, driver and (while active) its instance's handle.
 *
 * @param snapshot The domain's snapshot (an existing domain).
 * @param driverOfType The host's driver of a domain type, if any.
 *
 * @example
 * ```ts ignore
 * const { definition, handle } = inspectDomain(actor.snapshot, (type) => drivers.get(type));
 * ```
 */
export function inspectDomain(
  snapshot: DomainSnapshot,
  driverOfType: (type: string) => Driver | undefined,
  pendingFacts: HeldFactsSummary | null = null,
): DomainInspection {
  const { context } = snapshot;
  const definition = currentDefinition(snapshot);
  const active = isActive(snapshot) && context.runtime !== null && context.id !== null;
  return {
    summary: summarize(snapshot, pendingFacts),
    definition,
    persistentDefinition: context.definition,
    driver: driverOfType(definition.type),
    handle: active ? handleOf(snapshot) : undefined,
  };
}

/**
 * `dominfo`'s figures: memory and CPU time from the running instance, else from the definition.
 *
 * @example
 * ```ts ignore
 * const info = domainInfoOf(inspectDomain(snapshot, driverOfType));
 * ```
 */
export function domainInfoOf(inspection: DomainInspection): DomainInfo {
  const { summary, definition, driver, handle } = inspection;
  const live = handle === undefined ? undefined : driver?.info(handle);
  // A driver may name its own figures (libvirt's test driver: OS type, clock CPU time, label).
  const description = driver?.describe?.(definition, handle !== undefined) ?? {};
  return {
    ...summary,
    type: definition.type,
    maxMemoryKiB: definition.memoryKiB,
    memoryKiB: live?.memoryKiB ?? definition.currentMemoryKiB ?? definition.memoryKiB,
    vcpus: definition.vcpu?.current ?? Math.max(1, definition.vcpus),
    cpuTimeNs: description.cpuTimeNs ?? live?.cpuTimeNs ?? 0,
    ...(description.osType === undefined ? {} : { osType: description.osType }),
    ...(description.security === undefined ? {} : { security: description.security }),
  };
}

/**
 * The host path of a running domain's text console (a pty).
 *
 * @param device A serial or console alias; the first console when undefined.
 * @throws {VirtError} Code 55 when the domain is not running, 9 when it has no pty console.
 *
 * @example
 * ```ts ignore
 * const path = consolePathOf(inspectDomain(snapshot, driverOfType), driver, "serial0");
 * ```
 */
export function consolePathOf(
  inspection: DomainInspection,
  driver: Driver,
  device?: string,
): string {
  const { summary, handle } = inspection;
  if (handle === undefined) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  }
  const path = driver.consolePath?.(handle, device);
  if (path === undefined) {
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      device === undefined
        ? `domain '${summary.name}' has no pty console`
        : `character device '${device}' of domain '${summary.name}' is not a pty`,
    );
  }
  return path;
}
