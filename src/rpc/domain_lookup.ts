/**
 * Domains on the wire: `remote_nonnull_domain` from a host summary, a host reference from one,
 * flag checks in libvirt's wording, and domain XML read from a call.
 *
 * @module
 */

import type { DomainSummary, Host, ListFilter } from "../../actors/host.ts";
import { applyDomainDefaults } from "../model/domain_defaults.ts";
import type { DomainDefinition } from "../model/domain.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { parseDomainXml, validateDomain } from "../xml/mod.ts";
import type { Procedure } from "./procedure.ts";
import { domainType, uuidBytes, uuidText, type WireDomain } from "./protocol.ts";
import { x, type XdrType } from "./xdr.ts";

/** Arguments naming one domain. */
export const domainArgs: XdrType = x.struct(["dom", domainType]);
/** Arguments naming one domain, with flags. */
export const domainFlagsArgs: XdrType = x.struct(["dom", domainType], ["flags", x.uint]);
/** A result naming one domain. */
export const domainRet: XdrType = x.struct(["dom", domainType]);

/** Decoded arguments that name one domain (and maybe flags). */
export type DomainArgs = { dom: WireDomain; flags?: number };

/** The wire form of a domain: name, uuid bytes, id (-1 when inactive). */
export function wireDomain(summary: DomainSummary): WireDomain {
  return { name: summary.name, uuid: uuidBytes(summary.uuid), id: summary.id ?? -1 };
}

/**
 * The host's summary of the domain a call names (by uuid, as libvirt's server looks it up).
 *
 * @throws {VirtError} NO_DOMAIN (42) when it no longer exists.
 */
export function lookupWire(host: Host, domain: WireDomain): DomainSummary {
  const uuid = uuidText(domain.uuid);
  try {
    return host.lookup(uuid);
  } catch (error) {
    if (error instanceof VirtError && error.code === ErrorCode.NO_DOMAIN) {
      throw new VirtError(
        ErrorCode.NO_DOMAIN,
        `no domain with matching uuid '${uuid}' (${domain.name})`,
      );
    }
    throw error;
  }
}

/**
 * Refuses flags outside `allowed`, as libvirt's drivers do.
 *
 * @throws {VirtError} INVALID_ARG (8) "unsupported flags (0x…) in function …".
 */
export function checkFlags(flags: number, allowed: number, api: string): void {
  const unknown = (flags & ~allowed) >>> 0;
  if (unknown !== 0) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `unsupported flags (0x${unknown.toString(16)}) in function ${api}`,
      { where: "flags" },
    );
  }
}

/**
 * A domain definition from XML sent in a call: parsed, given libvirt's defaults and validated.
 *
 * @throws {VirtError} The XML and validation errors of `xml/`, with their location.
 */
export function definitionFromXml(xml: string, maxBytes: number, live: boolean): DomainDefinition {
  const definition = applyDomainDefaults(parseDomainXml(xml, { maxBytes }));
  validateDomain(definition, { live });
  return definition;
}

/** A read of one domain: `(summary-bearing args) → ret`. */
export function domainRead(
  proc: number,
  ret: XdrType,
  read: (host: Host, uuid: string, args: DomainArgs) => unknown,
  args: XdrType = domainArgs,
): Procedure {
  return {
    proc,
    readOnly: true,
    args,
    ret,
    handler: (call: DomainArgs, context) => {
      const { host } = context.target();
      return read(host, lookupWire(host, call.dom).uuid, call);
    },
  };
}

/** A lifecycle action on one domain, answered once its fact is durable. */

/** `virConnectListAllDomains` flags evirt knows, and the list filter each one is. */
export const LIST_FLAG_FILTERS: ReadonlyArray<[number, keyof ListFilter]> = [
  [1, "active"],
  [2, "inactive"],
  [4, "persistent"],
  [8, "transient"],
  [16, "running"],
  [32, "paused"],
  [64, "shutoff"],
  [128, "other"],
  [256, "managedSave"],
  [512, "noManagedSave"],
  [1024, "autostart"],
  [2048, "noAutostart"],
];
